//! Reads that bypass the search builder because they know their one index: the bodies of a
//! type in id order (a system-level export), and the resource types a patient's compartment
//! holds (so a compartment search compiles only the arms that can match).

use super::{SqliteTx, db};
use crate::{BodyScan, BodySink, StoreError};
use rusqlite::params;
use std::collections::BTreeSet;

impl SqliteTx<'_> {
    pub(super) fn run_scan_bodies(
        &self,
        scan: &BodyScan<'_>,
        each: &mut BodySink<'_>,
    ) -> Result<bool, StoreError> {
        // A range of `resources_current (type, id)`, resumed by id: each page is a seek, not a
        // walk from the type's first row. An id is never empty, so '' starts before them all.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, body FROM resources WHERE type = ?1 AND current = 1 AND id > ?2 \
                 AND deleted = 0 AND last_updated >= ?3 ORDER BY id LIMIT ?4",
            )
            .map_err(db)?;
        // One more than asked: it tells whether another page follows, and is not handed on.
        let limit = i64::try_from(scan.limit).unwrap_or(i64::MAX - 1).saturating_add(1);
        let since = scan.since_ms.unwrap_or(i64::MIN);
        let mut rows = stmt.query(params![scan.resource_type, scan.after_id.unwrap_or(""), since, limit]).map_err(db)?;
        let mut handed = 0usize;
        while let Some(row) = rows.next().map_err(db)? {
            if handed == scan.limit {
                return Ok(true);
            }
            let id = row.get_ref(0).map_err(db)?.as_str().map_err(|e| StoreError::Corrupt(format!("a resource id: {e}")))?;
            // The body is borrowed from SQLite's row buffer: no copy before it is written out.
            let body = row.get_ref(1).map_err(db)?.as_blob_or_null().map_err(|e| StoreError::Corrupt(format!("a resource body: {e}")))?;
            if let Some(body) = body {
                each(id, body)?;
            }
            handed += 1;
        }
        Ok(false)
    }

    pub(super) fn run_patient_compartment_types(
        &self,
        patient: &str,
        references: &[(String, String)],
    ) -> Result<Vec<String>, StoreError> {
        let mut found: BTreeSet<String> = BTreeSet::new();
        let mut keyed = self
            .conn
            .prepare_cached("SELECT DISTINCT type FROM resources WHERE patient_key = ?1 AND current = 1 AND patient_key IS NOT NULL")
            .map_err(db)?;
        for t in keyed.query_map(params![patient], |r| r.get::<_, String>(0)).map_err(db)? {
            found.insert(t.map_err(db)?);
        }
        // A resource keyed to another patient can still name this one (a second subject, a
        // performer, a Group member): for the types the key did not settle, one probe of
        // `idx_reference_target (pid, target_id, target_type)` per parameter.
        let mut probe = self
            .conn
            .prepare_cached("SELECT 1 FROM idx_reference WHERE pid = ?1 AND target_id = ?2 AND target_type = 'Patient' LIMIT 1")
            .map_err(db)?;
        for (t, param) in references {
            if found.contains(t) {
                continue;
            }
            // A parameter never indexed has no id and no rows.
            let Some(pid) = self.find_pid(t, param)? else { continue };
            if probe.exists(params![pid, patient]).map_err(db)? {
                found.insert(t.clone());
            }
        }
        Ok(found.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::sqlite::SqliteStore;
    use crate::{BodyScan, NewVersion, ReadTx, Store, StoreError};
    use salus_search::IndexTerms;
    use salus_search::terms::ReferenceTerm;

    fn version(t: &str, id: &str, key: Option<&str>, ms: i64, subjects: &[&str]) -> NewVersion {
        let mut terms = IndexTerms::default();
        for s in subjects {
            terms.references.push(ReferenceTerm {
                param: "subject".into(),
                target_type: Some("Patient".into()),
                target_id: Some((*s).into()),
                url: None,
                version: None,
            });
        }
        NewVersion {
            resource_type: t.into(),
            id: id.into(),
            version: 1,
            patient_key: key.map(str::to_string),
            last_updated_ms: ms,
            deleted: false,
            body: Some(format!("{{\"resourceType\":\"{t}\",\"id\":\"{id}\"}}").into_bytes()),
            sha256: None,
            terms,
        }
    }

    fn scan_all(tx: &mut dyn ReadTx, t: &str, since_ms: Option<i64>, limit: usize) -> Result<Vec<Vec<String>>, StoreError> {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut page = Vec::new();
            let scan = BodyScan { resource_type: t, after_id: after.as_deref(), since_ms, limit };
            let more = tx.scan_bodies(&scan, &mut |id, body| {
                assert!(body.starts_with(b"{\"resourceType\""));
                page.push(id.to_string());
                Ok(())
            })?;
            after = page.last().cloned();
            pages.push(page);
            if !more {
                return Ok(pages);
            }
        }
    }

    #[tokio::test]
    async fn scans_page_through_current_live_bodies_in_id_order() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::new(SqliteStore::open(dir.path()).expect("open"));
        store
            .write(|tx| {
                for (id, ms) in [("c", 30), ("a", 10), ("e", 50), ("b", 20), ("d", 40)] {
                    tx.put(&version("Observation", id, None, ms, &[]))?;
                }
                tx.put(&version("Condition", "x", None, 1, &[]))?;
                let mut gone = version("Observation", "d", None, 60, &[]);
                (gone.version, gone.deleted, gone.body) = (2, true, None);
                tx.put(&gone)
            })
            .await
            .expect("write");
        let (paged, since, exact) = store
            .read(|tx| Ok::<_, StoreError>((scan_all(tx, "Observation", None, 2)?, scan_all(tx, "Observation", Some(20), 10)?, scan_all(tx, "Observation", None, 4)?)))
            .await
            .expect("scan");
        assert_eq!(paged, [vec!["a", "b"], vec!["c", "e"]], "the deleted one is left out; a full page that ends the type says so");
        assert_eq!(since, [vec!["b", "c", "e"]]);
        assert_eq!(exact, [vec!["a", "b", "c", "e"]]);
    }

    #[tokio::test]
    async fn a_compartment_lists_keyed_types_and_types_that_name_the_patient_under_another_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::new(SqliteStore::open(dir.path()).expect("open"));
        store
            .write(|tx| {
                tx.put(&version("Patient", "p1", Some("p1"), 1, &[]))?;
                tx.put(&version("Patient", "p2", Some("p2"), 1, &[]))?;
                tx.put(&version("Observation", "o1", Some("p1"), 1, &["p1"]))?;
                // Keyed to p1 (its first subject) and in p2's compartment too.
                tx.put(&version("Encounter", "e1", Some("p1"), 1, &["p1", "p2"]))
            })
            .await
            .expect("write");
        let refs: Vec<(String, String)> =
            ["Observation", "Encounter", "Condition"].iter().map(|t| (t.to_string(), "subject".to_string())).collect();
        let (p1, p2, nobody) = store
            .read(move |tx| {
                Ok::<_, StoreError>((
                    tx.patient_compartment_types("p1", &refs)?,
                    tx.patient_compartment_types("p2", &refs)?,
                    tx.patient_compartment_types("p3", &refs)?,
                ))
            })
            .await
            .expect("types");
        assert_eq!(p1, ["Encounter", "Observation", "Patient"]);
        assert_eq!(p2, ["Encounter", "Patient"]);
        assert!(nobody.is_empty());
    }

    #[test]
    fn both_reads_seek_their_index() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path()).expect("open");
        let conn = store.writer.lock().expect("writer");
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("prepare");
            let rows = stmt.query_map([], |r| r.get::<_, String>(3)).expect("plan");
            rows.collect::<Result<Vec<_>, _>>().expect("rows").join("; ")
        };
        let scan = plan(
            "SELECT id, body FROM resources WHERE type = 'A' AND current = 1 AND id > 'x' \
             AND deleted = 0 AND last_updated >= 0 ORDER BY id LIMIT 5",
        );
        assert!(scan.contains("resources_current (type=? AND id>?)") && !scan.contains("TEMP B-TREE"), "{scan}");
        let keyed = plan("SELECT DISTINCT type FROM resources WHERE patient_key = 'p' AND current = 1 AND patient_key IS NOT NULL");
        assert!(keyed.contains("COVERING INDEX resources_patient (patient_key=?)"), "{keyed}");
        let probe = plan("SELECT 1 FROM idx_reference WHERE pid = 1 AND target_id = 'p' AND target_type = 'Patient' LIMIT 1");
        assert!(probe.contains("idx_reference_target (pid=? AND target_id=? AND target_type=?)"), "{probe}");
    }
}

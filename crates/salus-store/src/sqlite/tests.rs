use super::*;
use crate::Store;

fn new_version(id: &str, version: u64, ms: i64, body: &str) -> NewVersion {
    NewVersion {
        resource_type: "Patient".into(),
        id: id.into(),
        version,
        patient_key: Some(id.into()),
        last_updated_ms: ms,
        deleted: false,
        body: Some(body.as_bytes().to_vec()),
        sha256: None,
        terms: Default::default(),
    }
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::new(SqliteStore::open(dir.path()).expect("open"));
    (dir, store)
}

#[tokio::test]
async fn a_put_version_becomes_current_and_older_versions_stay_readable() {
    let (_dir, store) = temp_store();
    store
        .write(|tx| {
            tx.put(&new_version("a", 1, 1000, "{\"v\":1}"))?;
            tx.put(&new_version("a", 2, 2000, "{\"v\":2}"))
        })
        .await
        .expect("write");
    let (current, first) = store
        .read(|tx| Ok::<_, StoreError>((tx.current("Patient", "a")?, tx.version("Patient", "a", 1)?)))
        .await
        .expect("read");
    assert_eq!(current.expect("current").version, 2);
    assert_eq!(first.expect("v1").body.as_deref(), Some(b"{\"v\":1}".as_slice()));
}

#[tokio::test]
async fn an_aborted_transaction_leaves_nothing_behind() {
    let (_dir, store) = temp_store();
    let result: Result<(), StoreError> = store
        .write(|tx| {
            tx.put(&new_version("a", 1, 1000, "{}"))?;
            Err(StoreError::Corrupt("caller refused".into()))
        })
        .await;
    assert!(result.is_err());
    let current = store.read(|tx| tx.current("Patient", "a")).await.expect("read");
    assert!(current.is_none());
}

#[tokio::test]
async fn history_lists_newest_first_and_pages_with_a_cursor() {
    let (_dir, store) = temp_store();
    store
        .write(|tx| {
            for v in 1..=5 {
                tx.put(&new_version("a", v, 1000 * v as i64, "{}"))?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .expect("write");
    let query = |before_seq| HistoryQuery {
        scope: HistoryScope::Instance { resource_type: "Patient".into(), id: "a".into() },
        since_ms: None,
        at_ms: None,
        count: 2,
        before_seq,
    };
    let first = store.read(move |tx| tx.history(&query(None))).await.expect("page 1");
    assert_eq!(first.iter().map(|v| v.version).collect::<Vec<_>>(), vec![5, 4]);
    let cursor = first.last().map(|v| v.seq);
    let second = store.read(move |tx| tx.history(&query(cursor))).await.expect("page 2");
    assert_eq!(second.iter().map(|v| v.version).collect::<Vec<_>>(), vec![3, 2]);
}

#[tokio::test]
async fn history_at_returns_the_version_current_at_that_instant() {
    let (_dir, store) = temp_store();
    store
        .write(|tx| {
            tx.put(&new_version("a", 1, 1000, "{}"))?;
            tx.put(&new_version("a", 2, 3000, "{}"))
        })
        .await
        .expect("write");
    let query = HistoryQuery {
        scope: HistoryScope::System,
        since_ms: None,
        at_ms: Some(2000),
        count: 10,
        before_seq: None,
    };
    let found = store.read(move |tx| tx.history(&query)).await.expect("history");
    assert_eq!(found.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1]);
}

#[test]
fn reopening_keeps_data_and_does_not_rerun_migrations() {
    let dir = tempfile::tempdir().expect("temp dir");
    drop(SqliteStore::open(dir.path()).expect("first open"));
    let again = SqliteStore::open(dir.path()).expect("second open");
    let version: i64 = again
        .writer
        .lock()
        .expect("lock")
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version");
    assert_eq!(usize::try_from(version).ok(), Some(migrations::count()));
}

#[test]
fn an_upgrade_from_text_keyed_index_rows_asks_for_a_reindex_when_resources_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut conn = Connection::open(dir.path().join("salus.db")).expect("open");
        migrations::apply_to(&mut conn, 4).expect("schema of 0004");
        conn.execute(
            "INSERT INTO resources (type, id, version, last_updated, body) VALUES ('Patient', 'a', 1, 0, '{}')",
            [],
        )
        .expect("a resource");
    }
    let store = Store::new(SqliteStore::open(dir.path()).expect("upgrade"));
    let flagged = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(store.read(|tx| tx.flag(crate::REINDEX_FLAG)))
        .expect("flag");
    assert!(flagged, "the stored resource has no index rows until reindexed");

    let empty = tempfile::tempdir().expect("temp dir");
    let fresh = Store::new(SqliteStore::open(empty.path()).expect("fresh"));
    let flagged = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(fresh.read(|tx| tx.flag(crate::REINDEX_FLAG)))
        .expect("flag");
    assert!(!flagged, "a new database has nothing to reindex");
}

/// Whether a database at schema `from` holding one resource of `ty` asks for a reindex once
/// the next migration has run.
fn flagged_after_upgrade(from: usize, ty: &str) -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut conn = Connection::open(dir.path().join("salus.db")).expect("open");
    migrations::apply_to(&mut conn, from).expect("the older schema");
    conn.execute("INSERT INTO resources (type, id, version, last_updated, body) VALUES (?1, 'a', 1, 0, '{}')", [ty])
        .expect("a resource");
    migrations::apply_to(&mut conn, from + 1).expect("the upgrade");
    conn.query_row("SELECT count(*) FROM store_flags WHERE name = ?1", [crate::REINDEX_FLAG], |r| r.get::<_, i64>(0))
        .expect("flag")
        > 0
}

#[test]
fn the_composite_third_component_upgrade_reindexes_only_when_molecular_sequences_exist() {
    assert!(flagged_after_upgrade(5, "MolecularSequence"), "stored sequences have no coordinate rows until reindexed");
    assert!(!flagged_after_upgrade(5, "Patient"), "no other resource's index rows changed");
}

#[test]
fn the_code_value_date_upgrade_reindexes_only_when_observations_exist() {
    assert!(flagged_after_upgrade(6, "Observation"), "stored Observations lack their code-value-date rows");
    assert!(!flagged_after_upgrade(6, "Patient"));
}

#[test]
fn the_union_parameter_upgrade_reindexes_only_when_observations_exist() {
    assert!(flagged_after_upgrade(7, "Observation"), "stored Observations carry combo rows");
    assert!(!flagged_after_upgrade(7, "Patient"));
}

#[test]
fn the_content_without_dates_upgrade_reindexes_any_database_with_resources() {
    assert!(flagged_after_upgrade(8, "Patient"), "stored full-text rows hold dates");
}

#[test]
fn concurrent_writers_share_commits_and_a_failing_one_loses_only_its_own_work() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = std::sync::Arc::new(SqliteStore::open(dir.path()).expect("open"));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                crate::Backend::write(&*store, &mut |tx| {
                    tx.put(&new_version(&format!("p{i}"), 1, 1000, "{}"))?;
                    if i % 4 == 0 { Err(StoreError::Corrupt("refused".into())) } else { Ok(()) }
                })
            })
        })
        .collect();
    let results: Vec<bool> = threads.into_iter().map(|t| t.join().expect("thread").is_ok()).collect();
    for (i, ok) in results.iter().enumerate() {
        assert_eq!(*ok, i % 4 != 0, "writer {i}");
    }
    let mut found = Vec::new();
    crate::Backend::read(&*store, &mut |tx| {
        for i in 0..16 {
            found.push(tx.current("Patient", &format!("p{i}"))?.is_some());
        }
        Ok(())
    })
    .expect("read");
    for (i, present) in found.iter().enumerate() {
        assert_eq!(*present, i % 4 != 0, "p{i} is stored exactly when its writer succeeded");
    }
}

fn with_token(id: &str, param: &str) -> NewVersion {
    let mut v = new_version(id, 1, 1000, "{}");
    v.terms.tokens.push(salus_search::terms::TokenTerm { param: param.into(), system: None, code: Some("x".into()), text: None });
    v
}

#[test]
fn a_savepoint_undone_inside_a_transaction_keeps_the_work_around_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store
        .write(&mut |tx| {
            tx.put(&with_token("before", "kept-before"))?;
            tx.savepoint()?;
            // A parameter first seen in the undone part: its id is undone too.
            tx.put(&with_token("undone", "undone-param"))?;
            tx.end_savepoint(false)?;
            tx.savepoint()?;
            tx.put(&with_token("after", "kept-after"))?;
            tx.end_savepoint(true)
        })
        .expect("write");
    assert_eq!(store.params.get("Patient", "undone-param"), None, "an undone id is never published");
    let conn = Connection::open(dir.path().join("salus.db")).expect("open");
    for (code, id) in [("kept-before", "before"), ("kept-after", "after")] {
        let stored: i64 = conn
            .query_row("SELECT pid FROM search_params WHERE type = 'Patient' AND code = ?1", [code], |r| r.get(0))
            .expect("a kept parameter has its row");
        assert_eq!(store.params.get("Patient", code), Some(stored), "the published id is the stored one");
        let rows: i64 = conn
            .query_row(
                "SELECT count(*) FROM idx_token t JOIN resources r ON r.seq = t.seq WHERE r.id = ?1 AND t.pid = ?2",
                params![id, stored],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(rows, 1, "{id}'s index row names its parameter's id");
    }
    let undone: i64 =
        conn.query_row("SELECT count(*) FROM resources WHERE id = 'undone'", [], |r| r.get(0)).expect("count");
    assert_eq!(undone, 0);
}

#[test]
fn a_parameter_whose_id_was_undone_gets_a_stored_id_when_used_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store
        .write(&mut |tx| {
            tx.savepoint()?;
            tx.put(&with_token("undone", "late-param"))?;
            tx.end_savepoint(false)?;
            tx.put(&with_token("kept", "late-param"))
        })
        .expect("write");
    let conn = Connection::open(dir.path().join("salus.db")).expect("open");
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM idx_token t JOIN search_params p ON p.pid = t.pid \
             WHERE p.type = 'Patient' AND p.code = 'late-param'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(rows, 1, "the kept row names an id that search_params holds");
}

fn token_codes(dir: &std::path::Path) -> Vec<(String, String)> {
    let conn = Connection::open(dir.join("salus.db")).expect("open");
    let mut stmt = conn
        .prepare("SELECT r.id, t.code FROM idx_token t JOIN resources r ON r.seq = t.seq ORDER BY r.id, t.code")
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").collect::<Result<_, _>>().expect("rows")
}

fn with_code(id: &str, version: u64, code: &str) -> NewVersion {
    let mut v = new_version(id, version, 1000 * version as i64, "{}");
    v.terms.tokens.push(salus_search::terms::TokenTerm { param: "p".into(), system: None, code: Some(code.into()), text: None });
    v
}

#[test]
fn a_version_replaced_in_the_same_transaction_leaves_no_index_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store.write(&mut |tx| {
        tx.put(&with_code("a", 1, "first"))?;
        tx.put(&with_code("a", 2, "second"))
    })
    .expect("write");
    assert_eq!(token_codes(dir.path()), [("a".to_string(), "second".to_string())]);
}

#[test]
fn rows_of_a_part_undone_by_its_savepoint_are_never_inserted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store
        .write(&mut |tx| {
            tx.put(&with_code("kept", 1, "kept"))?;
            tx.savepoint()?;
            tx.put(&with_code("undone", 1, "undone"))?;
            tx.end_savepoint(false)?;
            tx.put(&with_code("later", 1, "later"))
        })
        .expect("write");
    let codes: Vec<String> = token_codes(dir.path()).into_iter().map(|(_, c)| c).collect();
    assert_eq!(codes, ["kept", "later"]);
    let conn = Connection::open(dir.path().join("salus.db")).expect("open");
    let orphans: i64 = conn
        .query_row("SELECT count(*) FROM idx_token WHERE seq NOT IN (SELECT seq FROM resources)", [], |r| r.get(0))
        .expect("count");
    assert_eq!(orphans, 0);
}

#[test]
fn a_search_inside_the_write_sees_the_rows_written_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let mut found = 0;
    store
        .write(&mut |tx| {
            let mut patient = with_code("a", 1, "x");
            patient.terms.tokens[0].param = "gender".into();
            tx.put(&patient)?;
            let registry = salus_search::Registry::r4();
            let ctx = salus_search::SearchContext {
                registry: &registry,
                resource_type: Some("Patient"),
                compartment: None,
                lenient: false,
                now_ms: 0,
                code_systems: None,
            };
            let query = salus_search::query::parse(&ctx, &[("gender".into(), "x".into())]).expect("query");
            found = tx.search(&crate::SearchRequest { query, after: None, limit: 10 })?.len();
            Ok(())
        })
        .expect("write");
    assert_eq!(found, 1);
}

fn with_narrative(version: u64, word: &str) -> NewVersion {
    let mut v = new_version("a", version, 1000 * version as i64, "{}");
    v.terms.narrative = word.to_string();
    v
}

fn text_rows(dir: &std::path::Path, word: &str) -> i64 {
    let conn = Connection::open(dir.join("salus.db")).expect("open");
    conn.query_row("SELECT count(*) FROM idx_text WHERE idx_text MATCH ?1", [word], |r| r.get(0)).expect("count")
}

#[test]
fn a_replaced_versions_full_text_row_is_gone_when_the_transaction_ends() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store.write(&mut |tx| tx.put(&with_narrative(1, "alpha"))).expect("write v1");
    store
        .write(&mut |tx| {
            tx.put(&with_narrative(2, "beta"))?;
            tx.put(&with_narrative(3, "gamma"))
        })
        .expect("write v2 and v3");
    assert_eq!((text_rows(dir.path(), "alpha"), text_rows(dir.path(), "beta")), (0, 0), "replaced versions");
    assert_eq!(text_rows(dir.path(), "gamma"), 1, "the current version");
}

#[test]
fn an_update_undone_by_its_savepoint_keeps_the_full_text_row_it_replaced() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    store.write(&mut |tx| tx.put(&with_narrative(1, "alpha"))).expect("write v1");
    store
        .write(&mut |tx| {
            tx.savepoint()?;
            tx.put(&with_narrative(2, "beta"))?;
            tx.end_savepoint(false)
        })
        .expect("write");
    assert_eq!((text_rows(dir.path(), "alpha"), text_rows(dir.path(), "beta")), (1, 0));
}

#[test]
fn a_union_parameters_rows_are_not_stored_and_its_parts_answer_for_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open");
    let mut obs = with_token("o", "code");
    obs.resource_type = "Observation".into();
    let token = |param: &str| salus_search::terms::TokenTerm { param: param.into(), system: None, code: Some("x".into()), text: None };
    obs.terms.tokens = vec![token("code"), token("combo-code")];
    store.write(&mut |tx| tx.put(&obs)).expect("write");
    let conn = Connection::open(dir.path().join("salus.db")).expect("open");
    let rows = |code: &str| -> i64 {
        conn.query_row(
            "SELECT count(*) FROM idx_token t JOIN search_params p ON p.pid = t.pid WHERE p.code = ?1",
            [code],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!((rows("code"), rows("combo-code")), (1, 0), "combo-code is code and component-code together");
    // A search resolves it to its parts' ids: `code` (stored) and `component-code` (never
    // indexed here, so an id no row carries).
    let tx = SqliteTx::new(&conn, &store.params);
    let pids = tx.search_pids("Observation", "combo-code").expect("pids");
    let code = tx.search_pids("Observation", "code").expect("pid");
    assert_eq!(pids, vec![code[0], -1]);
}

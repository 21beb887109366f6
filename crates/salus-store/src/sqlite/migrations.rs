//! Schema migrations, applied in order at open. SQLite's `user_version` records how many have
//! run; each runs in its own transaction, so a failed migration leaves the previous schema.

use rusqlite::Connection;

/// Append only: never edit a migration that has shipped.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_resources", include_str!("migrations/0001_resources.sql")),
    ("0002_search_index", include_str!("migrations/0002_search_index.sql")),
    ("0003_full_text", include_str!("migrations/0003_full_text.sql")),
    ("0004_jobs", include_str!("migrations/0004_jobs.sql")),
    ("0005_integer_index_keys", include_str!("migrations/0005_integer_index_keys.sql")),
    ("0006_composite_third_component", include_str!("migrations/0006_composite_third_component.sql")),
    ("0007_code_value_date", include_str!("migrations/0007_code_value_date.sql")),
    ("0008_union_parameters", include_str!("migrations/0008_union_parameters.sql")),
    ("0009_content_without_dates", include_str!("migrations/0009_content_without_dates.sql")),
];

/// How many migrations this build knows: the schema version of an up-to-date database.
pub(super) fn count() -> usize {
    MIGRATIONS.len()
}

pub(super) fn apply(conn: &mut Connection) -> Result<(), String> {
    apply_to(conn, count())
}

/// Applies the migrations up to the `last`-th (tests build older schemas with it).
pub(super) fn apply_to(conn: &mut Connection, last: usize) -> Result<(), String> {
    let applied: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| e.to_string())?;
    let applied = usize::try_from(applied).map_err(|_| "negative schema version".to_string())?;
    if applied > count() {
        return Err(format!(
            "the database has schema version {applied}, newer than this Salus knows ({}); \
             upgrade Salus or restore a backup",
            count()
        ));
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().take(last).skip(applied) {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        tx.execute_batch(sql).map_err(|e| format!("migration {name}: {e}"))?;
        tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(i64::MAX))
            .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
    }
    Ok(())
}

//! Schema migrations, tracked by SQLite's `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

/// Migration scripts in order. After script `n` (counting from 1) has run, the database's
/// `user_version` is `n`. Append new scripts, and never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: configurations and the event types each one subscribes to.
    "CREATE TABLE configurations (
       id TEXT PRIMARY KEY,
       webhook_url TEXT NOT NULL,
       config_name TEXT NOT NULL,
       tenant_id TEXT, group_id TEXT, team_id TEXT, channel_id TEXT,
       user_object_id TEXT, app_type TEXT,
       active INTEGER NOT NULL DEFAULT 1,
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL
     ) STRICT;
     CREATE TABLE configuration_event_types (
       configuration_id TEXT NOT NULL REFERENCES configurations(id) ON DELETE CASCADE,
       event_type TEXT NOT NULL CHECK (event_type IN ('created', 'updated')),
       PRIMARY KEY (configuration_id, event_type)
     ) STRICT;",
    // 2: task events and the outbox of card deliveries. `next_attempt_at` is in Unix
    // milliseconds, so that the worker can compare and order it as a number.
    "CREATE TABLE events (
       id TEXT PRIMARY KEY,
       kind TEXT NOT NULL CHECK (kind IN ('created', 'updated')),
       task_id TEXT NOT NULL,
       title TEXT NOT NULL,
       description TEXT,
       assignee TEXT,
       due_date TEXT,
       link TEXT,
       created_at TEXT NOT NULL
     ) STRICT;
     CREATE TABLE deliveries (
       id INTEGER PRIMARY KEY,
       event_id TEXT REFERENCES events(id) ON DELETE CASCADE,
       configuration_id TEXT NOT NULL REFERENCES configurations(id) ON DELETE CASCADE,
       kind TEXT NOT NULL CHECK (kind IN ('created', 'updated', 'welcome')),
       state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'retrying', 'failed')),
       attempts INTEGER NOT NULL DEFAULT 0,
       transient_failures INTEGER NOT NULL DEFAULT 0,
       throttled_responses INTEGER NOT NULL DEFAULT 0,
       last_error TEXT,
       next_attempt_at INTEGER NOT NULL,
       created_at TEXT NOT NULL,
       updated_at TEXT NOT NULL,
       CHECK ((kind = 'welcome') = (event_id IS NULL))
     ) STRICT;
     CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
       WHERE state IN ('pending', 'retrying');
     CREATE INDEX deliveries_by_event ON deliveries (event_id);
     CREATE INDEX deliveries_by_configuration ON deliveries (configuration_id, id);",
    // 3: the rate limiter's send history of each configuration's webhook. `sent_at`
    // contains the admitted request times as little-endian 8-byte Unix milliseconds,
    // oldest first, and `paused_until` is the end of a pause after throttling.
    "CREATE TABLE webhook_send_history (
       configuration_id TEXT PRIMARY KEY
         REFERENCES configurations(id) ON DELETE CASCADE,
       sent_at BLOB NOT NULL,
       paused_until INTEGER
     ) STRICT, WITHOUT ROWID;",
];

/// Error raised when the schema cannot be brought to the current version.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(
        "the database schema has version {found}, but this build supports versions up to \
         {supported}. Run a newer connector-backend or use another database file"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("migration to schema version {version} failed")]
    Failed {
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("reading the schema version failed")]
    ReadVersion(#[source] rusqlite::Error),
}

/// Returns the schema version that this build creates.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Runs every migration newer than the database's `user_version`, each in its own
/// transaction together with the version update. Returns the version found before.
pub fn migrate(connection: &mut Connection) -> Result<i64, MigrationError> {
    let found = read_user_version(connection).map_err(MigrationError::ReadVersion)?;
    let supported = latest_version();
    if found > supported {
        return Err(MigrationError::TooNew { found, supported });
    }

    for (index, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as i64 + 1;
        apply(connection, script, version)
            .map_err(|source| MigrationError::Failed { version, source })?;
    }
    Ok(found)
}

/// Reads `PRAGMA user_version`, which is 0 for a new file.
pub fn read_user_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn apply(connection: &mut Connection, script: &str, version: i64) -> rusqlite::Result<()> {
    // `user_version` lives in the database header, which SQLite writes as part of the
    // transaction, so a crash leaves either the old schema and version or both new.
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(script)?;
    transaction.pragma_update(None, "user_version", version)?;
    transaction.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table_names(connection: &Connection) -> Vec<String> {
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn migrates_new_database_to_latest() {
        let mut connection = Connection::open_in_memory().unwrap();

        let found = migrate(&mut connection).unwrap();

        assert_eq!(found, 0);
        assert_eq!(read_user_version(&connection).unwrap(), latest_version());
        assert_eq!(
            table_names(&connection),
            vec![
                "configuration_event_types",
                "configurations",
                "deliveries",
                "events",
                "webhook_send_history"
            ]
        );
    }

    #[test]
    fn second_run_changes_nothing() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap();

        let found = migrate(&mut connection).unwrap();

        assert_eq!(found, latest_version());
        assert_eq!(read_user_version(&connection).unwrap(), latest_version());
    }

    #[test]
    fn rejects_newer_schema() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection
            .pragma_update(None, "user_version", latest_version() + 1)
            .unwrap();

        let error = migrate(&mut connection).unwrap_err();

        assert!(matches!(error, MigrationError::TooNew { .. }), "{error}");
    }

    #[test]
    fn event_type_check_rejects_unknown_value() {
        let mut connection = Connection::open_in_memory().unwrap();
        migrate(&mut connection).unwrap();
        connection
            .execute(
                "INSERT INTO configurations (id, webhook_url, config_name, created_at, updated_at)
                 VALUES ('a', 'u', 'n', 't', 't')",
                [],
            )
            .unwrap();

        let result = connection.execute(
            "INSERT INTO configuration_event_types VALUES ('a', 'deleted')",
            [],
        );

        assert!(result.is_err());
    }
}

//! The benchmark's database: a new SQLite file with the backend's schema and one
//! configuration per local webhook, written directly so that no welcome card is queued.

use std::path::Path;

use anyhow::{Context as _, bail};
use connector_backend::migrations::migrate;
use rusqlite::{Connection, OpenFlags, params};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

/// Creates the database at `path` with `count` active configurations subscribed to
/// `created` and `updated`, the n-th posting to `{sink_origin}/webhooks/{n}`.
pub fn create(path: &Path, count: usize, sink_origin: &str) -> anyhow::Result<()> {
    let mut connection = Connection::open(path)
        .with_context(|| format!("creating the database {} failed", path.display()))?;
    let journal_mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        bail!("SQLite kept journal mode {journal_mode:?} instead of WAL");
    }
    migrate(&mut connection).context("creating the backend's schema failed")?;

    let now = timestamp()?;
    let transaction = connection.transaction()?;
    {
        let mut insert_configuration = transaction.prepare(
            "INSERT INTO configurations (id, webhook_url, config_name, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        let mut insert_event_type = transaction.prepare(
            "INSERT INTO configuration_event_types (configuration_id, event_type)
             VALUES (?1, ?2)",
        )?;
        for n in 0..count {
            let id = Uuid::new_v4().hyphenated().to_string();
            let webhook_url = format!("{sink_origin}/webhooks/{n}");
            let name = format!("Benchmark channel {n}");
            insert_configuration.execute(params![id, webhook_url, name, now])?;
            insert_event_type.execute(params![id, "created"])?;
            insert_event_type.execute(params![id, "updated"])?;
        }
    }
    transaction
        .commit()
        .context("storing the benchmark configurations failed")
}

/// Opens the database read-only, for polling while the backend writes it.
pub fn open_read_only(path: &Path) -> anyhow::Result<Connection> {
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {} read-only failed", path.display()))
}

/// Returns the number of deliveries still to send.
pub fn unsent_count(connection: &Connection) -> anyhow::Result<u64> {
    // The condition matches the partial index on due deliveries, so the count reads only
    // the unsent ones.
    let count: i64 = connection.query_row(
        "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'retrying')",
        [],
        |row| row.get(0),
    )?;
    Ok(count.unsigned_abs())
}

/// Final states of one event's deliveries.
#[derive(Debug, Default)]
pub struct EventOutcome {
    pub delivered: u64,
    pub failed: u64,
    pub unsent: u64,
    /// `updated_at` of the delivery written last, as RFC 3339 with milliseconds.
    pub last_update: Option<String>,
}

/// Counts the deliveries of `event_id` by state and finds the last update.
pub fn event_outcome(connection: &Connection, event_id: &str) -> anyhow::Result<EventOutcome> {
    let mut outcome = EventOutcome::default();
    let mut statement = connection.prepare(
        "SELECT state, COUNT(*), MAX(updated_at) FROM deliveries WHERE event_id = ?1
         GROUP BY state",
    )?;
    let mut rows = statement.query([event_id])?;

    while let Some(row) = rows.next()? {
        let state: String = row.get(0)?;
        let count = row.get::<_, i64>(1)?.unsigned_abs();
        match state.as_str() {
            "delivered" => {
                outcome.delivered = count;
                outcome.last_update = row.get(2)?;
            }
            "failed" => outcome.failed = count,
            _ => outcome.unsent += count,
        }
    }
    Ok(outcome)
}

/// Returns the current UTC time in the form that the backend stores.
fn timestamp() -> anyhow::Result<String> {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    Ok(OffsetDateTime::now_utc().format(format)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_database_has_configurations_and_no_deliveries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bench.sqlite3");

        create(&path, 3, "http://127.0.0.1:9").unwrap();

        let connection = open_read_only(&path).unwrap();
        let configurations: i64 = connection
            .query_row("SELECT COUNT(*) FROM configurations", [], |row| row.get(0))
            .unwrap();
        let event_types: i64 = connection
            .query_row(
                "SELECT COUNT(*) FROM configuration_event_types",
                [],
                |row| row.get(0),
            )
            .unwrap();
        let url: String = connection
            .query_row(
                "SELECT webhook_url FROM configurations WHERE config_name = 'Benchmark channel 2'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(configurations, 3);
        assert_eq!(event_types, 6);
        assert_eq!(url, "http://127.0.0.1:9/webhooks/2");
        assert_eq!(unsent_count(&connection).unwrap(), 0);
    }
}

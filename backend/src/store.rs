//! SQLite storage of configurations. One connection behind a mutex serves every request,
//! and each operation runs on tokio's blocking thread pool.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use time::OffsetDateTime;
use time::macros::format_description;
use uuid::Uuid;

use crate::configuration::{Configuration, ConfigurationView, EventType};
use crate::delivery::outbox;
use crate::migrations::{MigrationError, migrate};

/// How long a statement waits for a lock held by another connection, such as a test
/// that reads the file, before it fails with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Error raised by the store. Messages never contain stored values.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite failed")]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error("SQLite kept journal mode {0:?} instead of switching to WAL")]
    JournalMode(String),
    #[error("configuration {id} has the unknown event type {event_type:?} in the database")]
    UnknownStoredEventType { id: String, event_type: String },
    #[error("the database task stopped before it finished")]
    Task(#[from] tokio::task::JoinError),
    #[error("formatting the current time failed")]
    Time(#[from] time::error::Format),
    #[error("event {event_id} has the unknown kind {kind:?} in the database")]
    UnknownEventKind { event_id: String, kind: String },
    #[error("a delivery has the unknown state {0:?} in the database")]
    UnknownDeliveryState(String),
    #[error("the system clock is before 1970")]
    Clock,
}

/// Whether an upsert inserted a new configuration or replaced an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsertOutcome {
    Created,
    Updated,
}

/// Handle to the database. Clones share the same connection.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens the database file, creating it when missing, switches it to WAL, turns
    /// foreign keys on and migrates the schema. The parent directory must exist.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let path = path.to_owned();
        let connection = tokio::task::spawn_blocking(move || open_connection(&path)).await??;

        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Inserts the configuration or replaces the stored one with the same id, together
    /// with its event types, in one transaction. An update keeps `created_at` and
    /// marks the configuration active again. A new configuration also gets a pending
    /// welcome card delivery in the same transaction.
    pub async fn upsert(
        &self,
        configuration: Configuration,
    ) -> Result<(UpsertOutcome, ConfigurationView), StoreError> {
        self.run(move |connection| {
            let now = current_timestamp()?;
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let result = write_configuration(&transaction, &configuration, &now)?;
            if result.0 == UpsertOutcome::Created {
                outbox::insert_welcome_delivery(&transaction, &result.1.id, &now)?;
            }
            transaction.commit()?;
            Ok(result)
        })
        .await
    }

    /// Returns the view of the configuration with this id, or `None` when there is none.
    pub async fn find(&self, id: Uuid) -> Result<Option<ConfigurationView>, StoreError> {
        self.run(move |connection| {
            let transaction = connection.transaction()?;
            let view = read_configuration(&transaction, id)?;
            transaction.commit()?;
            Ok(view)
        })
        .await
    }

    /// Deletes the configuration and, by cascade, its event types. Returns whether a
    /// configuration with this id existed.
    pub async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        self.run(move |connection| {
            let deleted =
                connection.execute("DELETE FROM configurations WHERE id = ?1", [id_text(id)])?;
            Ok(deleted > 0)
        })
        .await
    }

    /// Runs `operation` with the connection on the blocking thread pool.
    pub(crate) async fn run<T, F>(&self, operation: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let connection = Arc::clone(&self.connection);
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot leave a transaction open, because
            // dropping a rusqlite `Transaction` rolls it back. So the connection is
            // still usable after poisoning.
            let mut connection = connection.lock().unwrap_or_else(PoisonError::into_inner);
            operation(&mut connection)
        })
        .await?
    }
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let mut connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;

    let journal_mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::JournalMode(journal_mode));
    }
    connection.pragma_update(None, "foreign_keys", true)?;

    migrate(&mut connection)?;
    Ok(connection)
}

/// Writes the configuration row and replaces its event type rows inside `transaction`.
fn write_configuration(
    transaction: &Transaction<'_>,
    configuration: &Configuration,
    now: &str,
) -> Result<(UpsertOutcome, ConfigurationView), StoreError> {
    let id = id_text(configuration.id);
    let context = &configuration.context;
    let app_type = context.app_type.map(|app| app.as_str());

    let existing_created_at: Option<String> = transaction
        .query_row(
            "SELECT created_at FROM configurations WHERE id = ?1",
            [&id],
            |row| row.get(0),
        )
        .optional()?;

    // An update keeps `created_at` and makes the configuration active again.
    transaction.execute(
        "INSERT INTO configurations (
           id, webhook_url, config_name, tenant_id, group_id, team_id, channel_id,
           user_object_id, app_type, active, created_at, updated_at
         ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?10)
         ON CONFLICT (id) DO UPDATE SET
           webhook_url = excluded.webhook_url, config_name = excluded.config_name,
           tenant_id = excluded.tenant_id, group_id = excluded.group_id,
           team_id = excluded.team_id, channel_id = excluded.channel_id,
           user_object_id = excluded.user_object_id, app_type = excluded.app_type,
           active = 1, updated_at = excluded.updated_at",
        rusqlite::params![
            id,
            configuration.webhook_url.as_str(),
            configuration.config_name,
            context.tenant_id,
            context.group_id,
            context.team_id,
            context.channel_id,
            context.user_object_id,
            app_type,
            now,
        ],
    )?;
    let (outcome, created_at) = match existing_created_at {
        None => (UpsertOutcome::Created, now.to_owned()),
        Some(created_at) => (UpsertOutcome::Updated, created_at),
    };

    transaction.execute(
        "DELETE FROM configuration_event_types WHERE configuration_id = ?1",
        [&id],
    )?;
    for event_type in &configuration.event_types {
        transaction.execute(
            "INSERT INTO configuration_event_types (configuration_id, event_type)
             VALUES (?1, ?2)",
            [&id, event_type.as_str()],
        )?;
    }

    let view = ConfigurationView {
        id,
        event_types: configuration.event_types.iter().copied().collect(),
        config_name: configuration.config_name.clone(),
        created_at,
        updated_at: now.to_owned(),
    };
    Ok((outcome, view))
}

fn read_configuration(
    transaction: &Transaction<'_>,
    id: Uuid,
) -> Result<Option<ConfigurationView>, StoreError> {
    let id = id_text(id);
    let row: Option<(String, String, String)> = transaction
        .query_row(
            "SELECT config_name, created_at, updated_at FROM configurations WHERE id = ?1",
            [&id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((config_name, created_at, updated_at)) = row else {
        return Ok(None);
    };

    let mut statement = transaction.prepare(
        "SELECT event_type FROM configuration_event_types
         WHERE configuration_id = ?1 ORDER BY event_type",
    )?;
    let names = statement
        .query_map([&id], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;

    let mut event_types = Vec::with_capacity(names.len());
    for name in names {
        let event_type =
            EventType::from_name(&name).ok_or_else(|| StoreError::UnknownStoredEventType {
                id: id.clone(),
                event_type: name.clone(),
            })?;
        event_types.push(event_type);
    }

    Ok(Some(ConfigurationView {
        id,
        event_types,
        config_name,
        created_at,
        updated_at,
    }))
}

/// Returns the id in the stored form: lower-case and hyphenated.
pub(crate) fn id_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// Returns the current UTC time as RFC 3339 with milliseconds, such as
/// `2025-01-02T03:04:05.678Z`.
pub(crate) fn current_timestamp() -> Result<String, time::error::Format> {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc().format(format)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::configuration::{AppType, Context};
    use crate::webhook_url::WebhookUrl;

    const WEBHOOK_URL: &str =
        "https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner";

    fn configuration(id: Uuid, event_types: &[EventType]) -> Configuration {
        Configuration {
            id,
            webhook_url: WebhookUrl::parse(WEBHOOK_URL, None).unwrap(),
            event_types: event_types.iter().copied().collect::<BTreeSet<_>>(),
            config_name: "Tasks".to_owned(),
            context: Context {
                tenant_id: Some("tenant".to_owned()),
                user_object_id: Some("user".to_owned()),
                app_type: Some(AppType::Teams),
                ..Context::default()
            },
        }
    }

    async fn open_store(directory: &tempfile::TempDir) -> Store {
        Store::open(&directory.path().join("test.sqlite3"))
            .await
            .unwrap()
    }

    fn count(store: &Store, sql: &str) -> i64 {
        let connection = store.connection.lock().unwrap();
        connection.query_row(sql, [], |row| row.get(0)).unwrap()
    }

    #[tokio::test]
    async fn open_sets_wal_and_foreign_keys() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;

        let connection = store.connection.lock().unwrap();
        let journal_mode: String = connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        let foreign_keys: i64 = connection
            .pragma_query_value(None, "foreign_keys", |row| row.get(0))
            .unwrap();

        assert_eq!(journal_mode, "wal");
        assert_eq!(foreign_keys, 1);
    }

    #[tokio::test]
    async fn upsert_creates_then_updates() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let id = Uuid::new_v4();

        let (first, created) = store
            .upsert(configuration(id, &[EventType::Created]))
            .await
            .unwrap();
        let (second, updated) = store
            .upsert(configuration(id, &[EventType::Updated]))
            .await
            .unwrap();

        assert_eq!(first, UpsertOutcome::Created);
        assert_eq!(second, UpsertOutcome::Updated);
        assert_eq!(updated.created_at, created.created_at);
        assert_eq!(updated.event_types, vec![EventType::Updated]);
        assert_eq!(count(&store, "SELECT COUNT(*) FROM configurations"), 1);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM configuration_event_types"),
            1
        );
    }

    #[tokio::test]
    async fn upsert_reactivates_configuration() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let id = Uuid::new_v4();
        store
            .upsert(configuration(id, &[EventType::Created]))
            .await
            .unwrap();
        store
            .connection
            .lock()
            .unwrap()
            .execute("UPDATE configurations SET active = 0", [])
            .unwrap();

        store
            .upsert(configuration(id, &[EventType::Created]))
            .await
            .unwrap();

        assert_eq!(count(&store, "SELECT active FROM configurations"), 1);
    }

    #[tokio::test]
    async fn find_returns_stored_view() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let id = Uuid::new_v4();
        let (_, stored) = store
            .upsert(configuration(id, &[EventType::Updated, EventType::Created]))
            .await
            .unwrap();

        let found = store.find(id).await.unwrap();

        assert_eq!(found, Some(stored));
        assert_eq!(
            found.unwrap().event_types,
            vec![EventType::Created, EventType::Updated]
        );
    }

    #[tokio::test]
    async fn find_unknown_id_is_none() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;

        assert_eq!(store.find(Uuid::new_v4()).await.unwrap(), None);
    }

    #[tokio::test]
    async fn delete_cascades_to_event_types() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let id = Uuid::new_v4();
        store
            .upsert(configuration(id, &[EventType::Created, EventType::Updated]))
            .await
            .unwrap();

        let deleted = store.delete(id).await.unwrap();
        let deleted_again = store.delete(id).await.unwrap();

        assert!(deleted);
        assert!(!deleted_again);
        assert_eq!(
            count(&store, "SELECT COUNT(*) FROM configuration_event_types"),
            0
        );
    }

    #[tokio::test]
    async fn failed_upsert_writes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        store
            .connection
            .lock()
            .unwrap()
            .execute_batch(
                "CREATE TRIGGER reject_event_types BEFORE INSERT ON configuration_event_types
                 BEGIN SELECT RAISE(ABORT, 'rejected by test'); END;",
            )
            .unwrap();

        let result = store
            .upsert(configuration(Uuid::new_v4(), &[EventType::Created]))
            .await;

        assert!(result.is_err());
        assert_eq!(count(&store, "SELECT COUNT(*) FROM configurations"), 0);
    }

    #[tokio::test]
    async fn stores_id_lower_case_and_context() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let id = Uuid::parse_str("0F8FAD5B-D9CB-469F-A165-70867728950E").unwrap();
        store
            .upsert(configuration(id, &[EventType::Created]))
            .await
            .unwrap();

        let connection = store.connection.lock().unwrap();
        let row: (String, String, String, String) = connection
            .query_row(
                "SELECT id, webhook_url, tenant_id, app_type FROM configurations",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
            )
            .unwrap();

        assert_eq!(row.0, "0f8fad5b-d9cb-469f-a165-70867728950e");
        assert_eq!(row.1, WEBHOOK_URL);
        assert_eq!(row.2, "tenant");
        assert_eq!(row.3, "teams");
    }

    #[tokio::test]
    async fn data_survives_reopen() {
        let directory = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        {
            let store = open_store(&directory).await;
            store
                .upsert(configuration(id, &[EventType::Created]))
                .await
                .unwrap();
        }

        let reopened = open_store(&directory).await;

        assert!(reopened.find(id).await.unwrap().is_some());
    }

    #[test]
    fn timestamp_is_rfc3339_with_milliseconds() {
        let timestamp = current_timestamp().unwrap();

        assert_eq!(
            timestamp.len(),
            "2025-01-02T03:04:05.678Z".len(),
            "{timestamp}"
        );
        assert!(
            OffsetDateTime::parse(&timestamp, &time::format_description::well_known::Rfc3339)
                .is_ok(),
            "{timestamp}"
        );
    }
}

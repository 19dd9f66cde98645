//! Reads the backend's SQLite file directly, to check what a test stored.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

/// The backend's database file, opened read-only for each check.
pub struct Database {
    path: PathBuf,
}

/// One row of `configurations` with its event types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConfiguration {
    pub id: String,
    pub webhook_url: String,
    pub config_name: String,
    pub tenant_id: Option<String>,
    pub channel_id: Option<String>,
    pub user_object_id: Option<String>,
    /// Sorted by name.
    pub event_types: Vec<String>,
}

impl Database {
    pub fn new(path: &Path) -> Database {
        Database {
            path: path.to_owned(),
        }
    }

    /// Returns every stored configuration, ordered by id.
    pub fn configurations(&self) -> anyhow::Result<Vec<StoredConfiguration>> {
        let connection = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening {} failed", self.path.display()))?;

        let mut rows = connection.prepare(
            "SELECT id, webhook_url, config_name, tenant_id, channel_id, user_object_id \
             FROM configurations ORDER BY id",
        )?;
        let mut configurations = rows
            .query_map([], |row| {
                Ok(StoredConfiguration {
                    id: row.get(0)?,
                    webhook_url: row.get(1)?,
                    config_name: row.get(2)?,
                    tenant_id: row.get(3)?,
                    channel_id: row.get(4)?,
                    user_object_id: row.get(5)?,
                    event_types: Vec::new(),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;

        let mut event_types = connection.prepare(
            "SELECT event_type FROM configuration_event_types \
             WHERE configuration_id = ?1 ORDER BY event_type",
        )?;
        for configuration in &mut configurations {
            configuration.event_types = event_types
                .query_map([&configuration.id], |row| row.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
        }
        Ok(configurations)
    }
}

//! Starts `connector_backend::serve` on 127.0.0.1 with a temporary database file.

// Each test file compiles this module on its own and uses a different part of it.
#![allow(dead_code)]

pub mod webhooks;

use std::path::{Path, PathBuf};

use connector_backend::{DeliverySettings, FrameAncestors, Settings, serve};
use rusqlite::Connection;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const WEBHOOK_URL: &str = "https://contoso.webhook.office.com/webhookb2/\
    0b0c1b42-5a1f-4e0b-9d4c-bb5a0f0e2c11@72f988bf-86f1-41af-91ab-2d7cd011db47/\
    IncomingWebhook/5f4e3d2c1b0a49f8a7b6c5d4e3f2a1b0/3c2b1a09-8f7e-4d6c-b5a4-938271605f4e";

/// Backend running in this process until [`TestServer::stop`].
pub struct TestServer {
    pub base_url: String,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    /// Starts the backend on a free port of 127.0.0.1.
    pub async fn start(settings: Settings) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (shutdown, shutdown_received) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, settings, async move {
            let _ = shutdown_received.await;
        }));

        Self {
            base_url: format!("http://{address}"),
            shutdown,
            task,
        }
    }

    /// Starts the backend with the API only, on `database`.
    pub async fn start_api(database: &Path) -> Self {
        Self::start(settings(database)).await
    }

    /// Returns the absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Stops the backend and checks that `serve` returned `Ok`.
    pub async fn stop(self) {
        self.shutdown.send(()).unwrap();
        self.task.await.unwrap().unwrap();
    }
}

/// Returns settings for the API only. The delivery worker is off, because these tests
/// use Microsoft webhook URLs and nothing may leave the machine.
pub fn settings(database: &Path) -> Settings {
    Settings {
        database: database.to_owned(),
        page_dir: None,
        dev_webhook_origin: None,
        events_api_key: None,
        delivery: DeliverySettings {
            start_worker: false,
            ..DeliverySettings::default()
        },
        frame_ancestors: FrameAncestors::default(),
    }
}

/// Returns the database path inside a fresh temporary directory.
pub fn temp_database() -> (tempfile::TempDir, PathBuf) {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("connector.sqlite3");
    (directory, database)
}

/// HTTP client that ignores proxy settings, so requests stay on 127.0.0.1, and does not
/// follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Runs a query that returns one integer, on a separate connection to the file.
pub fn query_count(database: &Path, sql: &str) -> i64 {
    let connection = Connection::open(database).unwrap();
    connection.query_row(sql, [], |row| row.get(0)).unwrap()
}

/// Returns the stored event types of a configuration, in order.
pub fn stored_event_types(database: &Path, id: &str) -> Vec<String> {
    let connection = Connection::open(database).unwrap();
    let mut statement = connection
        .prepare(
            "SELECT event_type FROM configuration_event_types
             WHERE configuration_id = ?1 ORDER BY event_type",
        )
        .unwrap();
    statement
        .query_map([id], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Returns a valid configuration body with the given event types.
pub fn configuration_body(event_types: &[&str]) -> serde_json::Value {
    serde_json::json!({
        "webhookUrl": WEBHOOK_URL,
        "eventTypes": event_types,
        "configName": "Tasks created or updated",
        "context": {
            "tenantId": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "groupId": "0b0c1b42-5a1f-4e0b-9d4c-bb5a0f0e2c11",
            "teamId": "19:team@thread.tacv2",
            "channelId": "19:channel@thread.tacv2",
            "userObjectId": "user-object-id-private",
            "appType": "teams"
        }
    })
}

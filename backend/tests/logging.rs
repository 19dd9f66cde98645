//! What the request log records, and that it never records a webhook URL.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{TestServer, client, configuration_body, temp_database};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;

/// Log output collected in memory.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl CapturedLog {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLog {
    type Writer = CapturedLog;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// The subscriber is set for this thread only, so the test needs the current-thread
// runtime (the default of `tokio::test`), where the server's tasks run on the same thread.
#[tokio::test]
async fn errors_are_logged_without_webhook_url() {
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let url = server.url(&format!("/api/configurations/{id}"));
    let secret = "secret-token-that-must-not-be-logged";
    let mut rejected = configuration_body(&["created"]);
    rejected["webhookUrl"] = json!(format!("https://evil.example/webhookb2/{secret}"));
    let mut accepted = configuration_body(&["created"]);
    accepted["webhookUrl"] = json!(format!(
        "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/{secret}/c"
    ));

    client.put(&url).json(&rejected).send().await.unwrap();
    client.put(&url).json(&accepted).send().await.unwrap();
    client
        .get(server.url("/api/configurations/not-a-uuid"))
        .send()
        .await
        .unwrap();
    server.stop().await;

    let text = log.text();
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains("connector backend started"), "{text}");
    assert!(text.contains("connector backend stopped"), "{text}");
    let rejection = text
        .lines()
        .find(|line| line.contains("code=\"invalid_webhook_url\""))
        .unwrap_or_else(|| panic!("no invalid_webhook_url line in:\n{text}"));
    assert!(rejection.contains("WARN"), "{rejection}");
    assert!(rejection.contains("method=PUT"), "{rejection}");
    assert!(
        rejection.contains("route=/api/configurations/{id}"),
        "{rejection}"
    );
    assert!(rejection.contains("status=422"), "{rejection}");
    assert!(
        rejection.contains(&format!("configuration_id={id}")),
        "{rejection}"
    );
    let created = text
        .lines()
        .find(|line| line.contains("configuration created"))
        .unwrap_or_else(|| panic!("no creation line in:\n{text}"));
    assert!(
        created.contains("webhook_kind=\"tenant_connector\""),
        "{created}"
    );
    assert!(text.contains("code=\"invalid_id\""), "{text}");
}

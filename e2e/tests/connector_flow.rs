//! A person adds, reconfigures and removes the connector in the local Teams
//! host, in headless Chromium, while the tests watch the SQLite file.

use anyhow::{Context, ensure};
use e2e::{Browser, Database, Servers, StoredConfiguration, eventually};
use local_teams_host::context::{CHANNEL_ID, TENANT_ID, USER_OBJECT_ID};
use tempfile::TempDir;

/// Everything one test runs: servers, database and browser.
struct Session {
    servers: Servers,
    database: Database,
    browser: Browser,
    _data: TempDir,
}

impl Session {
    async fn start() -> anyhow::Result<Session> {
        let data = tempfile::tempdir()?;
        let database_path = data.path().join("connector.sqlite3");
        let servers = Servers::start(&database_path).await?;
        let browser = Browser::start().await?;
        browser.client.goto(servers.host_url().as_str()).await?;
        browser.find("#add-connector:enabled").await?;

        Ok(Session {
            servers,
            database: Database::new(&database_path),
            browser,
            _data: data,
        })
    }

    async fn close(self) -> anyhow::Result<()> {
        self.browser.close().await
    }

    /// Waits until the configuration page inside the dialog has finished
    /// starting, then leaves the browser inside its frame.
    async fn enter_loaded_page(&self) -> anyhow::Result<String> {
        let browser = &self.browser;
        browser.find("dialog#config-dialog[open]").await?;
        browser.enter_config_frame().await?;
        eventually("the configuration page to finish loading", || async {
            let status = browser.text("#status").await?;
            let loading = status.is_empty()
                || status.starts_with("Connecting")
                || status.starts_with("Loading");
            Ok((!loading).then_some(status))
        })
        .await
    }

    async fn checkbox_checked(&self, id: &str) -> anyhow::Result<bool> {
        Ok(self
            .browser
            .find(&format!("#{id}"))
            .await?
            .is_selected()
            .await?)
    }

    async fn save_enabled(&self) -> anyhow::Result<bool> {
        Ok(self
            .browser
            .find("#dialog-save")
            .await?
            .is_enabled()
            .await?)
    }

    async fn wait_for_save_enabled(&self, enabled: bool) -> anyhow::Result<()> {
        let what = if enabled {
            "Save to be enabled"
        } else {
            "Save to be disabled"
        };
        eventually(what, || async {
            Ok((self.save_enabled().await? == enabled).then_some(()))
        })
        .await
    }

    async fn wait_for_dialog_closed(&self) -> anyhow::Result<()> {
        eventually("the dialog to close", || async {
            Ok((!self.browser.exists("dialog#config-dialog[open]").await?).then_some(()))
        })
        .await
    }

    /// Adds a connector for Created only and saves it.
    async fn add_connector_for_created(&self) -> anyhow::Result<StoredConfiguration> {
        self.browser.click("#add-connector").await?;
        self.enter_loaded_page().await?;
        self.browser.click("#event-created").await?;
        self.browser.leave_frame().await?;
        self.browser.click("#dialog-save").await?;
        self.wait_for_dialog_closed().await?;

        let stored = self.database.configurations()?;
        ensure!(
            stored.len() == 1,
            "expected one stored configuration, found {stored:?}"
        );
        Ok(stored.into_iter().next().expect("one row"))
    }

    /// Opens the Configure dialog of the only connector.
    async fn configure_connector(&self) -> anyhow::Result<String> {
        self.browser.click("li.connector button.configure").await?;
        self.enter_loaded_page().await
    }

    /// Returns the webhook URLs the host issued, read from its channel API.
    async fn issued_webhook_urls(&self) -> anyhow::Result<Vec<String>> {
        let channel = self
            .browser
            .client
            .execute_async(
                "const done = arguments[0];
                 fetch('/host/api/channel').then((r) => r.json()).then(done);",
                vec![],
            )
            .await?;
        let connectors = channel["connectors"]
            .as_array()
            .context("the channel API returned no connectors array")?;
        Ok(connectors
            .iter()
            .filter_map(|connector| connector["webhookUrl"].as_str().map(str::to_owned))
            .collect())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn save_disabled_until_event_chosen() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let browser = &session.browser;

    browser.click("#add-connector").await?;
    session.enter_loaded_page().await?;
    browser.leave_frame().await?;
    assert!(
        !session.save_enabled().await?,
        "Save is enabled with nothing chosen"
    );

    browser.enter_config_frame().await?;
    browser.click("#event-created").await?;
    browser.leave_frame().await?;
    session.wait_for_save_enabled(true).await?;

    browser.enter_config_frame().await?;
    browser.click("#event-created").await?;
    browser.leave_frame().await?;
    session.wait_for_save_enabled(false).await?;

    assert!(session.database.configurations()?.is_empty());
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn save_stores_configuration() -> anyhow::Result<()> {
    let session = Session::start().await?;

    let stored = session.add_connector_for_created().await?;

    let issued = session.issued_webhook_urls().await?;
    assert_eq!(issued, vec![stored.webhook_url.clone()]);
    assert!(
        stored
            .webhook_url
            .starts_with(&format!("{}webhooks/", session.servers.host_url()))
    );
    assert_eq!(stored.event_types, vec!["created"]);
    assert_eq!(stored.config_name, "Task notifications: created");
    assert_eq!(stored.tenant_id.as_deref(), Some(TENANT_ID));
    assert_eq!(stored.channel_id.as_deref(), Some(CHANNEL_ID));
    assert_eq!(stored.user_object_id.as_deref(), Some(USER_OBJECT_ID));

    let listed = session
        .browser
        .find(&format!("li.connector[data-entity-id='{}']", stored.id))
        .await?;
    let text = listed.text().await?;
    assert!(text.contains("Task notifications: created"), "{text}");
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn reconfigure_restores_and_updates() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let first = session.add_connector_for_created().await?;

    let status = session.configure_connector().await?;
    assert!(status.starts_with("Loaded the saved choice"), "{status}");
    assert!(session.checkbox_checked("event-created").await?);
    assert!(!session.checkbox_checked("event-updated").await?);

    session.browser.click("#event-updated").await?;
    session.browser.leave_frame().await?;
    session.browser.click("#dialog-save").await?;
    session.wait_for_dialog_closed().await?;

    let stored = session.database.configurations()?;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].id, first.id);
    assert_eq!(stored[0].webhook_url, first.webhook_url);
    assert_eq!(stored[0].event_types, vec!["created", "updated"]);
    assert_eq!(
        stored[0].config_name,
        "Task notifications: created and updated"
    );
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn save_fails_while_backend_stopped() -> anyhow::Result<()> {
    let mut session = Session::start().await?;
    let before = session.add_connector_for_created().await?;
    session.configure_connector().await?;

    session.servers.stop_backend().await?;
    session.browser.click("#event-updated").await?;
    session.browser.leave_frame().await?;
    session.browser.click("#dialog-save").await?;

    let error = eventually("the dialog to show why saving failed", || async {
        let text = session.browser.text("#dialog-error").await?;
        Ok((!text.is_empty()).then_some(text))
    })
    .await?;
    assert!(error.contains("not reachable"), "{error}");
    assert!(session.browser.exists("dialog#config-dialog[open]").await?);
    assert_eq!(session.database.configurations()?, vec![before.clone()]);

    session.browser.enter_config_frame().await?;
    let status = session.browser.text("#status").await?;
    assert!(status.contains("not reachable"), "{status}");
    session.browser.leave_frame().await?;

    // The dialog stays usable: with the backend back, the same Save works.
    session.servers.restart_backend().await?;
    session.browser.click("#dialog-save").await?;
    session.wait_for_dialog_closed().await?;
    let stored = session.database.configurations()?;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].event_types, vec!["created", "updated"]);
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_deletes_configuration() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let stored = session.add_connector_for_created().await?;
    let browser = &session.browser;

    browser.click("li.connector button.remove").await?;
    browser.find("dialog#config-dialog[open]").await?;
    browser.click("#dialog-remove").await?;
    session.wait_for_dialog_closed().await?;

    assert!(session.database.configurations()?.is_empty());
    let selector = format!("li.connector[data-entity-id='{}']", stored.id);
    eventually("the connector to leave the channel view", || async {
        Ok((!browser.exists(&selector).await?).then_some(()))
    })
    .await?;
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn page_outside_teams_explains() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let page_url = session.servers.host_url().join("config/")?;

    session.browser.client.goto(page_url.as_str()).await?;
    let message = session.browser.text("#outside-teams").await?;

    assert!(message.contains("works only inside Teams"), "{message}");
    assert!(!session.browser.exists("#event-created").await?);
    session.close().await
}

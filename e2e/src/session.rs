//! A test session: servers, database and a browser on the host's channel
//! view, with the steps a person takes there.

use anyhow::{Context, ensure};
use serde_json::Value;
use tempfile::TempDir;

use crate::{Browser, Database, Servers, StoredConfiguration, eventually};

/// Everything one test runs: servers, database and browser.
pub struct Session {
    pub servers: Servers,
    pub database: Database,
    pub browser: Browser,
    _data: TempDir,
}

impl Session {
    pub async fn start() -> anyhow::Result<Session> {
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

    pub async fn close(self) -> anyhow::Result<()> {
        self.browser.close().await
    }

    /// Waits until the configuration page inside the dialog has finished
    /// starting, then leaves the browser inside its frame.
    pub async fn enter_loaded_page(&self) -> anyhow::Result<String> {
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

    pub async fn checkbox_checked(&self, id: &str) -> anyhow::Result<bool> {
        Ok(self
            .browser
            .find(&format!("#{id}"))
            .await?
            .is_selected()
            .await?)
    }

    pub async fn save_enabled(&self) -> anyhow::Result<bool> {
        Ok(self
            .browser
            .find("#dialog-save")
            .await?
            .is_enabled()
            .await?)
    }

    pub async fn wait_for_save_enabled(&self, enabled: bool) -> anyhow::Result<()> {
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

    pub async fn wait_for_dialog_closed(&self) -> anyhow::Result<()> {
        eventually("the dialog to close", || async {
            Ok((!self.browser.exists("dialog#config-dialog[open]").await?).then_some(()))
        })
        .await
    }

    /// Adds a connector for Created only and saves it, in a channel that had
    /// none.
    pub async fn add_connector_for_created(&self) -> anyhow::Result<StoredConfiguration> {
        let stored = self.add_connector(&["event-created"]).await?;
        let all = self.database.configurations()?;
        ensure!(
            all.len() == 1,
            "expected one stored configuration, found {all:?}"
        );
        Ok(stored)
    }

    /// Adds a connector, checks the boxes with the ids `checkboxes`, saves,
    /// and returns the configuration the backend stored for it.
    pub async fn add_connector(&self, checkboxes: &[&str]) -> anyhow::Result<StoredConfiguration> {
        let before = self.database.configurations()?;

        self.browser.click("#add-connector").await?;
        self.enter_loaded_page().await?;
        for checkbox in checkboxes {
            self.browser.click(&format!("#{checkbox}")).await?;
        }
        self.browser.leave_frame().await?;
        self.browser.click("#dialog-save").await?;
        self.wait_for_dialog_closed().await?;

        let mut added: Vec<StoredConfiguration> = self
            .database
            .configurations()?
            .into_iter()
            .filter(|stored| !before.iter().any(|old| old.id == stored.id))
            .collect();
        ensure!(
            added.len() == 1,
            "expected one new configuration, found {added:?}"
        );
        Ok(added.remove(0))
    }

    /// Returns the host's channel view data (`GET /host/api/channel`).
    pub async fn channel(&self) -> anyhow::Result<Value> {
        let channel = self
            .browser
            .client
            .execute_async(
                "const done = arguments[0];
                 fetch('/host/api/channel').then((r) => r.json()).then(done);",
                vec![],
            )
            .await?;
        Ok(channel)
    }

    /// Sends a sample task event with the host's form and returns the
    /// result line it shows.
    pub async fn send_sample_event(&self, kind: &str, title: &str) -> anyhow::Result<String> {
        let browser = &self.browser;
        let kind_option = format!("#sample-kind option[value='{kind}']");
        browser.click(&kind_option).await?;
        let title_input = browser.find("#sample-title").await?;
        title_input.clear().await?;
        title_input.send_keys(title).await?;

        // Two sends can show the same result, so the old one is cleared first.
        browser
            .client
            .execute(
                "document.getElementById('sample-result').textContent = '';",
                vec![],
            )
            .await?;
        browser.click("#sample-send").await?;
        eventually("the sample event result", || async {
            let text = browser.text("#sample-result").await?;
            let done = !text.is_empty() && !text.ends_with('…');
            Ok(done.then_some(text))
        })
        .await
    }

    /// Returns the card titles rendered under the connector whose settings
    /// have `entity_id`, newest first.
    pub async fn card_titles(&self, entity_id: &str) -> anyhow::Result<Vec<String>> {
        let selector = format!("li.connector[data-entity-id='{entity_id}'] li.post .card-title");
        let mut titles = Vec::new();
        for element in self
            .browser
            .client
            .find_all(fantoccini::Locator::Css(&selector))
            .await?
        {
            titles.push(element.text().await?);
        }
        Ok(titles)
    }

    /// Opens the Configure dialog of the only connector.
    pub async fn configure_connector(&self) -> anyhow::Result<String> {
        self.browser.click("li.connector button.configure").await?;
        self.enter_loaded_page().await
    }

    /// Returns the webhook URLs the host issued, read from its channel API.
    pub async fn issued_webhook_urls(&self) -> anyhow::Result<Vec<String>> {
        let channel = self.channel().await?;
        let connectors = channel["connectors"]
            .as_array()
            .context("the channel API returned no connectors array")?;
        Ok(connectors
            .iter()
            .filter_map(|connector| connector["webhookUrl"].as_str().map(str::to_owned))
            .collect())
    }
}

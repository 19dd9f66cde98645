//! A person adds, reconfigures and removes the connector in the local Teams
//! host, in headless Chromium, while the tests watch the SQLite file.

use e2e::{Session, eventually};
use local_teams_host::context::{CHANNEL_ID, TENANT_ID, USER_OBJECT_ID};

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

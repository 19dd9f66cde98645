//! The whole flow with the keyboard alone, with a visible focus.

use e2e::{Session, eventually};
use fantoccini::key::Key;

/// Returns the computed outline style of the focused element inside the
/// configuration page's frame.
async fn focused_outline_in_frame(session: &Session) -> anyhow::Result<String> {
    let outline = session
        .browser
        .client
        .execute(
            "const frame = document.getElementById('config-frame');
             const element = frame.contentDocument.activeElement;
             return getComputedStyle(element).outlineStyle;",
            vec![],
        )
        .await?;
    Ok(outline.as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn add_connector_with_keyboard_only() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let browser = &session.browser;

    browser.tab_to("add-connector", 40).await?;
    browser.press(Key::Enter).await?;
    session.enter_loaded_page().await?;
    browser.leave_frame().await?;

    browser.tab_to("frame:event-created", 20).await?;
    let outline = focused_outline_in_frame(&session).await?;
    assert_ne!(outline, "none", "the focused checkbox shows no outline");
    browser.press(Key::Space).await?;
    session.wait_for_save_enabled(true).await?;

    browser.tab_to("dialog-save", 20).await?;
    browser.press(Key::Enter).await?;
    session.wait_for_dialog_closed().await?;

    let stored = eventually("the stored configuration", || async {
        Ok(session.database.configurations()?.into_iter().next())
    })
    .await?;
    assert_eq!(stored.event_types, vec!["created"]);
    session.close().await
}

//! The configuration page in each Teams theme and in a right-to-left
//! language: an axe-core audit finds no accessibility violations, and the
//! screenshots for the README are taken here.
//!
//! Screenshots go to the directory named by `E2E_SCREENSHOTS_DIR`, or are
//! not written when it is unset. `cargo xtask screenshots` sets it to
//! `docs/screenshots`.

use std::path::PathBuf;

use e2e::{Session, Violation, eventually};

const THEMES: [&str; 3] = ["default", "dark", "contrast"];

fn assert_no_violations(violations: &[Violation], what: &str) {
    assert!(
        violations.is_empty(),
        "axe-core found {} violation(s) in {what}:\n{violations:#?}",
        violations.len()
    );
}

/// Saves a PNG of the browser window as `name`.png, when screenshots are
/// requested.
async fn save_screenshot(session: &Session, name: &str) -> anyhow::Result<()> {
    let Some(dir) = std::env::var_os("E2E_SCREENSHOTS_DIR").map(PathBuf::from) else {
        return Ok(());
    };
    std::fs::create_dir_all(&dir)?;
    let png = session.browser.client.screenshot().await?;
    std::fs::write(dir.join(format!("{name}.png")), png)?;
    Ok(())
}

/// Waits until the page in the dialog's frame shows `attribute` = `value`
/// on its root element. The browser must be inside the frame.
async fn wait_for_root_attribute(
    session: &Session,
    attribute: &str,
    value: &str,
) -> anyhow::Result<()> {
    let script = format!("return document.documentElement.getAttribute('{attribute}');");
    eventually(&format!("{attribute}={value} on the page"), || async {
        let current = session.browser.client.execute(&script, vec![]).await?;
        Ok((current.as_str() == Some(value)).then_some(()))
    })
    .await
}

async fn choose(session: &Session, select: &str, value: &str) -> anyhow::Result<()> {
    session
        .browser
        .click(&format!("{select} option[value='{value}']"))
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn page_accessible_in_each_theme() -> anyhow::Result<()> {
    let session = Session::start().await?;
    session.add_connector_for_created().await?;
    session.configure_connector().await?;
    session.browser.leave_frame().await?;

    for theme in THEMES {
        choose(&session, "#host-theme", theme).await?;

        session.browser.enter_config_frame().await?;
        wait_for_root_attribute(&session, "data-theme", theme).await?;
        let violations = session.browser.audit_accessibility().await?;
        assert_no_violations(&violations, &format!("the page in the {theme} theme"));
        session.browser.leave_frame().await?;

        let violations = session.browser.audit_accessibility().await?;
        assert_no_violations(&violations, &format!("the host in the {theme} theme"));
        save_screenshot(&session, theme).await?;
    }
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn arabic_page_accessible_and_right_to_left() -> anyhow::Result<()> {
    let session = Session::start().await?;
    choose(&session, "#host-locale", "ar-SA").await?;

    session.browser.click("#add-connector").await?;
    session.enter_loaded_page().await?;
    wait_for_root_attribute(&session, "dir", "rtl").await?;
    wait_for_root_attribute(&session, "lang", "ar").await?;
    let legend = session.browser.text("fieldset legend").await?;
    assert_eq!(legend, "إرسال إشعارات عندما تكون المهام");

    let violations = session.browser.audit_accessibility().await?;
    assert_no_violations(&violations, "the page in Arabic");
    session.browser.leave_frame().await?;
    save_screenshot(&session, "arabic").await?;
    session.close().await
}

/// Guards against an audit that passes because it checks nothing: an image
/// without a text alternative must be reported.
#[tokio::test(flavor = "multi_thread")]
async fn audit_reports_image_without_alt() -> anyhow::Result<()> {
    let session = Session::start().await?;
    session
        .browser
        .client
        .execute(
            "const image = document.createElement('img');
             image.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw=';
             document.querySelector('main').append(image);",
            vec![],
        )
        .await?;

    let violations = session.browser.audit_accessibility().await?;

    let rules: Vec<&str> = violations.iter().map(|v| v.rule.as_str()).collect();
    assert!(rules.contains(&"image-alt"), "{violations:#?}");
    session.close().await
}

//! Headless Chromium driven through ChromeDriver (WebDriver).

use std::net::TcpListener as StdTcpListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::process::{Child, Command};

use crate::eventually;

/// Chromium flags that keep the browser on this machine: no background
/// requests, and every host name but 127.0.0.1 fails to resolve, because
/// TeamsJS fetches a list of valid domains from a CDN when it loads.
const CHROMIUM_ARGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
];

fn tool_path(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// A WebDriver session in a fresh Chromium profile. Dropping it kills
/// ChromeDriver and the browsers it started.
pub struct Browser {
    pub client: Client,
    chromedriver: Child,
    _profile: TempDir,
}

impl Browser {
    /// Starts ChromeDriver on a free port of 127.0.0.1 and opens a session.
    pub async fn start() -> anyhow::Result<Browser> {
        let chromedriver_path = tool_path("CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium_path = tool_path("CHROMIUM", "/usr/bin/chromium");
        for path in [&chromedriver_path, &chromium_path] {
            if !path.is_file() {
                bail!(
                    "{} is missing. Install Debian's chromium and chromium-driver \
                     (`cargo xtask setup` does).",
                    path.display()
                );
            }
        }

        // ChromeDriver cannot report a port it chose, so take a free one and
        // hand it over; nothing else binds 127.0.0.1 ports in between here.
        let port = StdTcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let chromedriver = Command::new(&chromedriver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Chromium runs as ChromeDriver's child, so a process group of
            // their own lets `Drop` kill both when a test fails before `close`.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} failed", chromedriver_path.display()))?;

        let profile = tempfile::tempdir()?;
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|arg| arg.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.push("--window-size=1280,900".to_owned());
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_path,
                "args": args,
            }
        });
        let capabilities = match capabilities {
            Value::Object(map) => map,
            _ => unreachable!("the capabilities are a JSON object"),
        };

        let webdriver_url = format!("http://127.0.0.1:{port}");
        let client = eventually("ChromeDriver to open a session", || {
            let mut builder = ClientBuilder::new(HttpConnector::new());
            builder.capabilities(capabilities.clone());
            let webdriver_url = webdriver_url.clone();
            async move {
                match builder.connect(&webdriver_url).await {
                    Ok(client) => Ok(Some(client)),
                    Err(error) => Err(anyhow::Error::new(error)),
                }
            }
        })
        .await?;

        Ok(Browser {
            client,
            chromedriver,
            _profile: profile,
        })
    }

    /// Waits for the first element that matches `css`.
    pub async fn find(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(crate::PATIENCE)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element matches {css}"))
    }

    /// Returns whether an element that matches `css` is on the page now.
    pub async fn exists(&self, css: &str) -> anyhow::Result<bool> {
        Ok(!self.client.find_all(Locator::Css(css)).await?.is_empty())
    }

    /// Clicks the first element that matches `css`, once it is enabled.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let element = self.find(css).await?;
        eventually(&format!("{css} to be enabled"), || {
            let element = element.clone();
            async move { Ok(element.is_enabled().await?.then_some(())) }
        })
        .await?;
        element.click().await?;
        Ok(())
    }

    /// Returns the text of the first element that matches `css`.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.find(css).await?.text().await?)
    }

    /// Switches into the configuration page's iframe.
    pub async fn enter_config_frame(&self) -> anyhow::Result<()> {
        self.find("#config-frame").await?.enter_frame().await?;
        Ok(())
    }

    /// Switches back to the host page.
    pub async fn leave_frame(&self) -> anyhow::Result<()> {
        self.client.enter_parent_frame().await?;
        Ok(())
    }

    /// Presses and releases `key` wherever the focus is, as a keyboard does,
    /// even inside a frame.
    pub async fn press(&self, key: fantoccini::key::Key) -> anyhow::Result<()> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};

        let value: char = key.into();
        let actions = KeyActions::new("keyboard".to_owned())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// Returns the id of the focused element of the top document, or
    /// `frame:<id>` when the focus is inside a same-origin frame.
    pub async fn focused(&self) -> anyhow::Result<String> {
        let focused = self
            .client
            .execute(
                "const active = document.activeElement;
                 if (active && active.tagName === 'IFRAME') {
                   const inner = active.contentDocument && active.contentDocument.activeElement;
                   return 'frame:' + (inner ? inner.id : '');
                 }
                 return active ? active.id : '';",
                vec![],
            )
            .await?;
        Ok(focused.as_str().unwrap_or_default().to_owned())
    }

    /// Presses Tab until the focus reaches `target` (as [`Browser::focused`]
    /// names it), failing after `max_presses`.
    pub async fn tab_to(&self, target: &str, max_presses: usize) -> anyhow::Result<()> {
        for _ in 0..max_presses {
            if self.focused().await? == target {
                return Ok(());
            }
            self.press(fantoccini::key::Key::Tab).await?;
        }
        let focused = self.focused().await?;
        bail!("Tab did not reach {target} in {max_presses} presses; the focus is on {focused:?}")
    }

    /// Ends the WebDriver session and ChromeDriver.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let Some(pid) = self.chromedriver.id() else {
            return;
        };
        // A failed test drops the browser without closing the session, and
        // killing ChromeDriver alone would leave Chromium running.
        let killed = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        if let Err(error) = killed {
            eprintln!("killing ChromeDriver's process group {pid} failed: {error}");
        }
    }
}

//! Harness of the end-to-end tests: the backend, the local Teams host, a
//! SQLite file and headless Chromium, all started on 127.0.0.1 by the test.
//!
//! The tests need the built page (`trunk build --release --offline`) in the
//! directory named by `E2E_PAGE_DIR` (default: the workspace's `dist/`), and
//! Debian's `chromium` and `chromedriver`, whose paths `CHROMIUM` and
//! `CHROMEDRIVER` override.

mod accessibility;
mod browser;
mod database;
mod servers;
mod session;

pub use accessibility::Violation;
pub use browser::Browser;
pub use database::{Database, StoredConfiguration};
pub use servers::Servers;
pub use session::Session;

use std::future::Future;
use std::time::Duration;

use anyhow::bail;

/// How long a test waits for something the page or the host does.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `check` until it returns `Some`, failing after [`PATIENCE`] with
/// `what` in the message.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_error = Some(error),
        }
        if tokio::time::Instant::now() >= deadline {
            match last_error {
                Some(error) => bail!("timed out waiting for {what}; last error: {error:#}"),
                None => bail!("timed out waiting for {what}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

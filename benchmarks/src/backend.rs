//! The backend under test: the release binary started as a child process on a free port
//! of 127.0.0.1, with local delivery to the sink turned on.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use serde_json::Value;

use crate::child::ChildProcess;

/// Maximum wait for the backend to respond to its health check after start.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for starting the backend.
pub struct BackendOptions<'a> {
    pub binary: &'a Path,
    pub database: &'a Path,
    pub log: PathBuf,
    pub sink_origin: &'a str,
    pub concurrency: usize,
    pub events_api_key: &'a str,
}

/// A running backend.
pub struct Backend {
    process: ChildProcess,
    base_url: String,
    events_api_key: String,
    client: reqwest::Client,
    log: PathBuf,
}

/// The backend's response to the posted event.
pub struct AcceptedEvent {
    pub event_id: String,
    pub deliveries: u64,
    /// Wall-clock time at which the `202` arrived.
    pub accepted_at: SystemTime,
    /// Time from sending the request to the `202`, which includes writing the
    /// deliveries.
    pub request_time: Duration,
}

impl Backend {
    /// Starts the backend and waits until its health check responds.
    pub async fn start(options: &BackendOptions<'_>) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = File::create(&options.log)
            .with_context(|| format!("creating {} failed", options.log.display()))?;

        let mut command = Command::new(options.binary);
        command
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database")
            .arg(options.database)
            .arg("--dev-webhook-origin")
            .arg(options.sink_origin)
            .arg("--delivery-concurrency")
            .arg(options.concurrency.to_string())
            // The key goes through the environment so that it is not on the command line.
            .env("CONNECTOR_EVENTS_API_KEY", options.events_api_key)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let process = ChildProcess::spawn("backend", &mut command)?;

        let mut backend = Self {
            process,
            base_url: format!("http://127.0.0.1:{port}"),
            events_api_key: options.events_api_key.to_owned(),
            client: reqwest::Client::builder().no_proxy().build()?,
            log: options.log.clone(),
        };
        backend.wait_ready().await.map_err(|error| {
            let log_tail = backend.log_tail();
            error.context(format!(
                "the backend did not start; its log ends with:\n{log_tail}"
            ))
        })?;
        Ok(backend)
    }

    pub fn pid(&self) -> u32 {
        self.process.id()
    }

    /// Fails when the backend has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        self.process.ensure_running()
    }

    /// Returns the last lines of the backend's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let start = lines.len().saturating_sub(20);
        lines[start..].join("\n")
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let url = format!("{}/api/health", self.base_url);
        let start = Instant::now();
        loop {
            self.process.ensure_running()?;
            let response = self.client.get(&url).send().await;
            if response.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            if start.elapsed() > READY_TIMEOUT {
                bail!(
                    "the backend did not respond to GET /api/health within {} s",
                    READY_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Posts the event and returns the backend's `202` response.
    pub async fn post_event(&self, body: &Value) -> anyhow::Result<AcceptedEvent> {
        let url = format!("{}/api/events", self.base_url);
        let start = Instant::now();
        let response = self
            .client
            .post(&url)
            .bearer_auth(&self.events_api_key)
            .json(body)
            .send()
            .await
            .context("posting the event to the backend failed")?;
        let accepted_at = SystemTime::now();
        let request_time = start.elapsed();

        let status = response.status();
        let text = response.text().await?;
        if status.as_u16() != 202 {
            bail!("the backend responded to the event with {status} instead of 202: {text}");
        }
        let answer: Value = serde_json::from_str(&text)
            .with_context(|| format!("the backend's 202 body is not JSON: {text}"))?;
        let event_id = answer["eventId"]
            .as_str()
            .with_context(|| format!("the backend's 202 body has no eventId: {text}"))?
            .to_owned();
        let deliveries = answer["deliveries"]
            .as_u64()
            .with_context(|| format!("the backend's 202 body has no deliveries count: {text}"))?;

        Ok(AcceptedEvent {
            event_id,
            deliveries,
            accepted_at,
            request_time,
        })
    }
}

/// Returns a port of 127.0.0.1 that was free a moment ago. Another process could take
/// it before the backend binds it, which would fail the start with a clear error.
fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("finding a free port on 127.0.0.1 failed")?;
    Ok(listener.local_addr()?.port())
}

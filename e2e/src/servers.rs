//! The backend and the local Teams host, served in-process.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// Events API key of the backend that [`Servers`] starts.
pub const EVENTS_API_KEY: &str = "e2e-events-api-key";

/// A running backend and local Teams host on free ports of 127.0.0.1.
pub struct Servers {
    backend_address: SocketAddr,
    host_address: SocketAddr,
    database: PathBuf,
    page_dir: PathBuf,
    backend: Option<Running>,
    _host: Running,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn spawn<F>(serve: impl FnOnce(oneshot::Receiver<()>) -> F) -> Running
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(stopped));
        Running { stop, task }
    }

    async fn stop(self) -> anyhow::Result<()> {
        // The server may have ended already, and its result below gives the
        // reason.
        let _ = self.stop.send(());
        self.task.await.context("the server task panicked")?
    }
}

/// Directory of the built page: `E2E_PAGE_DIR`, or the workspace's `dist/`.
fn page_dir() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("E2E_PAGE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist"),
    };
    if !dir.join("index.html").is_file() {
        bail!(
            "the built configuration page is missing: {} has no index.html. \
             Run `trunk build --release --offline` (or `cargo xtask test`) first.",
            dir.display()
        );
    }
    Ok(dir)
}

impl Servers {
    /// Starts both servers with a new SQLite file at `database`.
    pub async fn start(database: &Path) -> anyhow::Result<Servers> {
        let backend_listener = TcpListener::bind("127.0.0.1:0").await?;
        let host_listener = TcpListener::bind("127.0.0.1:0").await?;
        let backend_address = backend_listener.local_addr()?;
        let host_address = host_listener.local_addr()?;

        let mut servers = Servers {
            backend_address,
            host_address,
            database: database.to_owned(),
            page_dir: page_dir()?,
            backend: None,
            _host: Running::spawn(|stopped| {
                let settings = local_teams_host::Settings {
                    backend_url: Url::parse(&format!("http://{backend_address}"))
                        .expect("a socket address makes a valid URL"),
                    config_path: "/config/".to_owned(),
                    events_api_key: Some(EVENTS_API_KEY.to_owned()),
                };
                async move {
                    local_teams_host::serve(host_listener, settings, async {
                        let _ = stopped.await;
                    })
                    .await
                }
            }),
        };
        servers.start_backend_on(backend_listener);
        Ok(servers)
    }

    fn start_backend_on(&mut self, listener: TcpListener) {
        let settings = connector_backend::Settings {
            database: self.database.clone(),
            page_dir: Some(self.page_dir.clone()),
            dev_webhook_origin: Some(self.host_url()),
            events_api_key: Some(EVENTS_API_KEY.to_owned()),
            delivery: connector_backend::DeliverySettings::default(),
            frame_ancestors: connector_backend::FrameAncestors::default(),
        };
        self.backend = Some(Running::spawn(|stopped| async move {
            connector_backend::serve(listener, settings, async {
                let _ = stopped.await;
            })
            .await
        }));
    }

    /// Returns the key that the backend's event endpoints accept.
    pub fn events_api_key(&self) -> &'static str {
        EVENTS_API_KEY
    }

    /// Returns the local Teams host's address, which the browser opens.
    pub fn host_url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.host_address))
            .expect("a socket address makes a valid URL")
    }

    /// Stops the backend, so that the host's proxy finds nothing listening.
    pub async fn stop_backend(&mut self) -> anyhow::Result<()> {
        let backend = self.backend.take().context("the backend is not running")?;
        backend.stop().await
    }

    /// Starts the backend again on its old port and database.
    pub async fn restart_backend(&mut self) -> anyhow::Result<()> {
        if self.backend.is_some() {
            bail!("the backend is already running");
        }
        let listener = TcpListener::bind(self.backend_address)
            .await
            .with_context(|| format!("binding {} again failed", self.backend_address))?;
        self.start_backend_on(listener);
        Ok(())
    }
}

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use connector_backend::{DeliverySettings, FrameAncestors, Settings, serve};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use url::Url;

/// Stores connector configurations and serves the configuration page and its JSON API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Address and port to listen on.
    #[arg(long, env = "CONNECTOR_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,

    /// SQLite database file. The file and its parent directories are created when missing.
    #[arg(
        long,
        env = "CONNECTOR_DATABASE",
        default_value = "data/connector.sqlite3"
    )]
    database: PathBuf,

    /// Directory of the built configuration page (trunk's dist/), served at /config/.
    /// Without it only the API is served.
    #[arg(long, env = "CONNECTOR_PAGE_DIR")]
    page_dir: Option<PathBuf>,

    /// Also accept webhook URLs under /webhooks/ on this origin, such as
    /// http://127.0.0.1:8080. For the local Teams host only: never set it in production.
    #[arg(long, env = "CONNECTOR_DEV_WEBHOOK_ORIGIN")]
    dev_webhook_origin: Option<Url>,

    /// API key that callers of /api/events send as "Authorization: Bearer <key>".
    /// Without it the event endpoints respond with 503.
    #[arg(long, env = "CONNECTOR_EVENTS_API_KEY", hide_env_values = true)]
    events_api_key: Option<String>,

    /// Maximum number of webhook requests in flight at once.
    #[arg(long, env = "CONNECTOR_DELIVERY_CONCURRENCY", default_value_t = 64)]
    delivery_concurrency: usize,

    /// Time limit of one webhook request, in seconds.
    #[arg(long, env = "CONNECTOR_DELIVERY_TIMEOUT_SECS", default_value_t = 10)]
    delivery_timeout_secs: u64,

    /// Attempts that end in a transient failure (5xx, timeout, connection error) before a
    /// delivery fails for good.
    #[arg(long, env = "CONNECTOR_DELIVERY_MAX_ATTEMPTS", default_value_t = 8)]
    delivery_max_attempts: u32,

    /// Space-separated https origins that may frame the configuration page, such as
    /// "https://teams.microsoft.com https://*.teams.microsoft.com". Replaces the default
    /// list of Teams, Outlook and Microsoft 365 hosts, for example for another cloud.
    #[arg(long, env = "CONNECTOR_FRAME_ANCESTORS")]
    frame_ancestors: Option<FrameAncestors>,
}

// A delivery allocates many short-lived buffers across threads, where mimalloc took
// about 15 % less CPU than glibc's allocator in the fan-out benchmark
// (docs/benchmarks.md). Its `no_thp` feature stops it from requesting transparent huge
// pages with `madvise`, and the backend then peaked at 17 to 22 MiB resident in fan-outs
// to 10,000 to 50,000 webhooks.
// NOTE: where the kernel's THP mode is `always`, it still backs mimalloc's aligned
// regions with huge pages, and the peak can be higher. `MIMALLOC_ALLOW_THP=0` in the
// environment turns them off for the process.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Colour codes only help a terminal: in a file or a pipe they are noise.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let args = Args::parse();

    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {} failed", args.listen))?;
    if let Some(parent) = args
        .database
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the directory {} failed", parent.display()))?;
    }

    let settings = Settings {
        database: args.database,
        page_dir: args.page_dir,
        dev_webhook_origin: args.dev_webhook_origin,
        events_api_key: args.events_api_key.filter(|key| !key.is_empty()),
        delivery: DeliverySettings {
            concurrency: args.delivery_concurrency,
            request_timeout: Duration::from_secs(args.delivery_timeout_secs),
            max_attempts: args.delivery_max_attempts,
            ..DeliverySettings::default()
        },
        frame_ancestors: args.frame_ancestors.unwrap_or_default(),
    };
    serve(listener, settings, shutdown_signal()).await
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "listening for Ctrl-C failed");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "listening for SIGTERM failed");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

use std::io::IsTerminal as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use local_teams_host::{Settings, origin_of, serve};
use tracing_subscriber::EnvFilter;
use url::Url;

/// Local stand-in for the Microsoft Teams web client, for trying the
/// connector's configuration page on this machine.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Address and port the host listens on.
    #[arg(long, env = "TEAMS_HOST_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Base URL of the connector backend that serves /config/ and /api/.
    #[arg(
        long,
        env = "TEAMS_HOST_BACKEND_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    backend_url: Url,

    /// Path on this host that the configuration dialog loads.
    #[arg(long, env = "TEAMS_HOST_CONFIG_PATH", default_value = "/config/")]
    config_path: String,

    /// API key of the backend's event endpoints, which the host adds to the
    /// sample task events it sends. Without it, sample events are off.
    #[arg(long, env = "TEAMS_HOST_EVENTS_API_KEY", hide_env_values = true)]
    events_api_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Colour codes only help a terminal: in a file or a pipe they are noise.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("failed to listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    println!("Open {}/ in a browser.", origin_of(address));

    let settings = Settings {
        backend_url: args.backend_url,
        config_path: args.config_path,
        events_api_key: args.events_api_key,
    };
    serve(listener, settings, shutdown_signal()).await
}

/// Resolves on Ctrl-C, or on SIGTERM where the platform has it.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "failed to listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM");
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

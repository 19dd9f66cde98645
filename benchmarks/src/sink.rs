//! The webhook sink: responds to every `POST /webhooks/{n}` with `200` and body `1`, as a
//! legacy Teams incoming webhook does, so that the benchmark measures the sender.

use std::io::{Read as _, Write as _};
use std::net::Ipv4Addr;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use tokio::net::TcpListener;

/// Start of the line on which the sink prints its port.
pub const PORT_LINE_PREFIX: &str = "sink listening on port ";

/// Serves on a free port of 127.0.0.1 until standard input closes, which happens when
/// the benchmark process ends, even when it ends without stopping the sink.
pub fn run() -> anyhow::Result<()> {
    // The thread name distinguishes the sink's threads from the backend's in a profile.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("webhook-sink")
        .enable_all()
        .build()
        .context("starting the sink's tokio runtime failed")?;
    runtime.block_on(serve())
}

async fn serve() -> anyhow::Result<()> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .context("binding the sink to 127.0.0.1 failed")?;
    let port = listener.local_addr()?.port();

    let mut stdout = std::io::stdout();
    writeln!(stdout, "{PORT_LINE_PREFIX}{port}")?;
    stdout.flush()?;

    let parent_gone = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        // Read errors mean the same as the end of input: the parent is gone.
        let _ = std::io::stdin().read_to_end(&mut sink);
    });
    let app = Router::new().route("/webhooks/{n}", post(accept_card));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = parent_gone.await;
        })
        .await
        .context("serving the sink failed")
}

/// Accepts a card. The body is read in full, so that the connection can carry the next
/// request.
async fn accept_card(body: Bytes) -> &'static str {
    drop(body);
    "1"
}

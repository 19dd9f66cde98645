//! Backend of the task notifications connector for Microsoft Teams.
//!
//! It stores the configurations that the configuration page saves (in SQLite), serves
//! their JSON API under `/api/` and serves the built page itself under `/config/`, all
//! on one origin. [`serve`] is the entry point, used by the binary and by tests.

pub mod configuration;
pub mod error;
pub mod extract;
pub mod migrations;
pub mod page;
pub mod request_log;
pub mod routes;
pub mod store;
pub mod validation;
pub mod webhook_url;

use std::future::Future;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use axum::Router;
use tokio::net::TcpListener;
use url::Url;

use crate::routes::{ApiState, api_routes, method_not_allowed, route_not_found};
use crate::store::Store;

/// Settings of one backend instance.
#[derive(Debug, Clone)]
pub struct Settings {
    /// SQLite database file. It is created when missing, but its directory must exist.
    pub database: PathBuf,
    /// Directory of the built configuration page (trunk's `dist/`), served at
    /// `/config/`. `None` serves the API only.
    pub page_dir: Option<PathBuf>,
    /// Origin of the local Teams host, such as `http://127.0.0.1:8080`, whose
    /// `/webhooks/` URLs are accepted besides Microsoft's. `None` (the default) accepts
    /// Microsoft webhook URLs only.
    pub dev_webhook_origin: Option<Url>,
}

/// Opens (creates, migrates) the database, then serves until `shutdown` resolves.
///
/// Requests in flight when `shutdown` resolves are finished before this returns.
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = listener
        .local_addr()
        .context("reading the listening address failed")?;
    let store = Store::open(&settings.database).await.with_context(|| {
        format!(
            "opening the database {} failed",
            settings.database.display()
        )
    })?;
    let app = app(store, &settings)?;

    tracing::info!(
        %address,
        database = %settings.database.display(),
        page_dir = settings.page_dir.as_ref().map(|dir| tracing::field::display(dir.display())),
        "connector backend started"
    );
    if let Some(origin) = &settings.dev_webhook_origin {
        tracing::warn!(
            origin = %origin.origin().ascii_serialization(),
            "accepting local development webhook URLs, which production must never do"
        );
    }

    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP failed")?;

    tracing::info!(%address, "connector backend stopped");
    Ok(())
}

/// Builds the router: the API, the page when a page directory is set, JSON 404 and 405
/// errors, and the request log around all of them.
pub fn app(store: Store, settings: &Settings) -> anyhow::Result<Router> {
    let state = ApiState {
        store,
        dev_webhook_origin: settings.dev_webhook_origin.clone(),
    };
    let mut router = api_routes(state);

    if let Some(page_dir) = &settings.page_dir {
        if !page_dir.is_dir() {
            bail!(
                "the page directory {} does not exist. Build the page with trunk or fix the path",
                page_dir.display()
            );
        }
        if !page_dir.join("index.html").is_file() {
            tracing::warn!(
                page_dir = %page_dir.display(),
                "the page directory has no index.html, so /config/ returns 404 until it is built"
            );
        }
        router = router.merge(page::page_routes(page_dir));
    }

    Ok(router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(request_log::log_request)))
}

//! Backend of the task notifications connector for Microsoft Teams.
//!
//! It stores the configurations that the configuration page saves (in SQLite), serves
//! their JSON API under `/api/` and serves the built page itself under `/config/`, all
//! on one origin. It accepts task events and delivers them as cards to the channels
//! whose configuration subscribes to them. [`serve`] is the entry point, used by the
//! binary and by tests.

pub mod auth;
pub mod cards;
pub mod configuration;
pub mod delivery;
pub mod error;
pub mod event_routes;
pub mod events;
pub mod extract;
pub mod framing;
pub mod migrations;
pub mod page;
pub mod request_log;
pub mod routes;
pub mod store;
pub mod validation;
pub mod webhook_url;

use std::fmt;
use std::future::Future;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::delivery::{DeliverySettings, RateWindow, TEAMS_RATE_WINDOWS};
use crate::delivery::{DeliveryWorker, WakeSignal};
pub use crate::framing::{DEFAULT_FRAME_ANCESTORS, FrameAncestors, FrameAncestorsError};
use crate::routes::{ApiState, api_routes, method_not_allowed, route_not_found};
use crate::store::Store;

/// Settings of one backend instance. `Debug` hides the events API key.
#[derive(Clone)]
pub struct Settings {
    /// SQLite database file. It is created when missing, but its directory must exist.
    pub database: PathBuf,
    /// Directory of the built configuration page (trunk's `dist/`), served at
    /// `/config/`. `None` serves the API only.
    pub page_dir: Option<PathBuf>,
    /// Origin of the local Teams host, such as `http://127.0.0.1:8080`, whose
    /// `/webhooks/` URLs are accepted besides Microsoft's. `None` (the default) accepts
    /// Microsoft webhook URLs only. It also turns on local delivery, which lets the
    /// delivery worker connect to loopback addresses.
    pub dev_webhook_origin: Option<Url>,
    /// Key that callers of the event endpoints send as `Authorization: Bearer <key>`.
    /// `None` turns the event endpoints off (503).
    pub events_api_key: Option<String>,
    /// Delivery worker settings.
    pub delivery: DeliverySettings,
    /// Origins that may frame the configuration page, sent as
    /// `Content-Security-Policy: frame-ancestors` on every response under `/config/`.
    /// `Default` is the Teams, Outlook and Microsoft 365 hosts. `dev_webhook_origin`,
    /// when set, is added, because the local Teams host frames the page from there.
    pub frame_ancestors: FrameAncestors,
}

impl fmt::Debug for Settings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Settings")
            .field("database", &self.database)
            .field("page_dir", &self.page_dir)
            .field("dev_webhook_origin", &self.dev_webhook_origin)
            .field(
                "events_api_key",
                &self.events_api_key.as_ref().map(|_| "<secret>"),
            )
            .field("delivery", &self.delivery)
            .field("frame_ancestors", &self.frame_ancestors)
            .finish()
    }
}

/// Opens (creates, migrates) the database, starts the delivery worker, then serves until
/// `shutdown` resolves.
///
/// Requests and delivery attempts in flight when `shutdown` resolves are finished before
/// this returns. Deliveries not yet attempted stay pending in the database, and the next
/// start sends them.
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
    let wake = WakeSignal::default();
    let app = app(store.clone(), &settings, wake.clone())?;
    let stop = CancellationToken::new();
    let worker = if settings.delivery.start_worker {
        let worker = DeliveryWorker::start(
            store,
            &settings.database,
            settings.delivery.clone(),
            settings.dev_webhook_origin.clone(),
            wake,
            stop.clone(),
        )
        .context("starting the delivery worker failed")?;
        Some(worker)
    } else {
        tracing::warn!("the delivery worker is off, so deliveries stay pending");
        None
    };

    tracing::info!(
        %address,
        database = %settings.database.display(),
        page_dir = settings.page_dir.as_ref().map(|dir| tracing::field::display(dir.display())),
        frame_ancestors = %settings.frame_ancestors,
        "connector backend started"
    );
    if let Some(origin) = &settings.dev_webhook_origin {
        tracing::warn!(
            origin = %origin.origin().ascii_serialization(),
            "accepting local development webhook URLs, which production must never do"
        );
    }

    if settings.events_api_key.is_none() {
        tracing::warn!("no events API key is set, so the event endpoints respond with 503");
    }

    let stop_worker = stop.clone();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop_worker.cancel();
        })
        .await
        .context("serving HTTP failed");

    // The worker also stops when serving failed, and finishes its attempts in flight.
    stop.cancel();
    if let Some(worker) = worker {
        worker.stopped().await;
    }
    served?;

    tracing::info!(%address, "connector backend stopped");
    Ok(())
}

/// Builds the router: the API, the page when a page directory is set, JSON 404 and 405
/// errors, and the request log around all of them.
pub fn app(store: Store, settings: &Settings, wake: WakeSignal) -> anyhow::Result<Router> {
    let state = ApiState {
        store,
        dev_webhook_origin: settings.dev_webhook_origin.clone(),
        events_api_key: auth::api_key_from_settings(settings.events_api_key.as_deref()),
        wake,
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
        let policy = settings
            .frame_ancestors
            .content_security_policy(settings.dev_webhook_origin.as_ref());
        router = router.merge(page::page_routes(page_dir, policy));
    }

    Ok(router
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(request_log::log_request)))
}

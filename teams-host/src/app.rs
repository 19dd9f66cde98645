//! Shared state of the request handlers and the router that joins the routes.

use std::sync::Arc;

use axum::Router;
use axum::http::HeaderValue;

use crate::connectors::ConnectorStore;
use crate::proxy::BackendProxy;
use crate::{channel_api, page, proxy, sample_event, webhooks};

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub connectors: Arc<ConnectorStore>,
    pub proxy: Arc<BackendProxy>,
    /// Path of the configuration page that the dialog loads, e.g. `/config/`.
    pub config_path: Arc<str>,
    /// `Authorization` value `Bearer <events API key>` for the backend's
    /// event endpoint, marked sensitive; `None` when no key is set.
    pub events_authorization: Option<HeaderValue>,
}

/// Builds the router of every route the host serves.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(page::routes())
        .merge(channel_api::routes())
        .merge(sample_event::routes())
        .merge(webhooks::routes())
        .merge(proxy::routes())
        .with_state(state)
}

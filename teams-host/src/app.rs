//! Shared state of the request handlers and the router that joins the routes.

use std::sync::Arc;

use axum::Router;

use crate::connectors::ConnectorStore;
use crate::proxy::BackendProxy;
use crate::{channel_api, page, proxy, webhooks};

/// State shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub connectors: Arc<ConnectorStore>,
    pub proxy: Arc<BackendProxy>,
    /// Path of the configuration page that the dialog loads, e.g. `/config/`.
    pub config_path: Arc<str>,
}

/// Builds the router of every route the host serves.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(page::routes())
        .merge(channel_api::routes())
        .merge(webhooks::routes())
        .merge(proxy::routes())
        .with_state(state)
}

//! The host page and its script and style sheet, embedded in the binary.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::app::AppState;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const HOST_JS: &str = include_str!("../assets/host.js");
const CARDS_JS: &str = include_str!("../assets/cards.js");
const HOST_CSS: &str = include_str!("../assets/host.css");

/// Routes `/`, `/host/host.js`, `/host/cards.js` and `/host/host.css`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| asset("text/html; charset=utf-8", INDEX_HTML)))
        .route(
            "/host/host.js",
            get(|| asset("text/javascript; charset=utf-8", HOST_JS)),
        )
        .route(
            "/host/cards.js",
            get(|| asset("text/javascript; charset=utf-8", CARDS_JS)),
        )
        .route(
            "/host/host.css",
            get(|| asset("text/css; charset=utf-8", HOST_CSS)),
        )
}

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    // The host is a development tool: a rebuilt binary must never meet a
    // cached older script.
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
}

//! Sample task events: the channel view sends one through the host, which adds
//! the events API key, so that the browser never receives the key.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::app::AppState;
use crate::error::ApiError;

/// Maximum sample event body, in bytes. The backend allows a description of
/// 20,000 characters, which is at most 80,000 bytes of UTF-8.
const MAX_SAMPLE_EVENT_BYTES: usize = 128 * 1024;

/// Route `POST /host/api/sample-event`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/host/api/sample-event", post(send_sample_event))
        .layer(DefaultBodyLimit::max(MAX_SAMPLE_EVENT_BYTES))
}

/// Forwards the body to the backend's `POST /api/events` with the events API
/// key and returns the backend's status and body unchanged. The backend
/// validates the event.
async fn send_sample_event(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(authorization) = state.events_authorization.clone() else {
        tracing::warn!("sample event rejected: no events API key is set");
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "events_disabled",
            "The local Teams host has no events API key, so it cannot send task events. Start it with --events-api-key or set TEAMS_HOST_EVENTS_API_KEY to the key the backend uses.",
        )
        .into_response();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            tracing::warn!(error = %rejection, "sample event body rejected");
            return ApiError::new(
                rejection.status(),
                "invalid_request",
                "The sample event body could not be read or is larger than 128 KiB. Send a smaller event.",
            )
            .into_response();
        }
    };

    let response = state.proxy.post_event(authorization, body).await;
    tracing::info!(
        status = response.status().as_u16(),
        "sample event sent to the backend"
    );
    response
}

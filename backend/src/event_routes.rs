//! Event API under `/api`: accepting task events and reading delivery states. Every
//! route requires the events API key.

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::EventsCaller;
use crate::delivery::outbox::{ConfigurationDeliveryView, DeliveryView};
use crate::error::ApiError;
use crate::events::{EventRequest, validate_event};
use crate::extract::{ConfigurationId, JsonBody, JsonShape};
use crate::routes::{ApiState, internal_error};
use crate::store::StoreError;

/// Returns the event routes with their body size limit.
pub fn event_routes() -> Router<ApiState> {
    Router::new()
        .route("/api/events", post(post_event))
        .route("/api/events/{event_id}/deliveries", get(event_deliveries))
        .route(
            "/api/configurations/{id}/deliveries",
            get(configuration_deliveries),
        )
        .layer(DefaultBodyLimit::max(EventRequest::MAX_BYTES))
}

/// Body of the `202` response to an accepted event.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct AcceptedEventBody {
    event_id: String,
    deliveries: usize,
}

async fn post_event(
    State(state): State<ApiState>,
    _caller: EventsCaller,
    JsonBody(request): JsonBody<EventRequest>,
) -> Result<(StatusCode, Json<AcceptedEventBody>), ApiError> {
    let event = validate_event(request).map_err(|error| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            error.code(),
            error.to_string(),
        )
    })?;
    let kind = event.kind;

    let accepted = state
        .store
        .insert_event(event)
        .await
        .map_err(|error| event_store_error(error, None, "storing the event failed"))?;
    if accepted.deliveries > 0 {
        state.wake.wake();
    }

    tracing::info!(
        event_id = %accepted.event_id,
        kind = kind.as_str(),
        deliveries = accepted.deliveries,
        "event accepted"
    );
    let body = AcceptedEventBody {
        event_id: accepted.event_id.hyphenated().to_string(),
        deliveries: accepted.deliveries,
    };
    Ok((StatusCode::ACCEPTED, Json(body)))
}

async fn event_deliveries(
    State(state): State<ApiState>,
    _caller: EventsCaller,
    EventId(event_id): EventId,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    let deliveries = state
        .store
        .event_deliveries(event_id)
        .await
        .map_err(|error| {
            event_store_error(
                error,
                Some(event_id),
                "reading the event's deliveries failed",
            )
        })?;

    match deliveries {
        Some(deliveries) => Ok(Json(deliveries)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No event has this id. Use the eventId from the answer to POST /api/events.",
        )),
    }
}

async fn configuration_deliveries(
    State(state): State<ApiState>,
    _caller: EventsCaller,
    ConfigurationId(id): ConfigurationId,
) -> Result<Json<Vec<ConfigurationDeliveryView>>, ApiError> {
    let deliveries = state
        .store
        .configuration_deliveries(id)
        .await
        .map_err(|error| {
            internal_error(error, id, "reading the configuration's deliveries failed")
        })?;

    deliveries
        .map(Json)
        .ok_or_else(|| ApiError::configuration_not_found(id))
}

/// Event id taken from the `{event_id}` path segment, rejected with 400 unless it is a
/// UUID.
struct EventId(Uuid);

impl<S> FromRequestParts<S> for EventId
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid_id = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_event_id",
                "The event id in the path is not a UUID. Use the eventId from the answer to \
                 POST /api/events.",
            )
        };
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid_id())?;

        Uuid::try_parse(&raw).map(Self).map_err(|_| invalid_id())
    }
}

/// Logs a store failure of an event route and returns the generic 500 error.
fn event_store_error(error: StoreError, event_id: Option<Uuid>, failure: &'static str) -> ApiError {
    let error = anyhow::Error::from(error);
    tracing::error!(
        event_id = event_id.map(tracing::field::display),
        error = format!("{error:#}"),
        "{failure}"
    );
    ApiError::internal()
}

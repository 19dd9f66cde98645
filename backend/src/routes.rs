//! JSON API under `/api`: configurations and health. The event routes are in
//! [`crate::event_routes`].

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;

use url::Url;

use crate::auth::ApiKey;
use crate::delivery::WakeSignal;
use crate::error::ApiError;
use crate::extract::{ConfigurationId, JsonBody, MAX_BODY_BYTES};
use crate::store::{Store, StoreError, UpsertOutcome};
use crate::validation::{ConfigurationRequest, validate_configuration};

/// Shared state of the API handlers.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    /// Origin whose `/webhooks/` URLs are accepted besides Microsoft's, for the local
    /// Teams host. `None` in production.
    pub dev_webhook_origin: Option<Url>,
    /// Key of the event endpoints. `None` turns them off.
    pub events_api_key: Option<Arc<ApiKey>>,
    /// Wakes the delivery worker after deliveries were stored.
    pub wake: WakeSignal,
}

/// Returns the API routes with their body size limit.
pub fn api_routes(state: ApiState) -> Router {
    // TODO: verify a Teams SSO token before accepting a configuration, because the API
    // now accepts requests from any caller that can reach it.
    Router::new()
        .route("/api/health", get(health))
        .route(
            "/api/configurations/{id}",
            get(get_configuration)
                .put(put_configuration)
                .delete(delete_configuration),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .merge(crate::event_routes::event_routes())
        .with_state(state)
}

/// Returns the `404 not_found` error for paths that match no route.
pub async fn route_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No route matches this path. Check the path against the API documentation.",
    )
}

/// Returns the `405 method_not_allowed` error for a known path with another method.
pub async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "This route does not accept {method}. Check the method against the API documentation."
        ),
    )
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn put_configuration(
    State(state): State<ApiState>,
    ConfigurationId(id): ConfigurationId,
    JsonBody(request): JsonBody<ConfigurationRequest>,
) -> Result<Response, ApiError> {
    let configuration = validate_configuration(id, request, state.dev_webhook_origin.as_ref())
        .map_err(|error| ApiError::from(error).for_configuration(id))?;
    let webhook_kind = configuration.webhook_url.kind();
    let event_type_count = configuration.event_types.len();

    let (outcome, view) = state
        .store
        .upsert(configuration)
        .await
        .map_err(|error| internal_error(error, id, "storing the configuration failed"))?;

    match outcome {
        UpsertOutcome::Created => {
            state.wake.wake();
            tracing::info!(
                configuration_id = %id,
                webhook_kind = webhook_kind.as_str(),
                event_type_count,
                "configuration created"
            );
            let location = format!("/api/configurations/{}", view.id);
            Ok((
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(view),
            )
                .into_response())
        }
        UpsertOutcome::Updated => {
            tracing::info!(
                configuration_id = %id,
                webhook_kind = webhook_kind.as_str(),
                event_type_count,
                "configuration updated"
            );
            Ok((StatusCode::OK, Json(view)).into_response())
        }
    }
}

async fn get_configuration(
    State(state): State<ApiState>,
    ConfigurationId(id): ConfigurationId,
) -> Result<Response, ApiError> {
    let view = state
        .store
        .find(id)
        .await
        .map_err(|error| internal_error(error, id, "reading the configuration failed"))?;

    match view {
        Some(view) => Ok(Json(view).into_response()),
        None => Err(ApiError::configuration_not_found(id)),
    }
}

async fn delete_configuration(
    State(state): State<ApiState>,
    ConfigurationId(id): ConfigurationId,
) -> Result<StatusCode, ApiError> {
    let deleted = state
        .store
        .delete(id)
        .await
        .map_err(|error| internal_error(error, id, "deleting the configuration failed"))?;

    if !deleted {
        return Err(ApiError::configuration_not_found(id));
    }
    tracing::info!(configuration_id = %id, "configuration deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Logs a store failure with its cause chain and returns the generic 500 error.
pub(crate) fn internal_error(error: StoreError, id: uuid::Uuid, failure: &'static str) -> ApiError {
    let error = anyhow::Error::from(error);
    tracing::error!(configuration_id = %id, error = format!("{error:#}"), "{failure}");
    ApiError::internal().for_configuration(id)
}

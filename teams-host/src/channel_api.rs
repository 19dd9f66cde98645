//! JSON API that the host page uses to keep the channel's connector instances.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::AppState;
use crate::behavior::WebhookBehavior;
use crate::connectors::{ConnectorView, InstanceNotFound};
use crate::context;
use crate::error::ApiError;

/// Routes under `/host/api/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/host/api/channel", get(channel))
        .route("/host/api/connectors", post(create_connector))
        .route(
            "/host/api/connectors/{instance_id}/settings",
            put(save_settings),
        )
        .route(
            "/host/api/connectors/{instance_id}/behavior",
            put(set_behavior),
        )
        .route(
            "/host/api/connectors/{instance_id}",
            delete(remove_connector),
        )
}

/// Body of `PUT /host/api/connectors/{instanceId}/behavior`.
#[derive(Deserialize)]
struct BehaviorRequest {
    behavior: WebhookBehavior,
}

/// The channel as the host page renders it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChannelView {
    context: TeamsContext,
    /// Path of the configuration page that the dialog loads.
    config_path: String,
    connectors: Vec<ConnectorView>,
}

/// The fixed part of the TeamsJS `getContext` reply, with the library's own
/// field names, so the page can send it as it is.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TeamsContext {
    tid: &'static str,
    team_id: &'static str,
    team_name: &'static str,
    group_id: &'static str,
    channel_id: &'static str,
    channel_name: &'static str,
    channel_type: &'static str,
    user_object_id: &'static str,
    user_principal_name: &'static str,
    login_hint: &'static str,
    locale: &'static str,
    theme: &'static str,
}

const TEAMS_CONTEXT: TeamsContext = TeamsContext {
    tid: context::TENANT_ID,
    team_id: context::TEAM_ID,
    team_name: context::TEAM_NAME,
    group_id: context::GROUP_ID,
    channel_id: context::CHANNEL_ID,
    channel_name: context::CHANNEL_NAME,
    channel_type: context::CHANNEL_TYPE,
    user_object_id: context::USER_OBJECT_ID,
    user_principal_name: context::USER_PRINCIPAL_NAME,
    login_hint: context::USER_PRINCIPAL_NAME,
    locale: context::LOCALE,
    theme: context::THEME,
};

async fn channel(State(state): State<AppState>) -> Json<ChannelView> {
    Json(ChannelView {
        context: TEAMS_CONTEXT,
        config_path: state.config_path.to_string(),
        connectors: state.connectors.list(),
    })
}

async fn create_connector(State(state): State<AppState>) -> (StatusCode, Json<ConnectorView>) {
    let view = state.connectors.create();
    tracing::info!(instance_id = %view.instance_id, "connector instance created");

    (StatusCode::CREATED, Json(view))
}

async fn save_settings(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<ConnectorView>, ApiError> {
    let Ok(Json(Value::Object(settings))) = body else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_settings",
            "The settings must be a JSON object, the one the configuration page passed to setConfig.",
        ));
    };
    let entity_id = match settings.get("entityId") {
        Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_entity_id",
                "The settings have no entityId. The configuration page must pass a non-empty entityId to setConfig.",
            ));
        }
    };

    let view = state
        .connectors
        .save_settings(&instance_id, settings)
        .map_err(|InstanceNotFound| instance_not_found(&instance_id))?;

    tracing::info!(%instance_id, %entity_id, "connector settings saved");
    Ok(Json(view))
}

async fn set_behavior(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<ConnectorView>, ApiError> {
    // serde would also read a struct from a JSON array, so the object shape
    // is checked first.
    let request = match body {
        Ok(Json(object @ Value::Object(_))) => serde_json::from_value(object).ok(),
        _ => None,
    };
    let Some(BehaviorRequest { behavior }) = request else {
        let names: Vec<&str> = WebhookBehavior::ALL.iter().map(|b| b.name()).collect();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_behavior",
            format!(
                "The body must be a JSON object {{\"behavior\": …}} naming one of these behaviours: {}.",
                names.join(", ")
            ),
        ));
    };

    let view = state
        .connectors
        .set_behavior(&instance_id, behavior)
        .map_err(|InstanceNotFound| instance_not_found(&instance_id))?;

    tracing::info!(%instance_id, behavior = behavior.name(), "webhook behaviour set");
    Ok(Json(view))
}

async fn remove_connector(
    State(state): State<AppState>,
    Path(instance_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .connectors
        .remove(&instance_id)
        .map_err(|InstanceNotFound| instance_not_found(&instance_id))?;

    tracing::info!(%instance_id, "connector instance removed");
    Ok(StatusCode::NO_CONTENT)
}

fn instance_not_found(instance_id: &str) -> ApiError {
    tracing::warn!(%instance_id, "connector instance not found");
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "No connector instance {instance_id} exists in this channel. Reload the page to see the current connectors."
        ),
    )
}

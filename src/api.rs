//! Client of the connector backend's JSON API.

use std::fmt;

use gloo_net::http::{Request, RequestBuilder, Response};
use gloo_timers::callback::Timeout;
use serde::{Deserialize, Serialize};
use web_sys::AbortController;

use crate::choice::EventType;
use crate::configuration_id::ConfigurationId;
use crate::i18n::{Language, Translations};

/// Seconds the page waits for the backend, well under the 30 seconds Teams
/// gives a save handler, so the user sees our reason rather than Teams'.
pub const REQUEST_TIMEOUT_SECONDS: u32 = 10;

/// The backend's address without a trailing slash, set at build time with
/// `CONNECTOR_API_BASE`; empty means the page's own origin.
const API_BASE: &str = match option_env!("CONNECTOR_API_BASE") {
    Some(base) => base,
    None => "",
};

/// The Teams context stored with a configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelContext {
    pub tenant_id: Option<String>,
    pub group_id: Option<String>,
    pub team_id: Option<String>,
    pub channel_id: Option<String>,
    pub user_object_id: Option<String>,
    pub app_type: Option<String>,
}

/// Body of `PUT /api/configurations/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationRequest {
    /// The channel's incoming webhook URL: a secret, never logged.
    pub webhook_url: String,
    pub event_types: Vec<EventType>,
    pub config_name: String,
    pub context: ChannelContext,
}

/// A stored configuration as the backend returns it, without its secrets.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationView {
    pub id: String,
    pub event_types: Vec<EventType>,
    pub config_name: String,
}

/// Error body of every failed API request.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// A failed request to the backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// The backend responded with an error status and an error body.
    Rejected {
        status: u16,
        code: String,
        message: String,
    },

    /// The backend, or something in front of it, responded with an error
    /// status and no error body.
    Status { status: u16 },

    /// The request got no response because the network or the service is down.
    Unreachable { detail: String },

    /// No response came within [`REQUEST_TIMEOUT_SECONDS`].
    TimedOut,

    /// The backend responded with 2xx and a body the page cannot parse.
    Malformed { detail: String },
}

impl ApiError {
    /// Returns the sentence shown to the user.
    ///
    /// The backend's own explanation is shown as it came.
    /// TODO: the backend writes its messages in English only; the page
    /// could send `Accept-Language` once the backend translates them.
    pub fn message(&self, translations: &Translations) -> String {
        match self {
            ApiError::Rejected { message, .. } => message.clone(),
            ApiError::Status { status } => translations.format("api.status", &[("status", status)]),
            ApiError::Unreachable { .. } => translations.text("api.unreachable"),
            ApiError::TimedOut => {
                translations.format("api.timed_out", &[("seconds", &REQUEST_TIMEOUT_SECONDS)])
            }
            ApiError::Malformed { .. } => translations.text("api.malformed"),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(Language::English.translations()))
    }
}

impl std::error::Error for ApiError {}

fn configuration_url(id: &ConfigurationId) -> String {
    format!("{API_BASE}/api/configurations/{id}")
}

/// Sends `request`, aborting it after [`REQUEST_TIMEOUT_SECONDS`], and maps
/// every non-2xx status into an [`ApiError`].
async fn send(request: RequestBuilder, body: Option<String>) -> Result<Response, ApiError> {
    let controller = AbortController::new().map_err(|_| ApiError::Unreachable {
        detail: "AbortController is not available".to_owned(),
    })?;
    let request = request
        .abort_signal(Some(&controller.signal()))
        .header("Accept", "application/json");
    let request = match body {
        Some(body) => request
            .header("Content-Type", "application/json")
            .body(body),
        None => request.build(),
    }
    .map_err(|error| ApiError::Unreachable {
        detail: error.to_string(),
    })?;

    // Dropping the timer cancels it, so the abort only fires while the
    // request is still pending.
    let abort_controller = controller.clone();
    let _deadline = Timeout::new(REQUEST_TIMEOUT_SECONDS * 1_000, move || {
        abort_controller.abort();
    });

    let response = match request.send().await {
        Ok(response) => response,
        Err(_) if controller.signal().aborted() => return Err(ApiError::TimedOut),
        Err(error) => {
            return Err(ApiError::Unreachable {
                detail: error.to_string(),
            });
        }
    };

    if response.ok() {
        return Ok(response);
    }

    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(ErrorBody { code, message }) => Err(ApiError::Rejected {
            status,
            code,
            message,
        }),
        Err(_) if controller.signal().aborted() => Err(ApiError::TimedOut),
        Err(_) => Err(ApiError::Status { status }),
    }
}

/// Creates or updates the configuration `id` (`PUT`).
pub async fn save_configuration(
    id: &ConfigurationId,
    request: &ConfigurationRequest,
) -> Result<(), ApiError> {
    let body = serde_json::to_string(request).map_err(|error| ApiError::Malformed {
        detail: error.to_string(),
    })?;
    send(Request::put(&configuration_url(id)), Some(body)).await?;
    Ok(())
}

/// Reads the configuration `id`, or `None` when the backend has none.
pub async fn load_configuration(
    id: &ConfigurationId,
) -> Result<Option<ConfigurationView>, ApiError> {
    let response = match send(Request::get(&configuration_url(id)), None).await {
        Ok(response) => response,
        Err(ApiError::Rejected { status: 404, .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    response
        .json::<ConfigurationView>()
        .await
        .map(Some)
        .map_err(|error| ApiError::Malformed {
            detail: error.to_string(),
        })
}

/// Deletes the configuration `id`. A configuration that is already gone
/// counts as deleted.
pub async fn delete_configuration(id: &ConfigurationId) -> Result<(), ApiError> {
    match send(Request::delete(&configuration_url(id)), None).await {
        Ok(_) | Err(ApiError::Rejected { status: 404, .. }) => Ok(()),
        Err(error) => Err(error),
    }
}

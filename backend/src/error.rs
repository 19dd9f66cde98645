//! JSON error responses of the API: `{"code": "...", "message": "..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use crate::validation::ValidationError;

/// Error that a handler or extractor returns, sent as a JSON body with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    /// snake_case code that clients can match on.
    pub code: &'static str,
    /// Sentence that states what was wrong and what to do. The page shows it verbatim.
    pub message: String,
    /// Configuration that the request was about, when the id in the path was valid.
    pub configuration_id: Option<Uuid>,
}

/// Code and configuration id of an error response, stored in the response extensions
/// so that the request log can record them without reading the body.
#[derive(Debug, Clone, Copy)]
pub struct ErrorDetails {
    pub code: &'static str,
    pub configuration_id: Option<Uuid>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// Creates an error that is not tied to one configuration.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            configuration_id: None,
        }
    }

    /// Returns the error with the id of the configuration it concerns, for the log.
    pub fn for_configuration(mut self, id: Uuid) -> Self {
        self.configuration_id = Some(id);
        self
    }

    /// Creates the `404 not_found` error for a configuration id with no stored row.
    pub fn configuration_not_found(id: Uuid) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No configuration has this id. Save the connector configuration in Microsoft Teams \
             first.",
        )
        .for_configuration(id)
    }

    /// Creates the `500 internal_error` error. The cause goes to the log, never to the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The server could not complete the request. Try again, and report the problem if \
             it persists.",
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        let status = match error {
            ValidationError::InvalidId => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, error.code(), error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
        };
        let mut response = (self.status, Json(body)).into_response();

        response.extensions_mut().insert(ErrorDetails {
            code: self.code,
            configuration_id: self.configuration_id,
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_id_is_bad_request() {
        let error = ApiError::from(ValidationError::InvalidId);

        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.code, "invalid_id");
    }

    #[test]
    fn field_errors_are_unprocessable() {
        let error = ApiError::from(ValidationError::NoEventTypes);

        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code, "invalid_event_types");
    }

    #[test]
    fn response_carries_details_for_log() {
        let id = Uuid::new_v4();

        let response = ApiError::configuration_not_found(id).into_response();
        let details = response.extensions().get::<ErrorDetails>().unwrap();

        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(details.code, "not_found");
        assert_eq!(details.configuration_id, Some(id));
    }
}

//! Extractors whose rejections are JSON errors in the API's format.

use std::error::Error as StdError;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;
use crate::validation::{ValidationError, parse_configuration_id};

/// Maximum size of a configuration request body in bytes. A configuration is well under
/// 4 KiB.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// serde_json error together with the path of the field where it happened.
type PathError = serde_path_to_error::Error<serde_json::Error>;

/// Request body type together with the texts that its error messages use.
pub trait JsonShape: DeserializeOwned {
    /// Fields of the body and their types, appended to shape errors.
    const SHAPE: &'static str;
    /// Next step after a JSON syntax error.
    const SYNTAX_HINT: &'static str;
    /// Maximum size of the body in bytes. The route must apply it with
    /// `DefaultBodyLimit`.
    const MAX_BYTES: usize;
    /// Next step after a body over [`Self::MAX_BYTES`].
    const TOO_LARGE_HINT: &'static str;
}

/// JSON object request body. It rejects a missing content type with 415, a body over
/// `T::MAX_BYTES` with 413, invalid JSON with 400 and a wrong shape with 422.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: JsonShape,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state)
            .await
            .map_err(|rejection| json_rejection_error::<T>(&rejection))?;

        // serde's derived structs also accept a JSON array of the field values in
        // order, so the shape is checked before the fields.
        if !value.is_object() {
            return Err(invalid_body(format!(
                "The request body must be a JSON object. {}",
                T::SHAPE
            )));
        }
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|error| invalid_body(data_error_message(&error, T::SHAPE)))
    }
}

/// Configuration id taken from the `{id}` path segment, rejected with 400 unless it is
/// a UUID.
pub struct ConfigurationId(pub Uuid);

impl<S> FromRequestParts<S> for ConfigurationId
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid_id = || ApiError::from(ValidationError::InvalidId);
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| invalid_id())?;

        parse_configuration_id(&raw)
            .map(Self)
            .map_err(|_| invalid_id())
    }
}

/// Maps a rejection of axum's `Json` extractor to an API error.
///
/// The messages are built here, not taken from axum, because serde's messages for a
/// wrong type repeat the offending value, which could be the webhook URL.
fn json_rejection_error<T: JsonShape>(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be JSON. Send it with the header Content-Type: \
             application/json.",
        ),
        JsonRejection::JsonSyntaxError(error) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!(
                "The request body is not valid JSON ({}). {}",
                syntax_error_description(error),
                T::SYNTAX_HINT
            ),
        ),
        JsonRejection::JsonDataError(_) => invalid_body(format!(
            "The request body does not have the expected fields. {}",
            T::SHAPE
        )),
        rejection if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "The request body is larger than {} KiB. {}",
                T::MAX_BYTES / 1024,
                T::TOO_LARGE_HINT
            ),
        ),
        rejection => ApiError::new(
            rejection.status(),
            "invalid_body",
            "The request body could not be read. Send the request again.",
        ),
    }
}

/// Describes a JSON syntax error by serde_json's message, such as "expected value at
/// line 1 column 1". Syntax messages never contain the input.
fn syntax_error_description(error: &(dyn StdError + 'static)) -> String {
    if let Some(path_error) = find_path_error(error) {
        return path_error.inner().to_string();
    }
    let mut source = error.source();
    while let Some(error) = source {
        if let Some(json_error) = error.downcast_ref::<serde_json::Error>() {
            return json_error.to_string();
        }
        source = error.source();
    }
    "unknown syntax error".to_owned()
}

fn invalid_body(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", message)
}

/// Builds the message for a JSON object that is not a configuration. It names the field
/// but never repeats the value, because serde's messages for a wrong type do.
fn data_error_message(error: &PathError, shape: &str) -> String {
    let inner = error.inner().to_string();
    if let Some(field) = missing_field_name(&inner) {
        return format!("The request body has no \"{field}\" field. {shape}");
    }

    let path = error.path().to_string();
    format!("The field \"{path}\" in the request body has the wrong type. {shape}")
}

/// Returns the field name from serde's "missing field `name`" message.
fn missing_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// Walks the source chain of a rejection to the serde_path_to_error error that axum's
/// `Json` extractor wraps around serde_json's error.
fn find_path_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a PathError> {
    let mut source = error.source();
    while let Some(error) = source {
        if let Some(path_error) = error.downcast_ref::<PathError>() {
            return Some(path_error);
        }
        source = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        webhook_url: String,
        event_types: Vec<String>,
    }

    impl JsonShape for Sample {
        const SHAPE: &'static str = "webhookUrl is a string and eventTypes a list of strings.";
        const SYNTAX_HINT: &'static str = "Send a JSON object.";
        const MAX_BYTES: usize = MAX_BODY_BYTES;
        const TOO_LARGE_HINT: &'static str = "Send less.";
    }

    async fn extract(content_type: Option<&str>, body: &str) -> Result<Sample, ApiError> {
        let mut builder = Request::builder().method("PUT").uri("/");
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let request = builder.body(Body::from(body.to_owned())).unwrap();

        JsonBody::<Sample>::from_request(request, &())
            .await
            .map(|JsonBody(sample)| sample)
    }

    async fn rejection(content_type: Option<&str>, body: &str) -> ApiError {
        extract(content_type, body).await.unwrap_err()
    }

    #[tokio::test]
    async fn accepts_valid_json() {
        let body = r#"{"webhookUrl": "https://a.example", "eventTypes": ["created"]}"#;

        let sample = extract(Some("application/json"), body).await.unwrap();

        assert_eq!(sample.webhook_url, "https://a.example");
        assert_eq!(sample.event_types, vec!["created".to_owned()]);
    }

    #[tokio::test]
    async fn missing_content_type_is_415() {
        let error = rejection(None, "{}").await;

        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(error.code, "unsupported_media_type");
    }

    #[tokio::test]
    async fn wrong_content_type_is_415() {
        let error = rejection(Some("text/plain"), "{}").await;

        assert_eq!(error.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[tokio::test]
    async fn syntax_error_is_400_with_position() {
        let error = rejection(Some("application/json"), r#"{"webhookUrl": "#).await;

        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(error.code, "invalid_json");
        assert!(error.message.contains("line 1 column"), "{}", error.message);
    }

    #[tokio::test]
    async fn trailing_characters_are_400() {
        let body = r#"{"webhookUrl": "x", "eventTypes": []} extra"#;

        let error = rejection(Some("application/json"), body).await;

        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(
            error.message.contains("trailing characters"),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn missing_field_is_422_naming_field() {
        let body = r#"{"webhookUrl": "https://a.example"}"#;

        let error = rejection(Some("application/json"), body).await;

        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error.code, "invalid_body");
        assert!(
            error.message.contains("\"eventTypes\""),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn wrong_type_names_path() {
        let body = r#"{"webhookUrl": "x", "eventTypes": ["created", 7]}"#;

        let error = rejection(Some("application/json"), body).await;

        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            error.message.contains("\"eventTypes[1]\""),
            "{}",
            error.message
        );
    }

    #[tokio::test]
    async fn string_for_list_not_repeated() {
        let body = r#"{"webhookUrl": "x", "eventTypes": "https://secret.example/hook"}"#;

        let error = rejection(Some("application/json"), body).await;

        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!error.message.contains("secret"), "{}", error.message);
    }

    #[tokio::test]
    async fn non_object_body_is_422() {
        let error = rejection(Some("application/json"), "[1, 2]").await;

        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(error.message.contains("JSON object"), "{}", error.message);
    }

    #[test]
    fn missing_field_name_parses_serde_message() {
        assert_eq!(
            missing_field_name("missing field `configName` at line 1 column 2"),
            Some("configName")
        );
        assert_eq!(missing_field_name("invalid type: null"), None);
    }
}

//! Incoming webhook endpoint that plays the part of a Teams channel's webhook
//! URL.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::app::AppState;
use crate::connectors::DeliveryError;

/// Maximum webhook request body, in bytes.
///
/// NOTE: Microsoft documents the limit as 28 KB without saying whether a KB is
/// 1,000 or 1,024 bytes. This host accepts up to 28,672 bytes.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 28 * 1024;

/// Route `POST /webhooks/{token}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{token}", post(receive_post))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
}

/// Stores a post and returns `200` with body `1`, as a legacy Teams webhook
/// does. The token is a secret, so no log line contains it.
async fn receive_post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(error) = state.connectors.check_token(&token) {
        return delivery_error_response(error);
    }

    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            tracing::warn!(
                limit_bytes = MAX_WEBHOOK_BODY_BYTES,
                "webhook post rejected: body too large"
            );
            return text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The message is larger than 28 KB, the maximum a Teams webhook accepts. Send a smaller message.",
            );
        }
        Err(rejection) => {
            tracing::warn!(error = %rejection, "webhook post rejected: body unreadable");
            return text_response(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
            );
        }
    };

    let message = match parse_message(&body) {
        Ok(message) => message,
        Err(reason) => {
            tracing::warn!(reason, "webhook post rejected: invalid message");
            return text_response(StatusCode::BAD_REQUEST, reason);
        }
    };

    match state.connectors.record_post(&token, message) {
        Ok(instance_id) => {
            tracing::info!(%instance_id, bytes = body.len(), "webhook post stored");
            text_response(StatusCode::OK, "1")
        }
        Err(error) => delivery_error_response(error),
    }
}

/// Parses a webhook body and applies the checks that Teams applies before it
/// accepts a message. Returns the body unchanged, or the error text Teams
/// sends for a rejected body.
fn parse_message(body: &[u8]) -> Result<Box<RawValue>, &'static str> {
    const BAD_PAYLOAD: &str = "Bad payload received by generic incoming webhook.";
    let message: Value = serde_json::from_slice(body).map_err(|_| BAD_PAYLOAD)?;

    // Teams rejects a MessageCard that has neither field. Adaptive Card
    // envelopes (`"type": "message"`) have no such rule.
    if message.get("@type").and_then(Value::as_str) == Some("MessageCard") {
        let has_text = |field: &str| {
            message
                .get(field)
                .and_then(Value::as_str)
                .is_some_and(|text| !text.trim().is_empty())
        };
        if !has_text("summary") && !has_text("text") {
            return Err("Summary or Text is required.");
        }
    }

    // The body parsed as JSON above, so it is UTF-8 and a valid raw value.
    let text = String::from_utf8(body.to_vec()).map_err(|_| BAD_PAYLOAD)?;
    RawValue::from_string(text).map_err(|_| BAD_PAYLOAD)
}

fn delivery_error_response(error: DeliveryError) -> Response {
    match error {
        DeliveryError::UnknownToken => {
            tracing::warn!("webhook post rejected: no connector has this webhook URL");
            text_response(
                StatusCode::NOT_FOUND,
                "No connector has this webhook URL. Configure the connector again to get a new one.",
            )
        }
        DeliveryError::Removed => {
            tracing::info!("webhook post rejected: the connector was removed");
            text_response(
                StatusCode::GONE,
                "The connector that owned this webhook URL was removed. Stop sending to it.",
            )
        }
    }
}

fn text_response(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_card_needs_summary_or_text() {
        let body = br#"{"@type": "MessageCard", "title": "t"}"#;

        assert_eq!(
            parse_message(body).unwrap_err(),
            "Summary or Text is required."
        );
    }

    #[test]
    fn message_card_with_summary_accepted() {
        let body = br#"{"@type": "MessageCard", "summary": "Task \"A\" created"}"#;

        let message = parse_message(body).unwrap();

        assert_eq!(message.get(), std::str::from_utf8(body).unwrap());
    }

    #[test]
    fn adaptive_card_envelope_accepted() {
        let body = br#"{"type": "message", "attachments": []}"#;

        assert!(parse_message(body).is_ok());
    }

    #[test]
    fn invalid_json_rejected() {
        assert_eq!(
            parse_message(b"not json").unwrap_err(),
            "Bad payload received by generic incoming webhook."
        );
    }
}

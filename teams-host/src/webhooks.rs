//! Incoming webhook endpoint that plays the part of a Teams channel's webhook
//! URL.

use std::sync::Arc;

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
use crate::behavior::{SLOW_RESPONSE_DELAY, WebhookBehavior, WebhookResponse};
use crate::connectors::{ConnectorStore, DeliveryError, PostResponse, PostTicket, ReceivedBody};

/// Maximum webhook request body, in bytes.
///
/// NOTE: Microsoft documents the limit as 28 KB without saying whether a KB is
/// 1,000 or 1,024 bytes. This host accepts up to 28,672 bytes.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 28 * 1024;

/// Route `POST /webhooks/{token}`. A body above [`MAX_WEBHOOK_BODY_BYTES`] is
/// not read and gets `413`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/{token}", post(receive_post))
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY_BYTES))
}

/// Stores a post and responds to it as the connector's webhook behaviour
/// sets, by default `200` with body `1` as a legacy Teams webhook does. The
/// token is a secret, so no log line contains it.
async fn receive_post(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(error) = state.connectors.check_token(&token) {
        return delivery_error_response(error);
    }

    // The response that `ok` and `slow` give, which depends on the payload.
    let (received, payload_response) = match body {
        Ok(bytes) => {
            let received = read_body(&bytes);
            let response = match check_message(&received) {
                Ok(()) => WebhookResponse::delivered(),
                Err(reason) => WebhookResponse::new(StatusCode::BAD_REQUEST, reason),
            };
            (received, response)
        }
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            (ReceivedBody::NotRead, WebhookResponse::too_large())
        }
        Err(rejection) => {
            tracing::warn!(error = %rejection, "webhook post body unreadable");
            let response = WebhookResponse::new(
                StatusCode::BAD_REQUEST,
                "The request body could not be read.",
            );
            (ReceivedBody::NotRead, response)
        }
    };

    let ticket = match state.connectors.record_post(&token, received) {
        Ok(ticket) => ticket,
        Err(error) => return delivery_error_response(error),
    };
    let response = match ticket.behavior.fixed_response() {
        Some(response) => response,
        None if ticket.behavior == WebhookBehavior::Slow => {
            respond_slowly(&state, &ticket, payload_response).await
        }
        None => payload_response,
    };

    state
        .connectors
        .record_response(&ticket, (&response).into());
    tracing::info!(
        instance_id = %ticket.instance_id,
        post_id = ticket.post_id,
        behavior = ticket.behavior.name(),
        status = response.status.as_u16(),
        "webhook post responded to"
    );
    text_response(response)
}

/// Waits [`SLOW_RESPONSE_DELAY`] and returns `response`. When the sender gives
/// up first, hyper drops this future and the post is marked abandoned.
///
/// NOTE: a graceful shutdown waits for open requests, so it can take up to
/// 20 seconds while a slow post waits.
async fn respond_slowly(
    state: &AppState,
    ticket: &PostTicket,
    response: WebhookResponse,
) -> WebhookResponse {
    let mut guard = AbandonGuard {
        store: Arc::clone(&state.connectors),
        ticket: ticket.clone(),
        responded: false,
    };
    tracing::info!(
        instance_id = %ticket.instance_id,
        post_id = ticket.post_id,
        delay_seconds = SLOW_RESPONSE_DELAY.as_secs(),
        "webhook post waits before its response"
    );

    tokio::time::sleep(SLOW_RESPONSE_DELAY).await;
    guard.responded = true;
    response
}

/// Marks a pending post abandoned when its request future is dropped before
/// the response, which happens when the sender closes the connection.
struct AbandonGuard {
    store: Arc<ConnectorStore>,
    ticket: PostTicket,
    responded: bool,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if self.responded {
            return;
        }
        self.store
            .record_response(&self.ticket, PostResponse::Abandoned);
        tracing::info!(
            instance_id = %self.ticket.instance_id,
            post_id = self.ticket.post_id,
            "webhook sender closed the connection before the response"
        );
    }
}

/// Keeps a body as JSON exactly as received when it parses, else as text.
fn read_body(body: &[u8]) -> ReceivedBody {
    match std::str::from_utf8(body) {
        Ok(text) => match serde_json::from_str::<Box<RawValue>>(text) {
            Ok(json) => ReceivedBody::Json(json),
            Err(_) => ReceivedBody::Text(text.to_owned()),
        },
        Err(_) => ReceivedBody::Text(String::from_utf8_lossy(body).into_owned()),
    }
}

/// Applies the checks that Teams applies before it accepts a message, and
/// returns the error text Teams sends for a rejected body.
fn check_message(body: &ReceivedBody) -> Result<(), &'static str> {
    const BAD_PAYLOAD: &str = "Bad payload received by generic incoming webhook.";
    let ReceivedBody::Json(raw) = body else {
        return Err(BAD_PAYLOAD);
    };
    let message: Value = serde_json::from_str(raw.get()).map_err(|_| BAD_PAYLOAD)?;

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
    Ok(())
}

fn delivery_error_response(error: DeliveryError) -> Response {
    match error {
        DeliveryError::UnknownToken => {
            tracing::warn!("webhook post rejected: no connector has this webhook URL");
            text_response(WebhookResponse::not_found())
        }
        DeliveryError::Removed => {
            tracing::info!("webhook post rejected: the connector was removed");
            text_response(WebhookResponse::gone())
        }
    }
}

fn text_response(response: WebhookResponse) -> Response {
    (
        response.status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        response.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &[u8]) -> Result<(), &'static str> {
        check_message(&read_body(body))
    }

    #[test]
    fn message_card_needs_summary_or_text() {
        let body = br#"{"@type": "MessageCard", "title": "t"}"#;

        assert_eq!(check(body).unwrap_err(), "Summary or Text is required.");
    }

    #[test]
    fn message_card_with_summary_accepted() {
        let body = br#"{"@type": "MessageCard", "summary": "Task \"A\" created"}"#;

        assert!(check(body).is_ok());
        let ReceivedBody::Json(json) = read_body(body) else {
            panic!("body not read as JSON");
        };
        assert_eq!(json.get(), std::str::from_utf8(body).unwrap());
    }

    #[test]
    fn adaptive_card_envelope_accepted() {
        let body = br#"{"type": "message", "attachments": []}"#;

        assert!(check(body).is_ok());
    }

    #[test]
    fn invalid_json_rejected_and_kept_as_text() {
        assert_eq!(
            check(b"not json").unwrap_err(),
            "Bad payload received by generic incoming webhook."
        );
        assert!(matches!(read_body(b"not json"), ReceivedBody::Text(text) if text == "not json"));
    }

    #[test]
    fn invalid_utf8_kept_as_text() {
        let ReceivedBody::Text(text) = read_body(b"caf\xe9") else {
            panic!("body not read as text");
        };

        assert_eq!(text, "caf\u{fffd}");
    }
}

//! Webhook behaviours: the responses a connector's webhook URL sends, chosen
//! per connector instance in the channel view, so that a person can watch how
//! the backend handles each response a Teams webhook can send.

use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Time a webhook with the `slow` behaviour waits before it responds.
pub const SLOW_RESPONSE_DELAY: Duration = Duration::from_secs(20);

/// Behaviour of a connector's webhook URL: the response it sends to posts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookBehavior {
    /// Checks the payload as Teams does and responds `200` with body `1`.
    #[default]
    Ok,
    /// Responds `200` with a body that reports HTTP error 429, as the legacy
    /// endpoint does when it throttles.
    #[serde(rename = "throttled-in-200")]
    ThrottledIn200,
    /// Responds `429 Too Many Requests`.
    TooManyRequests,
    /// Responds `410 Gone`, as for a connector removed in Teams.
    Gone,
    /// Responds `404 Not Found`, as for a deleted channel or webhook.
    NotFound,
    /// Responds `413 Payload Too Large` whatever the size.
    PayloadTooLarge,
    /// Responds `200` with a body that reports HTTP error 400, as the legacy
    /// endpoint does for a payload Teams rejects.
    #[serde(rename = "bad-request-in-200")]
    BadRequestIn200,
    /// Responds `500 Internal Server Error`.
    ServerError,
    /// Waits [`SLOW_RESPONSE_DELAY`], then responds like `ok`.
    Slow,
}

impl WebhookBehavior {
    /// Every behaviour, in the order the channel view lists them.
    pub const ALL: [Self; 9] = [
        Self::Ok,
        Self::ThrottledIn200,
        Self::TooManyRequests,
        Self::Gone,
        Self::NotFound,
        Self::PayloadTooLarge,
        Self::BadRequestIn200,
        Self::ServerError,
        Self::Slow,
    ];

    /// Returns the name used in the JSON API, e.g. `throttled-in-200`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ThrottledIn200 => "throttled-in-200",
            Self::TooManyRequests => "too-many-requests",
            Self::Gone => "gone",
            Self::NotFound => "not-found",
            Self::PayloadTooLarge => "payload-too-large",
            Self::BadRequestIn200 => "bad-request-in-200",
            Self::ServerError => "server-error",
            Self::Slow => "slow",
        }
    }

    /// Returns the response of a behaviour that responds to every post alike, or
    /// `None` for `ok` and `slow`, whose response depends on the payload.
    pub fn fixed_response(self) -> Option<WebhookResponse> {
        match self {
            Self::Ok | Self::Slow => None,
            Self::ThrottledIn200 => Some(WebhookResponse::new(
                StatusCode::OK,
                format!(
                    "Microsoft Teams endpoint returned HTTP error 429 with ContextId {}.",
                    context_id()
                ),
            )),
            // NOTE: Microsoft documents no body for this status, so the text
            // is the host's own.
            Self::TooManyRequests => Some(WebhookResponse::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests were sent to this webhook. Wait, then retry with backoff.",
            )),
            Self::Gone => Some(WebhookResponse::gone()),
            Self::NotFound => Some(WebhookResponse::not_found()),
            Self::PayloadTooLarge => Some(WebhookResponse::too_large()),
            Self::BadRequestIn200 => Some(WebhookResponse::new(
                StatusCode::OK,
                format!(
                    "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 400 with ContextId {}.",
                    context_id()
                ),
            )),
            Self::ServerError => Some(WebhookResponse::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The webhook failed with an internal server error. Retry later.",
            )),
        }
    }
}

/// Status and plain-text body of a webhook URL's response to a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookResponse {
    pub status: StatusCode,
    pub body: String,
}

impl WebhookResponse {
    pub fn new(status: StatusCode, body: impl Into<String>) -> Self {
        Self {
            status,
            body: body.into(),
        }
    }

    /// `200` with body `1`: the legacy webhook delivered the message.
    pub fn delivered() -> Self {
        Self::new(StatusCode::OK, "1")
    }

    pub fn gone() -> Self {
        Self::new(
            StatusCode::GONE,
            "The connector that owned this webhook URL was removed. Stop sending to it.",
        )
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "No connector has this webhook URL. Configure the connector again to get a new one.",
        )
    }

    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "The message is larger than 28 KB, the maximum a Teams webhook accepts. Send a smaller message.",
        )
    }
}

/// Makes a value in the shape of the `ContextId` that Teams puts in its error
/// bodies, e.g. `tcid=0,server=local-teams-host,cv=3f2a….0`.
fn context_id() -> String {
    format!(
        "tcid=0,server=local-teams-host,cv={}.0",
        Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for behavior in WebhookBehavior::ALL {
            let json = serde_json::to_value(behavior).unwrap();

            assert_eq!(json, behavior.name());
            assert_eq!(
                serde_json::from_value::<WebhookBehavior>(json).unwrap(),
                behavior
            );
        }
    }

    #[test]
    fn only_ok_and_slow_check_payload() {
        for behavior in WebhookBehavior::ALL {
            let checks_payload = matches!(behavior, WebhookBehavior::Ok | WebhookBehavior::Slow);

            assert_eq!(behavior.fixed_response().is_none(), checks_payload);
        }
    }

    #[test]
    fn throttled_body_reports_429() {
        let response = WebhookBehavior::ThrottledIn200.fixed_response().unwrap();

        assert_eq!(response.status, StatusCode::OK);
        assert!(
            response
                .body
                .starts_with("Microsoft Teams endpoint returned HTTP error 429 with ContextId ")
        );
    }
}

//! API key of the event endpoints, sent as `Authorization: Bearer <key>`.

use std::fmt;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::routes::ApiState;

/// Key that callers of the event endpoints must present. Only its SHA-256 digest is
/// kept, and `Debug` prints nothing of it.
#[derive(Clone)]
pub struct ApiKey {
    digest: [u8; 32],
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ApiKey(<secret>)")
    }
}

impl ApiKey {
    pub fn new(key: &str) -> Self {
        Self {
            digest: Sha256::digest(key.as_bytes()).into(),
        }
    }

    /// Returns whether `candidate` is the key. The time taken does not depend on where
    /// the two differ, because both are hashed to 32 bytes that are compared in full.
    pub fn matches(&self, candidate: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        let difference = self
            .digest
            .iter()
            .zip(candidate.iter())
            .fold(0u8, |difference, (left, right)| difference | (left ^ right));
        std::hint::black_box(difference) == 0
    }
}

/// Proof that the request carried the events API key. Extract it before the body, so
/// that an unauthenticated request learns nothing about validation.
pub struct EventsCaller;

impl FromRequestParts<ApiState> for EventsCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        let Some(key) = &state.events_api_key else {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "events_disabled",
                "The event API is turned off because no API key is set. Set \
                 CONNECTOR_EVENTS_API_KEY (or --events-api-key) and restart the backend.",
            ));
        };

        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(bearer_token);
        match presented {
            Some(token) if key.matches(token) => Ok(Self),
            _ => Err(unauthorized()),
        }
    }
}

/// Returns the token of a `Bearer` authorization header. The scheme is case-insensitive.
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    Some(token.trim())
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "The request has no valid API key. Send the events API key in the header \
         Authorization: Bearer <key>.",
    )
}

/// Wraps the key of the settings, when there is one.
pub fn api_key_from_settings(key: Option<&str>) -> Option<Arc<ApiKey>> {
    key.map(|key| Arc::new(ApiKey::new(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_matches_only_itself() {
        let key = ApiKey::new("s3cret-key");

        assert!(key.matches("s3cret-key"));
        assert!(!key.matches("s3cret-kez"));
        assert!(!key.matches("s3cret-key "));
        assert!(!key.matches(""));
    }

    #[test]
    fn debug_hides_key() {
        let debug = format!("{:?}", ApiKey::new("s3cret-key"));

        assert!(!debug.contains("s3cret"), "{debug}");
    }

    #[test]
    fn bearer_token_parsing() {
        let cases = [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("abc", None),
        ];
        for (header, expected) in cases {
            let value = HeaderValue::from_str(header).unwrap();

            assert_eq!(bearer_token(&value), expected, "{header}");
        }
    }
}

//! Classification of a webhook's HTTP response into what the worker does next.
//!
//! Legacy Teams webhooks report some failures inside a `200` response, with a body such
//! as `Microsoft Teams endpoint returned HTTP error 429 with ContextId ...`, so the body
//! matters as much as the status.

use std::time::Duration;

/// Maximum number of body characters copied into a delivery's `last_error`.
const MAX_BODY_EXCERPT_CHARS: usize = 200;

/// Result of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The webhook accepted the card.
    Delivered,
    /// Teams throttled the webhook: retry later, after `retry_after` when Teams gave it.
    Throttled {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// A failure that may pass, such as a 5xx response or a timeout: retry with backoff
    /// up to the maximum number of attempts.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The webhook rejected this card, and sending it again would fail the same way.
    Permanent { reason: String },
    /// The webhook or its channel no longer exists: deactivate the configuration.
    Gone { reason: String },
}

/// Classifies a response by its status, its body (read up to a few KiB) and its
/// `Retry-After` header.
///
/// | response | outcome |
/// | --- | --- |
/// | 200 with body `1`, or any other 200 without `HTTP error` | delivered |
/// | 200 with `HTTP error 429` | throttled |
/// | 200 with `HTTP error 5xx` or `HTTP error 408` | transient |
/// | 200 with `HTTP error` and another code, such as 400 or 413 | permanent |
/// | other 2xx, such as a Workflows 202 | delivered |
/// | 3xx | permanent, because redirects are not followed |
/// | 404, 410 | gone |
/// | 408, 425 | transient |
/// | 429 | throttled |
/// | other 4xx, such as 400, 401, 403, 413 | permanent |
/// | 5xx | transient |
pub fn classify(status: u16, body: &str, retry_after: Option<Duration>) -> Outcome {
    match status {
        200 => classify_ok_body(body),
        201..=299 => Outcome::Delivered,
        300..=399 => Outcome::Permanent {
            reason: format!(
                "the webhook answered HTTP {status} with a redirect, which is not followed"
            ),
        },
        404 | 410 => Outcome::Gone {
            reason: format!(
                "the webhook answered HTTP {status}, so the connector or its channel was removed"
            ),
        },
        408 | 425 => Outcome::Transient {
            reason: format!("the webhook answered HTTP {status}"),
            retry_after,
        },
        429 => Outcome::Throttled {
            reason: "Teams throttled the webhook (HTTP 429)".to_owned(),
            retry_after,
        },
        400..=499 => Outcome::Permanent {
            reason: format!(
                "the webhook rejected the card with HTTP {status}: {}",
                excerpt(body)
            ),
        },
        500..=599 => Outcome::Transient {
            reason: format!("the webhook answered HTTP {status}"),
            retry_after,
        },
        _ => Outcome::Permanent {
            reason: format!("the webhook answered the unexpected HTTP status {status}"),
        },
    }
}

/// Classifies a `200` response by the error code that legacy webhooks put in the body.
///
/// A body without `HTTP error` counts as delivered. Legacy webhooks return `1`, and
/// resending after any other success response could post the card twice.
fn classify_ok_body(body: &str) -> Outcome {
    let Some(code) = embedded_error_code(body) else {
        return Outcome::Delivered;
    };

    match code {
        Some(429) => Outcome::Throttled {
            reason: "Teams throttled the webhook (HTTP error 429 in a 200 response)".to_owned(),
            retry_after: None,
        },
        Some(code) if code == 408 || (500..=599).contains(&code) => Outcome::Transient {
            reason: format!("Teams reported HTTP error {code} in a 200 response"),
            retry_after: None,
        },
        _ => Outcome::Permanent {
            reason: format!(
                "Teams rejected the card in a 200 response: {}",
                excerpt(body)
            ),
        },
    }
}

/// Finds `HTTP error NNN` in a body. Returns `None` without that phrase, and `Some(None)`
/// when the phrase has no readable code.
fn embedded_error_code(body: &str) -> Option<Option<u16>> {
    let (_, after) = body.split_once("HTTP error")?;
    let digits: String = after
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(digits.parse().ok())
}

/// Returns the start of a response body on one line, for `last_error`.
fn excerpt(body: &str) -> String {
    let one_line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "empty body".to_owned();
    }
    let mut excerpt: String = one_line.chars().take(MAX_BODY_EXCERPT_CHARS).collect();
    if excerpt.len() < one_line.len() {
        excerpt.push('…');
    }
    excerpt
}

/// Parses a `Retry-After` header given in seconds. The HTTP-date form is ignored, so the
/// normal backoff applies to it.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outcome without its reason text, for the table.
    #[derive(Debug, PartialEq, Eq)]
    enum Kind {
        Delivered,
        Throttled,
        Transient,
        Permanent,
        Gone,
    }

    fn kind(outcome: &Outcome) -> Kind {
        match outcome {
            Outcome::Delivered => Kind::Delivered,
            Outcome::Throttled { .. } => Kind::Throttled,
            Outcome::Transient { .. } => Kind::Transient,
            Outcome::Permanent { .. } => Kind::Permanent,
            Outcome::Gone { .. } => Kind::Gone,
        }
    }

    #[test]
    fn classifies_responses() {
        let throttled_body = "Microsoft Teams endpoint returned HTTP error 429 with ContextId \
                              tcid=0,server=msgapi-production-eus-azsc2-4-170,cv=deadbeef";
        let bad_request_body = "Webhook message delivery failed with error: Microsoft Teams \
                                endpoint returned HTTP error 400 with ContextId tcid=0";
        let cases = [
            (200, "1", Kind::Delivered),
            (200, "1\n", Kind::Delivered),
            (200, "", Kind::Delivered),
            (200, throttled_body, Kind::Throttled),
            (200, bad_request_body, Kind::Permanent),
            (
                200,
                "returned HTTP error 413 with ContextId x",
                Kind::Permanent,
            ),
            (
                200,
                "returned HTTP error 502 with ContextId x",
                Kind::Transient,
            ),
            (200, "returned HTTP error with no code", Kind::Permanent),
            (201, "", Kind::Delivered),
            (202, "", Kind::Delivered),
            (204, "", Kind::Delivered),
            (301, "", Kind::Permanent),
            (302, "", Kind::Permanent),
            (307, "", Kind::Permanent),
            (
                400,
                "Bad payload received by generic incoming webhook.",
                Kind::Permanent,
            ),
            (401, "", Kind::Permanent),
            (403, "", Kind::Permanent),
            (404, "", Kind::Gone),
            (408, "", Kind::Transient),
            (410, "", Kind::Gone),
            (413, "", Kind::Permanent),
            (422, "", Kind::Permanent),
            (425, "", Kind::Transient),
            (429, "", Kind::Throttled),
            (500, "", Kind::Transient),
            (502, "", Kind::Transient),
            (503, "", Kind::Transient),
            (504, "", Kind::Transient),
            (600, "", Kind::Permanent),
        ];
        for (status, body, expected) in cases {
            let outcome = classify(status, body, None);

            assert_eq!(kind(&outcome), expected, "{status} {body:?}: {outcome:?}");
        }
    }

    #[test]
    fn keeps_retry_after_of_throttled_and_server_errors() {
        let delay = Some(Duration::from_secs(7));

        let throttled = classify(429, "", delay);
        let unavailable = classify(503, "", delay);

        assert_eq!(
            throttled,
            Outcome::Throttled {
                reason: "Teams throttled the webhook (HTTP 429)".to_owned(),
                retry_after: delay,
            }
        );
        assert!(matches!(
            unavailable,
            Outcome::Transient { retry_after, .. } if retry_after == delay
        ));
    }

    #[test]
    fn permanent_reason_quotes_body_start() {
        let body = format!("Summary or Text is required.\n{}", "x".repeat(500));

        let Outcome::Permanent { reason } = classify(400, &body, None) else {
            panic!("expected a permanent failure");
        };

        assert!(
            reason.contains("HTTP 400: Summary or Text is required. xxx"),
            "{reason}"
        );
        assert!(reason.ends_with('…'), "{reason}");
        assert!(reason.chars().count() < 300, "{reason}");
    }

    #[test]
    fn parses_retry_after_seconds() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
    }
}

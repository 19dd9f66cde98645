//! The HTTP client that posts cards, and one post turned into an [`Outcome`].

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use reqwest::{Client, redirect};

use super::address::{CheckedResolver, ForbiddenAddress, LocalDelivery};
use super::classify::{Outcome, classify, parse_retry_after};
use super::payload::WebhookRequest;

/// Most bytes of a response body read for classification. Teams' error bodies are a
/// few hundred bytes long.
const MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024;

/// Builds the client for webhook requests: no redirects, no proxy, a time limit, and a
/// DNS resolver that rejects forbidden addresses.
///
/// Proxies are off so that the address check applies to the webhook host itself rather
/// than to a proxy.
pub fn build_client(request_timeout: Duration, local: LocalDelivery) -> reqwest::Result<Client> {
    Client::builder()
        .redirect(redirect::Policy::none())
        .timeout(request_timeout)
        .connect_timeout(request_timeout)
        .no_proxy()
        .dns_resolver(Arc::new(CheckedResolver::new(local)))
        .user_agent(concat!("connector-backend/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Posts the request's body as JSON to its URL and classifies the result. The URL is a
/// secret, and no reason in the outcome contains it.
pub async fn post_card(client: &Client, request: WebhookRequest) -> Outcome {
    let response = client
        .post(request.url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(request.body)
        .send()
        .await;
    let mut response = match response {
        Ok(response) => response,
        Err(error) => return classify_send_error(&error),
    };

    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_retry_after);

    let mut body = Vec::new();
    while body.len() < MAX_RESPONSE_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            // The status is already known, and a body cut short adds nothing to it.
            Err(_) => break,
        }
    }
    body.truncate(MAX_RESPONSE_BODY_BYTES);

    classify(status, &String::from_utf8_lossy(&body), retry_after)
}

/// Classifies an error raised before a response arrived. The reason is built from the
/// error's kind and its innermost I/O error, because reqwest's own message contains the
/// URL.
fn classify_send_error(error: &reqwest::Error) -> Outcome {
    if find_source::<ForbiddenAddress>(error).is_some() {
        return Outcome::Permanent {
            reason: ForbiddenAddress.to_string(),
        };
    }

    let detail = find_source::<std::io::Error>(error)
        .map(|io_error| format!(": {io_error}"))
        .unwrap_or_default();
    let reason = if error.is_timeout() {
        "the webhook did not answer within the request timeout".to_owned()
    } else if error.is_connect() {
        format!("connecting to the webhook failed{detail}")
    } else {
        format!("sending the card failed{detail}")
    };
    Outcome::Transient {
        reason,
        retry_after: None,
    }
}

/// Returns the first error of type `T` in the source chain of `error`.
fn find_source<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<T>() {
            return Some(found);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use url::Url;

    use super::*;

    fn empty_card_request(url: &str) -> WebhookRequest {
        WebhookRequest {
            url: Url::parse(url).unwrap(),
            body: Bytes::from_static(b"{}"),
        }
    }

    // The host `localhost` resolves from the hosts file, and the resolver rejects it
    // before any connection, so this test sends nothing.
    #[tokio::test]
    async fn forbidden_host_is_permanent_failure() {
        let client = build_client(Duration::from_secs(5), LocalDelivery::Off).unwrap();

        let outcome = post_card(&client, empty_card_request("http://localhost:9/webhooks/x")).await;

        assert_eq!(
            outcome,
            Outcome::Permanent {
                reason: ForbiddenAddress.to_string()
            }
        );
    }

    #[tokio::test]
    async fn refused_connection_is_transient_without_url() {
        // A listener bound and dropped leaves a port on 127.0.0.1 that refuses
        // connections.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = build_client(Duration::from_secs(5), LocalDelivery::On).unwrap();
        let url = format!("http://localhost:{port}/webhooks/secret-token");

        let outcome = post_card(&client, empty_card_request(&url)).await;

        let Outcome::Transient { reason, .. } = outcome else {
            panic!("expected a transient failure, got {outcome:?}");
        };
        assert!(
            reason.starts_with("connecting to the webhook failed"),
            "{reason}"
        );
        assert!(!reason.contains("secret-token"), "{reason}");
    }
}

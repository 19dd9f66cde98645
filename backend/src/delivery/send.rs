//! The HTTP client that posts cards, and one post turned into an [`Outcome`].

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER, USER_AGENT};
use http::uri::PathAndQuery;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::address::{LocalDelivery, ResolveError};
use super::classify::{Outcome, classify, parse_retry_after};
use super::connection::{CardBody, ConnectError, Connection, ConnectionPool, Connector, Origin};
use super::payload::WebhookRequest;

/// Most bytes of a response body read for classification. Teams' error bodies are a
/// few hundred bytes long.
const MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024;

/// Reason of a request that did not complete within the request timeout.
const TIMEOUT_REASON: &str = "the webhook did not answer within the request timeout";

/// Client for webhook requests: HTTP/1.1 over pooled connections, no redirects, no
/// proxy, a time limit per request, and a resolver that rejects forbidden addresses.
///
/// Proxies are not supported, so that the address check applies to the webhook host
/// itself rather than to a proxy. Redirects are not followed, because a `3xx` is an
/// outcome like any other status.
pub struct WebhookClient {
    connector: Connector,
    pool: ConnectionPool,
    request_timeout: Duration,
    user_agent: HeaderValue,
}

impl WebhookClient {
    /// Builds the client. `request_timeout` limits each post, from connecting to reading
    /// the response.
    pub fn new(request_timeout: Duration, local: LocalDelivery) -> Result<Self, rustls::Error> {
        Ok(Self {
            connector: Connector::new(local, request_timeout)?,
            pool: ConnectionPool::default(),
            request_timeout,
            user_agent: HeaderValue::from_static(concat!(
                "connector-backend/",
                env!("CARGO_PKG_VERSION")
            )),
        })
    }

    /// Closes the pooled connections that have been idle too long.
    pub fn close_expired(&self) {
        self.pool.close_expired();
    }

    /// Posts the request's body as JSON to its URL and classifies the result. The URL is
    /// a secret, and no reason in the outcome contains it.
    pub async fn post_card(&self, request: WebhookRequest) -> Outcome {
        match tokio::time::timeout(self.request_timeout, self.exchange(request)).await {
            Ok(Ok(outcome) | Err(outcome)) => outcome,
            // Dropping the exchange closes its connection, which a late response could
            // otherwise leave unusable.
            Err(_) => transient(TIMEOUT_REASON),
        }
    }

    /// Sends the request on a pooled or new connection and reads the response. The error
    /// is the outcome of a request that got no response.
    async fn exchange(&self, request: WebhookRequest) -> Result<Outcome, Outcome> {
        let Some(origin) = Origin::of(&request.url) else {
            return Err(Outcome::Permanent {
                reason: "the webhook URL has no http or https host".to_owned(),
            });
        };
        let mut path = request.url.path().to_owned();
        if let Some(query) = request.url.query() {
            path.push('?');
            path.push_str(query);
        }
        let Ok(path) = PathAndQuery::try_from(path) else {
            return Err(Outcome::Permanent {
                reason: "the webhook URL has a path that HTTP cannot carry".to_owned(),
            });
        };
        let mut card = self.card_request(&origin, path, request.body);

        // A pooled connection that the host closed just before the request fails
        // without sending it. The request is then sent once more on a new connection.
        let (mut connection, mut reused) = match self.pool.take(&origin).await {
            Some(connection) => (connection, true),
            None => (self.connect(&origin).await?, false),
        };
        let response = loop {
            let sent = connection.sender().try_send_request(card);
            match connection.drive(sent).await {
                Some(Ok(response)) => break response,
                Some(Err(mut error)) if reused => match error.take_message() {
                    Some(unsent) => card = unsent,
                    None => return Err(send_failed(&error.into_error())),
                },
                Some(Err(error)) => return Err(send_failed(&error.into_error())),
                None => return Err(transient("the connection to the webhook closed")),
            }
            connection = self.connect(&origin).await?;
            reused = false;
        };

        let (outcome, reusable) = read_outcome(&mut connection, response).await;
        if reusable {
            self.pool.put(connection);
        }
        Ok(outcome)
    }

    /// Opens a new connection to `origin`. The error is the outcome of the failure.
    async fn connect(&self, origin: &Origin) -> Result<Connection, Outcome> {
        // Boxed, because the TLS handshake makes this future several kilobytes large,
        // and every post would otherwise carry and move that space, also on a pooled
        // connection.
        Box::pin(self.connector.connect(origin))
            .await
            .map_err(|error| connect_failed(&error))
    }

    fn card_request(&self, origin: &Origin, path: PathAndQuery, body: Bytes) -> Request<CardBody> {
        let length = body.len();
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = path.into();
        let headers = request.headers_mut();
        if let Ok(host) = HeaderValue::try_from(origin.host_header()) {
            headers.insert(HOST, host);
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(length));
        headers.insert(USER_AGENT, self.user_agent.clone());
        request
    }
}

/// Reads up to [`MAX_RESPONSE_BODY_BYTES`] of the body and classifies the response.
/// Also returns whether the whole body was read, which leaves the connection ready for
/// another request.
async fn read_outcome(
    connection: &mut Connection,
    response: Response<Incoming>,
) -> (Outcome, bool) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(parse_retry_after);

    let mut incoming = response.into_body();
    let mut body = Vec::new();
    let mut reusable = false;
    while body.len() < MAX_RESPONSE_BODY_BYTES {
        match connection.drive(incoming.frame()).await {
            Some(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    body.extend_from_slice(&data);
                }
            }
            Some(None) => {
                reusable = true;
                break;
            }
            // The status is already known, and a body cut short adds nothing to it.
            Some(Some(Err(_))) | None => break,
        }
    }
    body.truncate(MAX_RESPONSE_BODY_BYTES);

    let outcome = classify(status, &String::from_utf8_lossy(&body), retry_after);
    (outcome, reusable)
}

fn transient(reason: impl Into<String>) -> Outcome {
    Outcome::Transient {
        reason: reason.into(),
        retry_after: None,
    }
}

/// Classifies a connection that could not be opened.
fn connect_failed(error: &ConnectError) -> Outcome {
    match error {
        ConnectError::Resolve(ResolveError::Forbidden(forbidden)) => Outcome::Permanent {
            reason: forbidden.to_string(),
        },
        _ => transient(format!("connecting to the webhook failed: {error}")),
    }
}

/// Classifies a request that failed on an open connection.
fn send_failed(error: &hyper::Error) -> Outcome {
    transient(format!("sending the card failed: {error}"))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use url::Url;

    use super::*;
    use crate::delivery::address::ForbiddenAddress;

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
        let client = WebhookClient::new(Duration::from_secs(5), LocalDelivery::Off).unwrap();

        let outcome = client
            .post_card(empty_card_request("http://localhost:9/webhooks/x"))
            .await;

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
        let client = WebhookClient::new(Duration::from_secs(5), LocalDelivery::On).unwrap();
        let url = format!("http://localhost:{port}/webhooks/secret-token");

        let outcome = client.post_card(empty_card_request(&url)).await;

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

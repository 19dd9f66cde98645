//! Reverse proxy that serves the backend's `/config/` and `/api/` paths on the
//! host's own origin, so TeamsJS in the configuration page accepts the host's
//! messages without any `validMessageOrigins` setting.

use std::error::Error as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use url::Url;

use crate::app::AppState;
use crate::error::ApiError;
use crate::error_page;

/// Maximum request body forwarded to the backend, in bytes.
const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Headers that describe one connection rather than the message (RFC 9110,
/// section 7.6.1), plus those the proxy sets itself.
static SKIPPED_HEADERS: [HeaderName; 10] = [
    header::CONNECTION,
    header::CONTENT_LENGTH,
    header::HOST,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    // The client has no decompression, so the body must arrive uncompressed
    // for the content type to describe it.
    header::ACCEPT_ENCODING,
];

/// HTTP client for the connector backend.
pub struct BackendProxy {
    client: reqwest::Client,
    backend_url: Url,
}

impl BackendProxy {
    /// Creates a proxy for `backend_url`, which must be an `http:` URL.
    pub fn new(backend_url: Url) -> anyhow::Result<Self> {
        if backend_url.scheme() != "http" {
            bail!(
                "the backend URL {backend_url} is not supported: use an http: URL of a backend on this machine, such as http://127.0.0.1:8081"
            );
        }

        // No idle connections are kept, so a stopped backend shows up on the
        // next request instead of on a stale pooled connection.
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("failed to build the HTTP client for the backend")?;

        Ok(Self {
            client,
            backend_url,
        })
    }

    /// Returns the backend URL for a request path and query on this host.
    /// A path in the backend URL is kept as a prefix.
    fn target_url(&self, uri: &Uri) -> Url {
        let mut target = self.backend_url.clone();
        let prefix = self.backend_url.path().trim_end_matches('/');

        target.set_path(&format!("{prefix}{}", uri.path()));
        target.set_query(uri.query());
        target
    }

    /// Turns an absolute `Location` on the backend's origin into a path, so
    /// that the browser stays on the host's origin.
    fn rewrite_location(&self, location: &HeaderValue) -> HeaderValue {
        let Some(url) = location.to_str().ok().and_then(|l| Url::parse(l).ok()) else {
            return location.clone();
        };
        if url.origin() != self.backend_url.origin() {
            return location.clone();
        }

        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path = format!("{path}?{query}");
        }
        HeaderValue::from_str(&path).unwrap_or_else(|_| location.clone())
    }
}

/// Routes under `/config/` and `/api/`, with `/config` and `/api` themselves.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ["/config", "/api"] {
        router = router
            .route(prefix, any(forward))
            .route(&format!("{prefix}/"), any(forward))
            .route(&format!("{prefix}/{{*rest}}"), any(forward));
    }
    router
}

/// Forwards a request to the backend and copies its status, headers and body.
///
/// When the backend cannot be reached, a request for a page (see
/// [`error_page::wants_page`]) gets the error as an HTML page that the dialog's frame
/// can show. Every other request gets it as JSON.
async fn forward(State(state): State<AppState>, request: Request) -> Response {
    let proxy = &state.proxy;
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let wants_page = error_page::wants_page(&parts.method, &path, &parts.headers);

    let Ok(body) = to_bytes(body, MAX_REQUEST_BODY_BYTES).await else {
        tracing::warn!(method = %parts.method, %path, "proxied request body too large or unreadable");
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request_too_large",
            "The request body is larger than 1 MiB, the maximum the local Teams host forwards.",
        )
        .into_response();
    };

    let result = proxy
        .send(parts.method, &parts.uri, copy_headers(&parts.headers), body)
        .await;
    match result {
        Ok(response) => response,
        Err(error) if wants_page => error_page::render(&error),
        Err(error) => error.into_response(),
    }
}

impl BackendProxy {
    /// Sends `body` as JSON to the backend's `POST /api/events` with
    /// `authorization` (the `Bearer` events API key) and returns the backend's
    /// status, headers and body.
    pub async fn post_event(&self, authorization: HeaderValue, body: Bytes) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(header::AUTHORIZATION, authorization);

        let uri = Uri::from_static("/api/events");
        self.send(Method::POST, &uri, headers, body)
            .await
            .unwrap_or_else(IntoResponse::into_response)
    }

    /// Sends a request for a path on this host to the backend and copies the
    /// backend's status, headers and body, or returns the error to show when the
    /// backend is unreachable or too slow.
    async fn send(
        &self,
        method: Method,
        uri: &Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, ApiError> {
        let path = uri.path();
        let request = self
            .client
            .request(method.clone(), self.target_url(uri))
            .headers(headers)
            .body(body);

        let result = match request.send().await {
            Ok(response) => read_response(self, response).await,
            Err(error) => Err(error),
        };

        match result {
            Ok(response) => {
                tracing::debug!(%method, %path, status = %response.status(), "proxied");
                Ok(response)
            }
            Err(error) => {
                // The error's URL is dropped from the log line because a
                // query string may carry values the page considers private.
                let error = error.without_url();
                tracing::error!(
                    %method,
                    %path,
                    backend = %self.backend_url,
                    error = %error_chain(&error),
                    "backend request failed"
                );
                Err(backend_error(&error))
            }
        }
    }
}

async fn read_response(
    proxy: &BackendProxy,
    response: reqwest::Response,
) -> Result<Response, reqwest::Error> {
    let status = response.status();
    let mut headers = copy_headers(response.headers());
    if let Some(location) = headers.get(header::LOCATION) {
        let rewritten = proxy.rewrite_location(location);
        headers.insert(header::LOCATION, rewritten);
    }
    let body = response.bytes().await?;

    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

fn copy_headers(source: &HeaderMap) -> HeaderMap {
    let mut headers = source.clone();
    for name in &SKIPPED_HEADERS {
        headers.remove(name);
    }
    headers
}

fn backend_error(error: &reqwest::Error) -> ApiError {
    if error.is_timeout() {
        return ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "backend_timeout",
            "The connector backend did not respond within 30 seconds. Check its log and try again.",
        );
    }

    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "backend_unavailable",
        "The connector backend is not reachable. Start it and try again.",
    )
}

/// Formats an error with its sources, e.g. "client error (Connect): tcp
/// connect error: Connection refused (os error 111)".
fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(backend: &str) -> BackendProxy {
        BackendProxy::new(Url::parse(backend).unwrap()).unwrap()
    }

    #[test]
    fn target_url_keeps_path_and_query() {
        let proxy = proxy("http://127.0.0.1:8081");
        let uri: Uri = "/api/configurations/abc?x=1".parse().unwrap();

        let target = proxy.target_url(&uri);

        assert_eq!(
            target.as_str(),
            "http://127.0.0.1:8081/api/configurations/abc?x=1"
        );
    }

    #[test]
    fn target_url_keeps_backend_prefix() {
        let proxy = proxy("http://127.0.0.1:8081/prefix/");
        let uri: Uri = "/config/".parse().unwrap();

        assert_eq!(
            proxy.target_url(&uri).as_str(),
            "http://127.0.0.1:8081/prefix/config/"
        );
    }

    #[test]
    fn location_on_backend_origin_becomes_path() {
        let proxy = proxy("http://127.0.0.1:8081");
        let location = HeaderValue::from_static("http://127.0.0.1:8081/config/?a=b");

        assert_eq!(proxy.rewrite_location(&location), "/config/?a=b");
    }

    #[test]
    fn relative_location_kept() {
        let proxy = proxy("http://127.0.0.1:8081");
        let location = HeaderValue::from_static("/config/");

        assert_eq!(proxy.rewrite_location(&location), "/config/");
    }

    #[test]
    fn https_backend_rejected() {
        let url = Url::parse("https://127.0.0.1:8081").unwrap();

        assert!(BackendProxy::new(url).is_err());
    }
}

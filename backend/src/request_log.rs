//! Middleware that logs every request, and every error response at `warn` or `error`.
//!
//! It records the method, the route template (never the raw path or query), the
//! status and, for API errors, the error code and configuration id. It never reads
//! request or response bodies, so the webhook URL cannot reach the log.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ErrorDetails;

/// Route name logged for requests that matched no route.
const UNMATCHED_ROUTE: &str = "<no route>";

/// Runs the request and logs it: client errors at `warn`, server errors at `error`,
/// and everything else at `debug`.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());

    let response = next.run(request).await;

    let status = response.status();
    let elapsed_ms = started.elapsed().as_millis();
    let details = response.extensions().get::<ErrorDetails>().copied();
    let code = details.map(|details| details.code);
    let configuration_id = details.and_then(|details| details.configuration_id);

    // The level of a tracing event must be a constant, so each level gets its own call
    // with the same fields.
    macro_rules! log_event {
        ($level:ident, $message:literal) => {
            tracing::$level!(
                %method,
                %route,
                status = status.as_u16(),
                code,
                configuration_id = configuration_id.map(display),
                elapsed_ms,
                $message
            )
        };
    }

    if status.is_server_error() {
        log_event!(error, "request failed");
    } else if status.is_client_error() {
        log_event!(warn, "request rejected");
    } else {
        log_event!(debug, "request completed");
    }
    response
}

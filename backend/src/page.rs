//! Serving the built configuration page (trunk's `dist/` directory) at `/config/`.

use std::convert::Infallible;
use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower::ServiceExt;
use tower::service_fn;
use tower_http::services::{ServeDir, ServeFile};

use crate::framing;

/// Public path prefix of the page, which trunk's `public_url` must match.
pub const PAGE_PATH: &str = "/config";

/// Returns the routes that serve `page_dir` under `/config/`.
///
/// `/config` redirects to `/config/`. A path under it that names no file gets
/// `index.html` when its last segment has no file extension, so that the page can use
/// its own paths, and 404 otherwise, so that a missing asset stays visible. Every
/// response of these routes carries `content_security_policy` (the `frame-ancestors`
/// list built by [`framing::FrameAncestors::content_security_policy`]).
pub fn page_routes(page_dir: &Path, content_security_policy: HeaderValue) -> Router {
    let add_policy = move |response: Response| {
        let policy = content_security_policy.clone();
        async move { framing::set_policy(response, &policy) }
    };

    Router::new()
        .route(PAGE_PATH, get(redirect_to_page))
        .route(&format!("{PAGE_PATH}/"), get(serve_page_file))
        .route(&format!("{PAGE_PATH}/{{*path}}"), get(serve_page_file))
        .with_state(page_dir.to_owned())
        .layer(axum::middleware::map_response(add_policy))
}

async fn redirect_to_page(uri: Uri) -> Redirect {
    match uri.query() {
        Some(query) => Redirect::temporary(&format!("{PAGE_PATH}/?{query}")),
        None => Redirect::temporary(&format!("{PAGE_PATH}/")),
    }
}

/// Serves one file of the page directory, falling back to `index.html` as described
/// on [`page_routes`].
async fn serve_page_file(State(page_dir): State<PathBuf>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    parts.uri = strip_page_prefix(&parts.uri);
    let request = Request::from_parts(parts, body);

    let index = ServeFile::new(page_dir.join("index.html"));
    let fallback = service_fn(move |request: Request| {
        let index = index.clone();
        async move {
            if has_file_extension(request.uri().path()) {
                return Ok::<_, Infallible>(StatusCode::NOT_FOUND.into_response());
            }
            let response = index.oneshot(request).await?;
            Ok(response.into_response())
        }
    });

    // Directories are not listed and do not redirect: `ServeDir` would build the
    // redirect from the stripped path, which lacks `/config`. The fallback serves
    // `index.html` for them instead.
    let files = ServeDir::new(&page_dir)
        .append_index_html_on_directories(false)
        .fallback(fallback);

    match files.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// Removes the `/config` prefix from the path and keeps the query.
fn strip_page_prefix(uri: &Uri) -> Uri {
    let path = uri.path().strip_prefix(PAGE_PATH).unwrap_or(uri.path());
    let path = if path.is_empty() { "/" } else { path };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };

    // The new path is a suffix of a path that already parsed, so it parses too.
    Uri::try_from(path_and_query).unwrap_or_else(|_| Uri::from_static("/"))
}

/// Returns whether the last segment of `path` has a file extension, such as `app.js`.
fn has_file_extension(path: &str) -> bool {
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    Path::new(last_segment).extension().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_prefix_keeps_rest_and_query() {
        let cases = [
            ("/config/", "/"),
            ("/config/index.html", "/index.html"),
            ("/config/assets/app.js?v=1", "/assets/app.js?v=1"),
            ("/config/settings", "/settings"),
        ];
        for (input, expected) in cases {
            let uri: Uri = input.parse().unwrap();

            assert_eq!(strip_page_prefix(&uri).to_string(), expected, "{input}");
        }
    }

    #[test]
    fn file_extension_detection() {
        assert!(has_file_extension("/app.js"));
        assert!(has_file_extension("/assets/app-1a2b.wasm"));
        assert!(!has_file_extension("/"));
        assert!(!has_file_extension("/settings"));
        assert!(!has_file_extension("/assets/"));
        assert!(!has_file_extension("/.well-known"));
    }
}

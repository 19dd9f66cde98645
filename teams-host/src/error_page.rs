//! A small HTML page for a proxy error, shown in the configuration dialog's frame in
//! place of the JSON error body that a browser would show as raw text.

use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};

use crate::accept::prefers_html;
use crate::error::ApiError;

/// Name of the `<meta>` element whose `content` is the error code. The host page looks
/// for it to tell that the dialog's frame shows this page rather than the configuration
/// page.
pub const ERROR_META_NAME: &str = "local-teams-host-error";

/// Returns whether a proxied request is for a page, so that an error gets HTML: a `GET`
/// or `HEAD` under `/config/` whose `Accept` header prefers `text/html` to JSON.
pub fn wants_page(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    let under_config = path == "/config" || path.starts_with("/config/");
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());

    (method == Method::GET || method == Method::HEAD) && under_config && prefers_html(accept)
}

/// Builds the HTML response for `error`, with the same status, code and message as its
/// JSON form.
pub fn render(error: &ApiError) -> Response {
    let message = escape_html(&error.message);
    let code = escape_html(error.code);
    let status = error.status.as_u16();
    let html = format!(
        r#"<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="{ERROR_META_NAME}" content="{code}">
    <title>Configuration page unavailable | Local Teams host</title>
    <style>{STYLE}</style>
  </head>
  <body>
    <main>
      <h1>The configuration page could not be loaded</h1>
      <p id="error-message">{message}</p>
      <p class="error-code">Error code <code>{code}</code>, HTTP status {status}, from the local Teams host.</p>
    </main>
  </body>
</html>
"#
    );

    // The error is about this moment, so the browser must not keep the page.
    (
        error.status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// Light, dark and high contrast styles. The host page sets `data-theme` on the root
/// element to its own theme (`default`, `dark` or `contrast`) when it finds this page
/// in the dialog.
const STYLE: &str = "
:root { color-scheme: light; --text: #242424; --muted: #616161; --surface: #ffffff;
  --accent: #c4314b; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  line-height: 1.45; color: var(--text); background: var(--surface); }
:root[data-theme='dark'] { color-scheme: dark; --text: #ffffff; --muted: #d1d1d1;
  --surface: #292929; --accent: #f1707b; }
:root[data-theme='contrast'] { color-scheme: dark; --text: #ffffff; --muted: #ffffff;
  --surface: #000000; --accent: #ffff00; }
body { margin: 0; padding: 1.25rem; }
main { max-width: 36rem; padding: 0.75rem 1rem; border-left: 4px solid var(--accent); }
h1 { margin: 0 0 0.5rem; font-size: 1.2rem; }
p { margin: 0.4rem 0; }
.error-code { color: var(--muted); font-size: 0.9rem; }
";

/// Escapes the five characters that have a meaning in HTML text and attributes.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, StatusCode};

    use super::*;

    const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

    fn headers(accept: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        headers
    }

    #[test]
    fn page_requests_detected() {
        let browser = headers(BROWSER_ACCEPT);

        assert!(wants_page(&Method::GET, "/config/", &browser));
        assert!(wants_page(&Method::GET, "/config", &browser));
        assert!(wants_page(&Method::HEAD, "/config/remove", &browser));
        assert!(!wants_page(&Method::POST, "/config/", &browser));
        assert!(!wants_page(&Method::GET, "/api/health", &browser));
        assert!(!wants_page(&Method::GET, "/configuration", &browser));
        assert!(!wants_page(&Method::GET, "/config/", &headers("*/*")));
        assert!(!wants_page(&Method::GET, "/config/", &HeaderMap::new()));
    }

    #[test]
    fn markup_in_message_escaped() {
        assert_eq!(
            escape_html(r#"<b>"Tom" & 'Jerry'</b>"#),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn render_keeps_status() {
        let error = ApiError::new(StatusCode::GATEWAY_TIMEOUT, "backend_timeout", "Late.");

        let response = render(&error);

        assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
    }
}

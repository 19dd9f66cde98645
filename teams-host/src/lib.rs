//! Local stand-in for the Microsoft Teams web client.
//!
//! It serves a channel page at `/` whose script replies to the unmodified TeamsJS
//! library inside the connector's configuration page. It proxies `/config/` and
//! `/api/` to the connector backend so both pages share one origin. It receives
//! the posts sent to the webhook URLs it issues and responds to each as the
//! behaviour chosen for that connector's webhook sets. It also sends sample task
//! events to the backend.

mod accept;
mod app;
mod behavior;
mod channel_api;
mod connectors;
pub mod context;
mod error;
mod error_page;
mod page;
mod proxy;
mod sample_event;
mod webhooks;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use axum::http::HeaderValue;
use url::Url;

pub use behavior::SLOW_RESPONSE_DELAY;
pub use connectors::MAX_POSTS_PER_CONNECTOR;
pub use webhooks::MAX_WEBHOOK_BODY_BYTES;

use crate::app::AppState;
use crate::connectors::ConnectorStore;
use crate::proxy::BackendProxy;

/// Settings of one host server.
#[derive(Clone)]
pub struct Settings {
    /// Base URL of the connector backend, e.g. `http://127.0.0.1:8081`.
    pub backend_url: Url,
    /// Path on the host that the configuration dialog loads, e.g. `/config/`.
    pub config_path: String,
    /// API key of the backend's event endpoints, sent as a `Bearer` token
    /// with sample events. `None` turns sample events off.
    pub events_api_key: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a secret, so only whether it is set is shown.
        f.debug_struct("Settings")
            .field("backend_url", &self.backend_url)
            .field("config_path", &self.config_path)
            .field(
                "events_api_key",
                &self.events_api_key.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Serves the host on `listener` until `shutdown` resolves, then finishes the
/// open requests and returns.
///
/// Webhook URLs are issued on the listener's address, with `127.0.0.1` or
/// `::1` in place of an unspecified address.
pub async fn serve(
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    validate_config_path(&settings.config_path)?;
    let events_authorization = settings
        .events_api_key
        .as_deref()
        .map(bearer_authorization)
        .transpose()?;
    let address = listener
        .local_addr()
        .context("failed to read the listener's address")?;

    let state = AppState {
        connectors: Arc::new(ConnectorStore::new(&origin_of(address))),
        proxy: Arc::new(BackendProxy::new(settings.backend_url.clone())?),
        config_path: settings.config_path.as_str().into(),
        events_authorization,
    };

    tracing::info!(
        %address,
        backend = %settings.backend_url,
        config_path = %settings.config_path,
        sample_events = settings.events_api_key.is_some(),
        "local Teams host started"
    );
    axum::serve(listener, app::router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("the local Teams host server failed")?;

    tracing::info!(%address, "local Teams host stopped");
    Ok(())
}

/// Returns `http://ADDRESS` for a listener, replacing an unspecified IP with
/// the loopback address of the same family.
pub fn origin_of(address: SocketAddr) -> String {
    let ip = match address.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, address.port()))
}

fn validate_config_path(path: &str) -> anyhow::Result<()> {
    // A path starting with `//` would make the browser load another host.
    if !path.starts_with('/') || path.starts_with("//") {
        bail!(
            "the configuration path {path:?} is invalid: it must be a path on this host starting with a single '/', such as /config/"
        );
    }
    if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!(
            "the configuration path {path:?} is invalid: it must not contain spaces or control characters"
        );
    }
    Ok(())
}

/// Builds the sensitive `Authorization: Bearer <key>` value for the events
/// API key. The error names the problem but never the key.
fn bearer_authorization(key: &str) -> anyhow::Result<HeaderValue> {
    if key.trim().is_empty() {
        bail!(
            "the events API key is empty: set it to the key the backend uses, or leave it unset to turn sample events off"
        );
    }
    let Ok(mut value) = HeaderValue::from_str(&format!("Bearer {key}")) else {
        bail!(
            "the events API key is invalid: it must not contain control characters such as line breaks"
        );
    };

    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_replaces_unspecified_ip() {
        let address: SocketAddr = "0.0.0.0:8080".parse().unwrap();

        assert_eq!(origin_of(address), "http://127.0.0.1:8080");
    }

    #[test]
    fn origin_brackets_ipv6() {
        let address: SocketAddr = "[::1]:8080".parse().unwrap();

        assert_eq!(origin_of(address), "http://[::1]:8080");
    }

    #[test]
    fn config_path_must_be_local() {
        assert!(validate_config_path("/config/").is_ok());
        assert!(validate_config_path("//evil.example/").is_err());
        assert!(validate_config_path("config/").is_err());
        assert!(validate_config_path("/config /").is_err());
    }

    #[test]
    fn bearer_value_is_sensitive() {
        let value = bearer_authorization("k3y").unwrap();

        assert_eq!(value, "Bearer k3y");
        assert!(value.is_sensitive());
    }

    #[test]
    fn empty_events_key_rejected() {
        for key in ["", "  "] {
            let error = bearer_authorization(key).unwrap_err().to_string();

            assert!(error.contains("events API key is empty"), "{error}");
        }
    }

    #[test]
    fn invalid_events_key_not_echoed() {
        for key in ["line\nbreak", "delete\u{7f}"] {
            let error = bearer_authorization(key).unwrap_err().to_string();

            assert!(error.contains("events API key is invalid"), "{error}");
            assert!(!error.contains(key), "{error}");
        }
    }

    #[test]
    fn settings_debug_hides_key() {
        let settings = Settings {
            backend_url: Url::parse("http://127.0.0.1:8081").unwrap(),
            config_path: "/config/".to_owned(),
            events_api_key: Some("k3y-secret".to_owned()),
        };

        let text = format!("{settings:?}");

        assert!(!text.contains("k3y-secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}

//! Servers for the integration tests: the host under test and a fake backend,
//! both on 127.0.0.1 with ports the system picks.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get};
use local_teams_host::{Settings, serve};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use url::Url;

/// Header the fake backend reads to choose its response status.
pub const FAKE_STATUS_HEADER: &str = "x-fake-status";

/// HTML the fake backend serves at `/config/`.
pub const FAKE_CONFIG_PAGE: &str = "<!doctype html><title>Fake configuration page</title>";

/// A server running in a background task until `stop` is called.
pub struct Server {
    pub url: Url,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Shuts the server down and waits until it has stopped.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.expect("server task panicked")
    }

    /// Returns the absolute URL of `path` on this server.
    pub fn at(&self, path: &str) -> String {
        self.url.join(path).unwrap().to_string()
    }

    /// Returns the origin, e.g. `http://127.0.0.1:40123`.
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }
}

/// Starts the local Teams host in front of `backend_url`, without an events
/// API key.
pub async fn start_host(backend_url: Url) -> Server {
    start_host_with_key(backend_url, None).await
}

/// Starts the local Teams host in front of `backend_url` with an events API
/// key.
pub async fn start_host_with_key(backend_url: Url, events_api_key: Option<&str>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let settings = Settings {
        backend_url,
        config_path: "/config/".to_owned(),
        events_api_key: events_api_key.map(str::to_owned),
    };
    let (stop, stopped) = oneshot::channel::<()>();

    let task = tokio::spawn(serve(listener, settings, async {
        let _ = stopped.await;
    }));
    Server {
        url,
        stop: Some(stop),
        task,
    }
}

/// Starts a fake backend that echoes requests under `/api/` and `/config/`
/// as JSON, serves a page at `/config/` and redirects `/config` there with
/// an absolute URL.
pub async fn start_fake_backend() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let redirect_target = format!("http://{address}/config/");

    let router = Router::new()
        .route("/api/{*rest}", any(echo))
        .route(
            "/config",
            get(move || async move { Redirect::permanent(&redirect_target) }),
        )
        .route("/config/", get(fake_config_page))
        .route("/config/{*rest}", any(echo));
    serve_router(listener, router)
}

/// Serves `router` on `listener` in a background task.
pub fn serve_router(listener: TcpListener, router: Router) -> Server {
    let address = listener.local_addr().unwrap();
    let url = Url::parse(&format!("http://{address}/")).unwrap();

    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await?;
        Ok(())
    });
    Server {
        url,
        stop: Some(stop),
        task,
    }
}

/// Returns a URL on 127.0.0.1 where nothing listens.
pub async fn closed_port_url() -> Url {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{address}/")).unwrap()
}

/// HTTP client that follows no redirects and ignores proxy variables.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn fake_config_page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        FAKE_CONFIG_PAGE,
    )
}

async fn echo(method: Method, uri: Uri, headers: HeaderMap, body: String) -> impl IntoResponse {
    let status = headers
        .get(FAKE_STATUS_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::OK);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());

    let echoed: Value = json!({
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "contentType": content_type,
        "body": body,
    });
    (status, axum::Json(echoed))
}

/// Returns the host's `GET /host/api/channel` body.
pub async fn channel(host: &Server) -> Value {
    let response = client()
        .get(host.at("/host/api/channel"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

pub async fn create_connector(host: &Server) -> Value {
    let response = client()
        .post(host.at("/host/api/connectors"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

pub async fn post_webhook(url: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    client()
        .post(url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

pub fn string(value: &Value) -> &str {
    value.as_str().expect("expected a JSON string")
}

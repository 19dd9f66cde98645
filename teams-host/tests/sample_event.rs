//! `POST /host/api/sample-event` forwards to the backend's `POST /api/events`
//! with the events API key.

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use common::{Server, client, closed_port_url, serve_router, start_host_with_key};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const KEY: &str = "sample-events-key-7f3a";

/// A request the fake backend received on `POST /api/events`.
#[derive(Clone, Debug)]
struct Received {
    authorization: Option<String>,
    content_type: Option<String>,
    body: String,
}

/// A fake backend whose `POST /api/events` stores each request and responds
/// with a fixed status and JSON body.
struct FakeEvents {
    server: Server,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeEvents {
    async fn start(status: StatusCode, body: &'static str) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        let router = Router::new().route(
            "/api/events",
            post(move |headers: HeaderMap, request_body: String| async move {
                let text = |name| {
                    headers
                        .get(name)
                        .map(|value: &header::HeaderValue| value.to_str().unwrap().to_owned())
                };
                store.lock().unwrap().push(Received {
                    authorization: text(header::AUTHORIZATION),
                    content_type: text(header::CONTENT_TYPE),
                    body: request_body,
                });
                (status, [(header::CONTENT_TYPE, "application/json")], body)
            }),
        );

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self {
            server: serve_router(listener, router),
            received,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn send(host: &Server, body: &str) -> reqwest::Response {
    client()
        .post(host.at("/host/api/sample-event"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn forwards_with_bearer_key() {
    let accepted = r#"{"eventId":"0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9","deliveries":2}"#;
    let backend = FakeEvents::start(StatusCode::ACCEPTED, accepted).await;
    let host = start_host_with_key(backend.server.url.clone(), Some(KEY)).await;
    let event = r#"{"kind":"created","taskId":"t-1","title":"Review \"Q3\" plan"}"#;

    let response = send(&host, event).await;

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.text().await.unwrap(), accepted);
    let received = backend.received();
    assert_eq!(received.len(), 1);
    let bearer = format!("Bearer {KEY}");
    assert_eq!(received[0].authorization.as_deref(), Some(bearer.as_str()));
    assert_eq!(
        received[0].content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(received[0].body, event);
}

#[tokio::test]
async fn backend_error_passed_through() {
    let invalid =
        r#"{"code":"invalid_event","message":"The title is missing. Give the task a title."}"#;
    let backend = FakeEvents::start(StatusCode::UNPROCESSABLE_ENTITY, invalid).await;
    let host = start_host_with_key(backend.server.url.clone(), Some(KEY)).await;

    let response = send(&host, r#"{"kind":"created","taskId":"t-1"}"#).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(response.text().await.unwrap(), invalid);
    assert_eq!(backend.received().len(), 1);
}

#[tokio::test]
async fn browser_authorization_replaced() {
    let backend = FakeEvents::start(StatusCode::ACCEPTED, "{}").await;
    let host = start_host_with_key(backend.server.url.clone(), Some(KEY)).await;

    let response = client()
        .post(host.at("/host/api/sample-event"))
        .header(header::AUTHORIZATION, "Bearer chosen-by-the-page")
        .body(r#"{"kind":"updated"}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let bearer = format!("Bearer {KEY}");
    let received = backend.received();
    assert_eq!(received[0].authorization.as_deref(), Some(bearer.as_str()));
}

#[tokio::test]
async fn without_key_returns_503() {
    let backend = FakeEvents::start(StatusCode::ACCEPTED, "{}").await;
    let host = start_host_with_key(backend.server.url.clone(), None).await;

    let response = send(&host, r#"{"kind":"created","taskId":"t","title":"t"}"#).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "events_disabled");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("TEAMS_HOST_EVENTS_API_KEY"), "{message}");
    assert!(message.contains("--events-api-key"), "{message}");
    assert!(backend.received().is_empty());
}

#[tokio::test]
async fn unreachable_backend_gives_502() {
    let host = start_host_with_key(closed_port_url().await, Some(KEY)).await;

    let response = send(&host, r#"{"kind":"created","taskId":"t","title":"t"}"#).await;

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error,
        json!({
            "code": "backend_unavailable",
            "message": "The connector backend is not reachable. Start it and try again."
        })
    );
}

#[tokio::test]
async fn key_not_in_channel_or_page() {
    let host = start_host_with_key(closed_port_url().await, Some(KEY)).await;

    for path in ["/", "/host/host.js", "/host/api/channel"] {
        let text = client()
            .get(host.at(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();

        assert!(!text.contains(KEY), "{path} shows the events API key");
    }
}

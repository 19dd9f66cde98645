//! The host forwards `/api/` and `/config/` to the backend on its own origin.

mod common;

use common::{
    FAKE_CONFIG_PAGE, FAKE_STATUS_HEADER, client, closed_port_url, start_fake_backend, start_host,
};
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};

const UNAVAILABLE_MESSAGE: &str = "The connector backend is not reachable. Start it and try again.";

#[tokio::test]
async fn api_put_forwards_method_body_and_status() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;

    let response = client()
        .put(host.at("/api/configurations/0b5a?dry=1"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(FAKE_STATUS_HEADER, "201")
        .body(r#"{"configName":"Tasks \"created\""}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["method"], "PUT");
    assert_eq!(echoed["path"], "/api/configurations/0b5a");
    assert_eq!(echoed["query"], "dry=1");
    assert_eq!(echoed["contentType"], "application/json");
    assert_eq!(echoed["body"], r#"{"configName":"Tasks \"created\""}"#);
}

#[tokio::test]
async fn api_error_status_and_body_copied() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;

    let response = client()
        .delete(host.at("/api/configurations/missing"))
        .header(FAKE_STATUS_HEADER, "404")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["method"], "DELETE");
    assert_eq!(echoed["path"], "/api/configurations/missing");
}

#[tokio::test]
async fn config_page_proxied() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;

    let response = client().get(host.at("/config/")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), FAKE_CONFIG_PAGE);
}

#[tokio::test]
async fn config_post_proxied() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;

    let response = client()
        .post(host.at("/config/assets/form"))
        .header(header::CONTENT_TYPE, "text/plain")
        .header(FAKE_STATUS_HEADER, "202")
        .body("hello")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let echoed: Value = response.json().await.unwrap();
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/config/assets/form");
    assert_eq!(echoed["contentType"], "text/plain");
    assert_eq!(echoed["body"], "hello");
}

#[tokio::test]
async fn backend_redirect_stays_on_host_origin() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;

    let response = client().get(host.at("/config")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(response.headers()[header::LOCATION], "/config/");
}

#[tokio::test]
async fn stopped_backend_gives_502() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;
    let before = client().get(host.at("/config/")).send().await.unwrap();
    assert_eq!(before.status(), StatusCode::OK);

    backend.stop().await.unwrap();
    let response = client().get(host.at("/api/health")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(
        error,
        json!({"code": "backend_unavailable", "message": UNAVAILABLE_MESSAGE})
    );
}

#[tokio::test]
async fn unreachable_backend_gives_502_for_config() {
    let host = start_host(closed_port_url().await).await;

    let response = client().get(host.at("/config/")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "backend_unavailable");
    assert_eq!(error["message"], UNAVAILABLE_MESSAGE);
}

#[tokio::test]
async fn paths_outside_proxy_not_forwarded() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;

    let response = client().get(host.at("/apiary")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

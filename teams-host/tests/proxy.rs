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

/// `Accept` header of Chromium when it loads a document into a frame.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,\
    image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";

#[tokio::test]
async fn unreachable_backend_gives_html_page_to_browser() {
    let host = start_host(closed_port_url().await).await;

    for path in ["/config/", "/config/?entityId=1", "/config/remove"] {
        let response = client()
            .get(host.at(path))
            .header(header::ACCEPT, BROWSER_ACCEPT)
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{path}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8",
            "{path}"
        );
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let html = response.text().await.unwrap();
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains(r#"<html lang="en">"#), "{html}");
        assert!(html.contains("<title>"), "{html}");
        assert!(html.contains(UNAVAILABLE_MESSAGE), "{html}");
        assert!(
            html.contains(r#"<meta name="local-teams-host-error" content="backend_unavailable">"#),
            "{html}"
        );
        assert!(!html.contains(r#"{"code""#), "{html}");
    }
}

#[tokio::test]
async fn unreachable_backend_keeps_json_for_api_and_scripts() {
    let host = start_host(closed_port_url().await).await;
    let requests = [
        (reqwest::Method::GET, "/api/health", BROWSER_ACCEPT),
        (reqwest::Method::GET, "/config/", "application/json"),
        (reqwest::Method::GET, "/config/", "*/*"),
        (reqwest::Method::GET, "/config/app.js", "*/*"),
        (reqwest::Method::POST, "/config/", BROWSER_ACCEPT),
    ];

    for (method, path, accept) in requests {
        let response = client()
            .request(method.clone(), host.at(path))
            .header(header::ACCEPT, accept)
            .send()
            .await
            .unwrap();

        let request = format!("{method} {path} with Accept {accept}");
        assert_eq!(response.status(), StatusCode::BAD_GATEWAY, "{request}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/json",
            "{request}"
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(
            error,
            json!({"code": "backend_unavailable", "message": UNAVAILABLE_MESSAGE}),
            "{request}"
        );
    }
}

#[tokio::test]
async fn running_backend_page_unchanged_for_browser() {
    let backend = start_fake_backend().await;
    let host = start_host(backend.url.clone()).await;

    let response = client()
        .get(host.at("/config/"))
        .header(header::ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), FAKE_CONFIG_PAGE);
}

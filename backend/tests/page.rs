//! Serving the built configuration page at `/config/`.

mod common;

use std::path::Path;

use common::{TestServer, client, temp_database};
use connector_backend::Settings;
use reqwest::StatusCode;

const INDEX_HTML: &str = "<!DOCTYPE html><title>Configure task notifications</title>";
const APP_JS: &str = "console.log('configuration page');";

/// Writes a small page directory: `index.html` and `assets/app.js`.
fn write_page(directory: &Path) {
    std::fs::write(directory.join("index.html"), INDEX_HTML).unwrap();
    std::fs::create_dir(directory.join("assets")).unwrap();
    std::fs::write(directory.join("assets/app.js"), APP_JS).unwrap();
}

async fn start_with_page() -> (tempfile::TempDir, TestServer) {
    let (directory, database) = temp_database();
    let page_dir = directory.path().join("dist");
    std::fs::create_dir(&page_dir).unwrap();
    write_page(&page_dir);

    let server = TestServer::start(Settings {
        page_dir: Some(page_dir),
        ..common::settings(&database)
    })
    .await;
    (directory, server)
}

async fn get(server: &TestServer, path: &str) -> reqwest::Response {
    client().get(server.url(path)).send().await.unwrap()
}

#[tokio::test]
async fn config_serves_index_html() {
    let (_directory, server) = start_with_page().await;

    let response = get(&server, "/config/").await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(response.text().await.unwrap(), INDEX_HTML);
    server.stop().await;
}

#[tokio::test]
async fn config_without_slash_redirects() {
    let (_directory, server) = start_with_page().await;

    let plain = get(&server, "/config").await;
    let with_query = get(&server, "/config?theme=dark").await;

    assert_eq!(plain.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(plain.headers()["location"], "/config/");
    assert_eq!(with_query.headers()["location"], "/config/?theme=dark");
    server.stop().await;
}

#[tokio::test]
async fn config_serves_assets() {
    let (_directory, server) = start_with_page().await;

    let response = get(&server, "/config/assets/app.js").await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.contains("javascript"), "{content_type}");
    assert_eq!(response.text().await.unwrap(), APP_JS);
    server.stop().await;
}

#[tokio::test]
async fn unknown_path_without_extension_gets_index() {
    let (_directory, server) = start_with_page().await;

    for path in ["/config/remove", "/config/assets", "/config/assets/"] {
        let response = get(&server, path).await;

        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(response.text().await.unwrap(), INDEX_HTML, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn unknown_file_is_not_found() {
    let (_directory, server) = start_with_page().await;

    for path in ["/config/missing.js", "/config/assets/app.wasm"] {
        let response = get(&server, path).await;

        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn api_only_has_no_page() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;

    let response = get(&server, "/config/").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn missing_page_dir_fails_start() {
    let (directory, database) = temp_database();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let settings = Settings {
        page_dir: Some(directory.path().join("no-such-dist")),
        ..common::settings(&database)
    };

    let result = connector_backend::serve(listener, settings, std::future::pending()).await;

    let message = format!("{:#}", result.unwrap_err());
    assert!(message.contains("no-such-dist"), "{message}");
}

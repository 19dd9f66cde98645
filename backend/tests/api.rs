//! The JSON API over real HTTP, against a temporary SQLite file.

mod common;

use common::{
    TestServer, WEBHOOK_URL, client, configuration_body, query_count, stored_event_types,
    temp_database,
};
use connector_backend::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;
use uuid::Uuid;

const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

fn configuration_path(id: &str) -> String {
    format!("/api/configurations/{id}")
}

/// Checks that a response is a JSON error with `code` and a non-empty message, and
/// returns the message.
async fn assert_json_error(response: reqwest::Response, status: StatusCode, code: &str) -> String {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");

    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    let message = body["message"].as_str().unwrap().to_owned();
    assert!(!message.is_empty());
    message
}

#[tokio::test]
async fn health_is_ok() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;

    let response = client()
        .get(server.url("/api/health"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"status": "ok"})
    );
    server.stop().await;
}

#[tokio::test]
async fn put_creates_then_updates_same_row() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let url = server.url(&configuration_path(ID));

    let created = client
        .put(&url)
        .json(&configuration_body(&["created"]))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        created.headers()["location"],
        configuration_path(ID).as_str()
    );
    let created: Value = created.json().await.unwrap();

    let updated = client
        .put(&url)
        .json(&configuration_body(&["updated", "updated"]))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    let updated: Value = updated.json().await.unwrap();

    assert_eq!(created["eventTypes"], json!(["created"]));
    assert_eq!(updated["eventTypes"], json!(["updated"]));
    assert_eq!(updated["id"], ID);
    assert_eq!(updated["createdAt"], created["createdAt"]);
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        1
    );
    assert_eq!(stored_event_types(&database, ID), vec!["updated"]);
    server.stop().await;
}

#[tokio::test]
async fn put_stores_lowercase_id_and_context() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;

    let response = client()
        .put(server.url(&configuration_path(&ID.to_uppercase())))
        .json(&configuration_body(&["created", "updated"]))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    let connection = rusqlite::Connection::open(&database).unwrap();
    let (id, webhook_url, user_object_id, app_type, active): (String, String, String, String, i64) =
        connection
            .query_row(
                "SELECT id, webhook_url, user_object_id, app_type, active FROM configurations",
                [],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                    ))
                },
            )
            .unwrap();
    assert_eq!(id, ID);
    assert_eq!(webhook_url, WEBHOOK_URL);
    assert_eq!(user_object_id, "user-object-id-private");
    assert_eq!(app_type, "teams");
    assert_eq!(active, 1);
    assert_eq!(
        stored_event_types(&database, ID),
        vec!["created", "updated"]
    );
    server.stop().await;
}

#[tokio::test]
async fn get_returns_view_without_secrets() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let url = server.url(&configuration_path(ID));
    client
        .put(&url)
        .json(&configuration_body(&["created"]))
        .send()
        .await
        .unwrap();

    let response = client.get(&url).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains("webhook"), "{text}");
    assert!(!text.contains("user-object-id-private"), "{text}");
    let view: Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["configName", "createdAt", "eventTypes", "id", "updatedAt"]
    );
    assert_eq!(view["configName"], "Tasks created or updated");
    assert_eq!(view["eventTypes"], json!(["created"]));
    server.stop().await;
}

#[tokio::test]
async fn delete_then_get_is_not_found() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let url = server.url(&configuration_path(ID));
    client
        .put(&url)
        .json(&configuration_body(&["created", "updated"]))
        .send()
        .await
        .unwrap();

    let deleted = client.delete(&url).send().await.unwrap();
    let after_delete = client.get(&url).send().await.unwrap();
    let deleted_again = client.delete(&url).send().await.unwrap();

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_json_error(after_delete, StatusCode::NOT_FOUND, "not_found").await;
    assert_json_error(deleted_again, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configuration_event_types"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn invalid_webhook_url_stores_nothing() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let url = server.url(&configuration_path(ID));
    let secret_url = "http://contoso.webhook.office.com/webhookb2/secret-token-123";
    let mut body = configuration_body(&["created"]);
    body["webhookUrl"] = json!(secret_url);

    let response = client.put(&url).json(&body).send().await.unwrap();

    let message = assert_json_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_webhook_url",
    )
    .await;
    assert!(message.contains("https"), "{message}");
    assert!(!message.contains("secret-token-123"), "{message}");
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        0
    );
    let get = client.get(&url).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

#[tokio::test]
async fn invalid_update_keeps_previous_configuration() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let url = server.url(&configuration_path(ID));
    client
        .put(&url)
        .json(&configuration_body(&["created"]))
        .send()
        .await
        .unwrap();

    let response = client
        .put(&url)
        .json(&configuration_body(&["deleted"]))
        .send()
        .await
        .unwrap();

    assert_json_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_event_types",
    )
    .await;
    assert_eq!(stored_event_types(&database, ID), vec!["created"]);
    server.stop().await;
}

#[tokio::test]
async fn malformed_json_is_bad_request() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;

    let response = client()
        .put(server.url(&configuration_path(ID)))
        .header("content-type", "application/json")
        .body(r#"{"webhookUrl": "#)
        .send()
        .await
        .unwrap();

    let message = assert_json_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert!(message.contains("not valid JSON"), "{message}");
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn wrong_content_type_is_unsupported() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;

    let response = client()
        .put(server.url(&configuration_path(ID)))
        .header("content-type", "text/plain")
        .body(configuration_body(&["created"]).to_string())
        .send()
        .await
        .unwrap();

    let message = assert_json_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    assert!(message.contains("application/json"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn wrong_field_type_is_unprocessable() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let mut body = configuration_body(&["created"]);
    body["eventTypes"] = json!(WEBHOOK_URL);

    let response = client()
        .put(server.url(&configuration_path(ID)))
        .json(&body)
        .send()
        .await
        .unwrap();

    let message =
        assert_json_error(response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body").await;
    assert!(message.contains("\"eventTypes\""), "{message}");
    assert!(!message.contains("contoso"), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn unknown_event_type_is_unprocessable() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;

    let response = client()
        .put(server.url(&configuration_path(ID)))
        .json(&configuration_body(&["created", "deleted"]))
        .send()
        .await
        .unwrap();

    let message = assert_json_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_event_types",
    )
    .await;
    assert!(message.contains("\"deleted\""), "{message}");
    assert!(message.contains("created, updated"), "{message}");
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn empty_event_types_are_unprocessable() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;

    let response = client()
        .put(server.url(&configuration_path(ID)))
        .json(&configuration_body(&[]))
        .send()
        .await
        .unwrap();

    assert_json_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_event_types",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn invalid_name_and_context_rejected() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let url = server.url(&configuration_path(ID));
    let mut blank_name = configuration_body(&["created"]);
    blank_name["configName"] = json!("   ");
    let mut bad_app_type = configuration_body(&["created"]);
    bad_app_type["context"]["appType"] = json!("outlook");

    let name_response = client.put(&url).json(&blank_name).send().await.unwrap();
    let context_response = client.put(&url).json(&bad_app_type).send().await.unwrap();

    assert_json_error(
        name_response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_config_name",
    )
    .await;
    assert_json_error(
        context_response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_context",
    )
    .await;
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn oversized_body_is_payload_too_large() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let mut body = configuration_body(&["created"]);
    body["padding"] = json!("x".repeat(17 * 1024));

    let response = client()
        .put(server.url(&configuration_path(ID)))
        .json(&body)
        .send()
        .await
        .unwrap();

    let message =
        assert_json_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(message.contains("16 KiB"), "{message}");
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn body_just_under_limit_is_accepted() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let mut body = configuration_body(&["created"]);
    let size_without_padding = {
        body["padding"] = json!("");
        body.to_string().len()
    };
    body["padding"] = json!("x".repeat(16 * 1024 - size_without_padding));
    assert_eq!(body.to_string().len(), 16 * 1024);

    let response = client()
        .put(server.url(&configuration_path(ID)))
        .json(&body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    server.stop().await;
}

#[tokio::test]
async fn non_uuid_id_is_bad_request() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();

    for path in [
        "/api/configurations/config-1",
        "/api/configurations/%7Bnot-a-uuid%7D",
    ] {
        let get = client.get(server.url(path)).send().await.unwrap();
        assert_json_error(get, StatusCode::BAD_REQUEST, "invalid_id").await;
    }
    let put = client
        .put(server.url("/api/configurations/config-1"))
        .json(&configuration_body(&["created"]))
        .send()
        .await
        .unwrap();
    assert_json_error(put, StatusCode::BAD_REQUEST, "invalid_id").await;
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn fallback_errors_are_json() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();

    let unknown = client.get(server.url("/api/unknown")).send().await.unwrap();
    let wrong_method = client
        .post(server.url(&configuration_path(ID)))
        .json(&configuration_body(&["created"]))
        .send()
        .await
        .unwrap();

    assert_json_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    assert_json_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn data_survives_restart() {
    let (_directory, database) = temp_database();
    let first = TestServer::start_api(&database).await;
    let created: Value = client()
        .put(first.url(&configuration_path(ID)))
        .json(&configuration_body(&["created", "updated"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    first.stop().await;

    let second = TestServer::start_api(&database).await;
    let response = client()
        .get(second.url(&configuration_path(ID)))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), created);
    second.stop().await;
}

#[tokio::test]
async fn concurrent_puts_leave_one_row() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let url = server.url(&configuration_path(ID));

    let requests = (0..8).map(|index| {
        let event = if index % 2 == 0 { "created" } else { "updated" };
        client.put(&url).json(&configuration_body(&[event])).send()
    });
    let responses = futures_join_all(requests).await;

    let statuses: Vec<StatusCode> = responses.iter().map(|response| response.status()).collect();
    let created = statuses
        .iter()
        .filter(|status| **status == StatusCode::CREATED)
        .count();
    let updated = statuses
        .iter()
        .filter(|status| **status == StatusCode::OK)
        .count();
    assert_eq!(created, 1, "{statuses:?}");
    assert_eq!(updated, 7, "{statuses:?}");
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        1
    );
    assert_eq!(stored_event_types(&database, ID).len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn dev_origin_enables_local_webhooks() {
    let (_directory, database) = temp_database();
    let local_webhook = "http://127.0.0.1:8080/webhooks/4f1d2c3b4a5948e7a6b5c4d3e2f1a0b9";
    let mut body = configuration_body(&["created"]);
    body["webhookUrl"] = json!(local_webhook);

    let production = TestServer::start_api(&database).await;
    let rejected = client()
        .put(production.url(&configuration_path(ID)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_json_error(
        rejected,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_webhook_url",
    )
    .await;
    production.stop().await;

    let development = TestServer::start(Settings {
        dev_webhook_origin: Some(Url::parse("http://127.0.0.1:8080").unwrap()),
        ..common::settings(&database)
    })
    .await;
    let accepted = client()
        .put(development.url(&configuration_path(ID)))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
    development.stop().await;
}

#[tokio::test]
async fn random_ids_are_independent() {
    let (_directory, database) = temp_database();
    let server = TestServer::start_api(&database).await;
    let client = client();
    let first = Uuid::new_v4().to_string();
    let second = Uuid::new_v4().to_string();

    for id in [&first, &second] {
        let response = client
            .put(server.url(&configuration_path(id)))
            .json(&configuration_body(&["created"]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    client
        .delete(server.url(&configuration_path(&first)))
        .send()
        .await
        .unwrap();

    let remaining = client
        .get(server.url(&configuration_path(&second)))
        .send()
        .await
        .unwrap();
    assert_eq!(remaining.status(), StatusCode::OK);
    assert_eq!(
        query_count(&database, "SELECT COUNT(*) FROM configurations"),
        1
    );
    server.stop().await;
}

/// Awaits every future concurrently and returns their outputs in order.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<reqwest::Response>
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut responses = Vec::new();
    for handle in handles {
        responses.push(handle.await.unwrap().unwrap());
    }
    responses
}

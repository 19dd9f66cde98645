//! The host page, the channel API and the webhook endpoint.

mod common;

use common::{
    Server, channel, client, closed_port_url, create_connector, post_webhook, start_host, string,
};
use local_teams_host::{MAX_WEBHOOK_BODY_BYTES, Settings, context, serve};
use reqwest::StatusCode;
use reqwest::header;
use serde_json::{Value, json};

/// Starts a host whose backend is never reached by these tests.
async fn host() -> Server {
    start_host(closed_port_url().await).await
}

#[tokio::test]
async fn host_page_served() {
    let host = host().await;

    let response = client().get(host.at("/")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let html = response.text().await.unwrap();
    for fragment in [
        r#"<ul id="connectors">"#,
        r#"id="add-connector""#,
        r#"<dialog id="config-dialog""#,
        r#"<iframe id="config-frame""#,
        r#"id="dialog-save""#,
        r#"id="dialog-cancel""#,
        r#"id="dialog-remove""#,
        r#"<p id="dialog-error" role="alert">"#,
        r#"<p id="channel-notice" role="status""#,
        r#"src="/host/host.js""#,
        r#"src="/host/cards.js""#,
        r#"<form id="sample-event-form""#,
        r#"<select id="sample-kind""#,
        r#"<input id="sample-title""#,
        r#"<textarea id="sample-description""#,
        r#"id="sample-send""#,
        r#"<p id="sample-result" role="status""#,
        r#"href="/host/host.css""#,
        r#"<label for="host-theme">Theme</label>"#,
        r#"<select id="host-theme">"#,
        r#"<option value="contrast">"#,
        r#"<label for="host-locale">Language</label>"#,
        r#"<select id="host-locale" aria-describedby="host-locale-hint">"#,
        r#"<option value="fr-FR">"#,
        r#"id="host-locale-hint""#,
    ] {
        assert!(html.contains(fragment), "host page lacks {fragment}");
    }
}

#[tokio::test]
async fn host_assets_served() {
    let host = host().await;

    let script = client().get(host.at("/host/host.js")).send().await.unwrap();
    let style = client()
        .get(host.at("/host/host.css"))
        .send()
        .await
        .unwrap();

    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert!(
        script
            .text()
            .await
            .unwrap()
            .contains("settings.getSettings")
    );
    let cards = client()
        .get(host.at("/host/cards.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(cards.status(), StatusCode::OK);
    assert!(cards.text().await.unwrap().contains("renderPostBody"));
    assert_eq!(style.status(), StatusCode::OK);
    assert_eq!(
        style.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
}

#[tokio::test]
async fn channel_has_fixed_context() {
    let host = host().await;

    let channel = channel(&host).await;

    let context = &channel["context"];
    assert_eq!(context["tid"], context::TENANT_ID);
    assert_eq!(context["teamId"], context::TEAM_ID);
    assert_eq!(context["teamName"], context::TEAM_NAME);
    assert_eq!(context["groupId"], context::GROUP_ID);
    assert_eq!(context["channelId"], context::CHANNEL_ID);
    assert_eq!(context["channelName"], context::CHANNEL_NAME);
    assert_eq!(context["channelType"], "Regular");
    assert_eq!(context["userObjectId"], context::USER_OBJECT_ID);
    assert_eq!(context["userPrincipalName"], context::USER_PRINCIPAL_NAME);
    assert_eq!(context["loginHint"], context::USER_PRINCIPAL_NAME);
    assert_eq!(context["locale"], "en-US");
    assert_eq!(channel["configPath"], "/config/");
    assert_eq!(channel["connectors"], json!([]));
}

#[tokio::test]
async fn context_ids_have_teams_shapes() {
    for guid in [
        context::TENANT_ID,
        context::GROUP_ID,
        context::USER_OBJECT_ID,
    ] {
        assert!(uuid::Uuid::parse_str(guid).is_ok(), "{guid} is no GUID");
    }
    for thread in [context::TEAM_ID, context::CHANNEL_ID] {
        assert!(thread.starts_with("19:"), "{thread} lacks 19:");
        assert!(thread.ends_with("@thread.tacv2"), "{thread} lacks suffix");
    }
}

#[tokio::test]
async fn create_issues_webhook_on_host_origin() {
    let host = host().await;

    let created = create_connector(&host).await;

    assert_eq!(created["status"], "pending");
    assert_eq!(created["settings"], Value::Null);
    let webhook_url = string(&created["webhookUrl"]);
    let prefix = format!("{}/webhooks/", host.origin());
    let token = webhook_url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{webhook_url} is not under {prefix}"));
    assert_eq!(token.len(), 32);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));

    let listed = &channel(&host).await["connectors"];
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["instanceId"], created["instanceId"]);
    assert_eq!(listed[0]["webhookUrl"], created["webhookUrl"]);
}

#[tokio::test]
async fn webhook_post_stored_and_listed() {
    let host = host().await;
    let created = create_connector(&host).await;
    let webhook_url = string(&created["webhookUrl"]);
    let first = json!({"@type": "MessageCard", "summary": "Task \"A\" created"});
    let second = json!({"type": "message", "attachments": []});

    let response = post_webhook(webhook_url, first.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "1");
    let response = post_webhook(webhook_url, second.to_string()).await;
    assert_eq!(response.status(), StatusCode::OK);

    let posts = &channel(&host).await["connectors"][0]["posts"];
    assert_eq!(posts.as_array().unwrap().len(), 2);
    assert_eq!(posts[0]["body"], second);
    assert_eq!(posts[1]["body"], first);
    let received_at = string(&posts[0]["receivedAt"]);
    assert!(received_at.contains('T'), "{received_at} is not RFC 3339");
    let delivered = json!({"state": "sent", "status": 200, "body": "1"});
    assert_eq!(posts[0]["response"], delivered);
    assert_eq!(posts[0]["behavior"], "ok");
    assert_ne!(posts[0]["id"], posts[1]["id"]);
}

#[tokio::test]
async fn webhook_post_keeps_key_order() {
    let host = host().await;
    let created = create_connector(&host).await;

    let response = post_webhook(string(&created["webhookUrl"]), r#"{"zeta":1,"alpha":2}"#).await;
    assert_eq!(response.status(), StatusCode::OK);

    let channel = client()
        .get(host.at("/host/api/channel"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        channel.contains(r#""body":{"zeta":1,"alpha":2}"#),
        "{channel}"
    );
}

#[tokio::test]
async fn removed_webhook_answers_410() {
    let host = host().await;
    let created = create_connector(&host).await;
    let instance_id = string(&created["instanceId"]);
    let connector_url = host.at(&format!("/host/api/connectors/{instance_id}"));

    let removed = client().delete(&connector_url).send().await.unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let response = post_webhook(string(&created["webhookUrl"]), "{}").await;

    assert_eq!(response.status(), StatusCode::GONE);
    assert_eq!(channel(&host).await["connectors"], json!([]));
    let again = client().delete(&connector_url).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_webhook_answers_404() {
    let host = host().await;
    create_connector(&host).await;

    let response = post_webhook(&host.at("/webhooks/00000000000000000000000000000000"), "{}").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_webhook_post_answers_413() {
    let host = host().await;
    let created = create_connector(&host).await;
    let webhook_url = string(&created["webhookUrl"]);
    // `{"text":"…"}` is 11 bytes around the padding.
    let body_of_size = |size: usize| format!(r#"{{"text":"{}"}}"#, "x".repeat(size - 11));

    let at_limit = post_webhook(webhook_url, body_of_size(MAX_WEBHOOK_BODY_BYTES)).await;
    let over_limit = post_webhook(webhook_url, body_of_size(MAX_WEBHOOK_BODY_BYTES + 1)).await;

    assert_eq!(at_limit.status(), StatusCode::OK);
    assert_eq!(over_limit.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let posts = &channel(&host).await["connectors"][0]["posts"];
    assert_eq!(posts.as_array().unwrap().len(), 2);
    assert_eq!(posts[0]["body"], Value::Null);
    assert_eq!(posts[0]["bodyText"], Value::Null);
    assert_eq!(posts[0]["response"]["status"], 413);
    assert_eq!(posts[1]["response"]["status"], 200);
}

#[tokio::test]
async fn invalid_payloads_get_400_and_listed() {
    let host = host().await;
    let created = create_connector(&host).await;
    let webhook_url = string(&created["webhookUrl"]);

    let not_json = post_webhook(webhook_url, "not json").await;
    let no_summary = post_webhook(webhook_url, r#"{"@type":"MessageCard"}"#).await;

    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        not_json.text().await.unwrap(),
        "Bad payload received by generic incoming webhook."
    );
    assert_eq!(no_summary.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        no_summary.text().await.unwrap(),
        "Summary or Text is required."
    );
    let posts = &channel(&host).await["connectors"][0]["posts"];
    assert_eq!(posts[1]["body"], Value::Null);
    assert_eq!(posts[1]["bodyText"], "not json");
    assert_eq!(
        posts[1]["response"],
        json!({"state": "sent", "status": 400, "body": "Bad payload received by generic incoming webhook."})
    );
    assert_eq!(posts[0]["body"], json!({"@type": "MessageCard"}));
    assert_eq!(posts[0]["response"]["status"], 400);
}

#[tokio::test]
async fn saved_settings_mark_connector_configured() {
    let host = host().await;
    let created = create_connector(&host).await;
    let instance_id = string(&created["instanceId"]);
    let settings = json!({
        "entityId": "5d0c2a4e-8f1b-4c3d-9e7a-6b5f4d3c2b1a",
        "configName": "Tasks created",
        "contentUrl": format!("{}/config/", host.origin()),
    });

    let response = client()
        .put(host.at(&format!("/host/api/connectors/{instance_id}/settings")))
        .json(&settings)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let listed = &channel(&host).await["connectors"][0];
    assert_eq!(listed["status"], "configured");
    assert_eq!(listed["settings"], settings);
}

#[tokio::test]
async fn invalid_settings_rejected() {
    let host = host().await;
    let created = create_connector(&host).await;
    let settings_url = host.at(&format!(
        "/host/api/connectors/{}/settings",
        string(&created["instanceId"])
    ));
    let cases = [
        (json!(["entityId"]), "invalid_settings"),
        (json!({"configName": "No id"}), "missing_entity_id"),
        (json!({"entityId": "  "}), "missing_entity_id"),
    ];

    for (settings, code) in cases {
        let response = client()
            .put(&settings_url)
            .json(&settings)
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{settings}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], code, "{settings}");
    }
    assert_eq!(channel(&host).await["connectors"][0]["status"], "pending");
}

#[tokio::test]
async fn settings_for_unknown_instance_404() {
    let host = host().await;

    let response = client()
        .put(host.at("/host/api/connectors/unknown/settings"))
        .json(&json!({"entityId": "e"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "not_found");
}

#[tokio::test]
async fn serve_returns_after_shutdown() {
    let host = host().await;
    assert_eq!(channel(&host).await["configPath"], "/config/");

    let result = host.stop().await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn serve_rejects_config_path_to_other_host() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let settings = Settings {
        backend_url: closed_port_url().await,
        config_path: "//other.example/config/".to_owned(),
        events_api_key: None,
    };

    let result = serve(listener, settings, async {}).await;

    let error = result.expect_err("serve accepted a protocol-relative path");
    assert!(error.to_string().contains("configuration path"), "{error}");
}

//! Webhook behaviours: each connector's webhook URL responds as the behaviour
//! chosen for it sets, and every post is listed with its response.

mod common;

use std::time::{Duration, Instant};

use common::{Server, channel, client, closed_port_url, create_connector, post_webhook, string};
use local_teams_host::SLOW_RESPONSE_DELAY;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// How a behaviour's response body is checked.
enum Body {
    Exact(&'static str),
    StartsWith(&'static str),
}

/// Every behaviour but `slow`, with the response it must give to a valid card.
const FIXED_BEHAVIORS: [(&str, u16, Body); 8] = [
    ("ok", 200, Body::Exact("1")),
    (
        "throttled-in-200",
        200,
        Body::StartsWith("Microsoft Teams endpoint returned HTTP error 429 with ContextId "),
    ),
    ("too-many-requests", 429, Body::StartsWith("")),
    (
        "gone",
        410,
        Body::Exact("The connector that owned this webhook URL was removed. Stop sending to it."),
    ),
    (
        "not-found",
        404,
        Body::Exact(
            "No connector has this webhook URL. Configure the connector again to get a new one.",
        ),
    ),
    (
        "payload-too-large",
        413,
        Body::StartsWith("The message is larger than 28 KB"),
    ),
    (
        "bad-request-in-200",
        200,
        Body::StartsWith(
            "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 400 with ContextId ",
        ),
    ),
    ("server-error", 500, Body::StartsWith("")),
];

async fn host() -> Server {
    common::start_host(closed_port_url().await).await
}

fn card() -> String {
    json!({"@type": "MessageCard", "summary": "Task \"Q3\" created"}).to_string()
}

async fn set_behavior(host: &Server, instance_id: &str, behavior: &str) -> reqwest::Response {
    client()
        .put(host.at(&format!("/host/api/connectors/{instance_id}/behavior")))
        .json(&json!({ "behavior": behavior }))
        .send()
        .await
        .unwrap()
}

/// Creates a connector with `behavior` and returns its instance id and
/// webhook URL.
async fn connector_with(host: &Server, behavior: &str) -> (String, String) {
    let created = create_connector(host).await;
    let instance_id = string(&created["instanceId"]).to_owned();
    let response = set_behavior(host, &instance_id, behavior).await;
    assert_eq!(response.status(), StatusCode::OK, "{behavior}");
    (instance_id, string(&created["webhookUrl"]).to_owned())
}

async fn connector(host: &Server, instance_id: &str) -> Value {
    let channel = channel(host).await;
    channel["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["instanceId"] == instance_id)
        .cloned()
        .unwrap_or_else(|| panic!("connector {instance_id} not listed"))
}

/// Fetches the channel until `instance_id`'s newest post is in `state`.
async fn wait_for_response_state(host: &Server, instance_id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let post = connector(host, instance_id).await["posts"][0].clone();
        if post["response"]["state"] == state {
            return post;
        }
        assert!(
            Instant::now() < deadline,
            "post never reached state {state}: {post}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn behavior_defaults_to_ok() {
    let host = host().await;

    let created = create_connector(&host).await;

    assert_eq!(created["behavior"], "ok");
    assert_eq!(channel(&host).await["connectors"][0]["behavior"], "ok");
}

#[tokio::test]
async fn each_behavior_responds_as_specified() {
    let host = host().await;

    for (behavior, status, expected_body) in FIXED_BEHAVIORS {
        let (instance_id, webhook_url) = connector_with(&host, behavior).await;

        let response = post_webhook(&webhook_url, card()).await;

        assert_eq!(response.status().as_u16(), status, "{behavior}");
        let body = response.text().await.unwrap();
        match expected_body {
            Body::Exact(text) => assert_eq!(body, text, "{behavior}"),
            Body::StartsWith(prefix) => {
                assert!(body.starts_with(prefix), "{behavior}: {body}");
                assert!(!body.is_empty(), "{behavior} responded with an empty body");
            }
        }

        let listed = connector(&host, &instance_id).await;
        assert_eq!(listed["behavior"], behavior);
        let post = &listed["posts"][0];
        assert_eq!(post["behavior"], behavior);
        assert_eq!(post["body"]["summary"], "Task \"Q3\" created");
        let response = json!({"state": "sent", "status": status, "body": body});
        assert_eq!(post["response"], response, "{behavior}");
    }
}

#[tokio::test]
async fn fixed_behavior_ignores_payload() {
    let host = host().await;
    let (instance_id, webhook_url) = connector_with(&host, "gone").await;

    let response = post_webhook(&webhook_url, "not json").await;

    assert_eq!(response.status(), StatusCode::GONE);
    let post = &connector(&host, &instance_id).await["posts"][0];
    assert_eq!(post["bodyText"], "not json");
    assert_eq!(post["response"]["status"], 410);
}

#[tokio::test]
async fn behavior_change_applies_to_later_posts() {
    let host = host().await;
    let (instance_id, webhook_url) = connector_with(&host, "server-error").await;
    let failed = post_webhook(&webhook_url, card()).await;

    let response = set_behavior(&host, &instance_id, "ok").await;
    let delivered = post_webhook(&webhook_url, card()).await;

    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.status(), StatusCode::OK);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["behavior"], "ok");
    assert_eq!(delivered.status(), StatusCode::OK);
    let posts = &connector(&host, &instance_id).await["posts"];
    assert_eq!(posts[0]["behavior"], "ok");
    assert_eq!(posts[1]["behavior"], "server-error");
    assert_eq!(posts[1]["response"]["status"], 500);
}

#[tokio::test]
async fn invalid_behavior_rejected() {
    let host = host().await;
    let created = create_connector(&host).await;
    let instance_id = string(&created["instanceId"]);
    let cases = [
        json!({"behavior": "sometimes"}),
        json!({"behavior": "OK"}),
        json!({}),
        json!(["ok"]),
    ];

    for body in cases {
        let response = client()
            .put(host.at(&format!("/host/api/connectors/{instance_id}/behavior")))
            .json(&body)
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "invalid_behavior", "{body}");
        let message = string(&error["message"]);
        assert!(message.contains("throttled-in-200"), "{message}");
    }
    assert_eq!(connector(&host, instance_id).await["behavior"], "ok");
}

#[tokio::test]
async fn behavior_for_unknown_instance_404() {
    let host = host().await;

    let response = set_behavior(&host, "unknown", "gone").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "not_found");
}

#[tokio::test]
async fn slow_does_not_block_other_webhooks() {
    let host = host().await;
    let (slow_id, slow_url) = connector_with(&host, "slow").await;
    let (_, fast_url) = connector_with(&host, "ok").await;
    let started = Instant::now();
    let slow = tokio::spawn(async move {
        let response = post_webhook(&slow_url, card()).await;
        (response.status(), response.text().await.unwrap())
    });
    wait_for_response_state(&host, &slow_id, "pending").await;

    let fast = post_webhook(&fast_url, card()).await;

    assert_eq!(fast.status(), StatusCode::OK);
    assert!(
        started.elapsed() < SLOW_RESPONSE_DELAY / 2,
        "the other webhook waited {:?}",
        started.elapsed()
    );
    assert!(!slow.is_finished(), "the slow webhook responded early");
    let (status, body) = slow.await.unwrap();
    assert!(started.elapsed() >= SLOW_RESPONSE_DELAY);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "1");
    let post = &connector(&host, &slow_id).await["posts"][0];
    let delivered = json!({"state": "sent", "status": 200, "body": "1"});
    assert_eq!(post["response"], delivered);
}

#[tokio::test]
async fn slow_post_abandoned_when_sender_leaves() {
    let host = host().await;
    let (instance_id, webhook_url) = connector_with(&host, "slow").await;
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let result = impatient.post(&webhook_url).body(card()).send().await;

    let error = result.expect_err("the slow webhook responded within 500 ms");
    assert!(error.is_timeout(), "{error}");
    let post = wait_for_response_state(&host, &instance_id, "abandoned").await;
    assert_eq!(post["response"], json!({"state": "abandoned"}));
}

#[tokio::test]
async fn page_offers_every_behavior() {
    let host = host().await;

    let script = client()
        .get(host.at("/host/host.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let names = FIXED_BEHAVIORS.iter().map(|(name, ..)| *name);
    for name in names.chain(["slow"]) {
        let option = format!(r#"["{name}", "#);
        assert!(script.contains(&option), "host.js offers no {name} option");
    }
}

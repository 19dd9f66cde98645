//! Event intake and card delivery over real HTTP, against a fake webhook server on
//! 127.0.0.1 that the backend reaches through its development webhook origin.

mod common;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use common::webhooks::{Behavior, FakeWebhooks};
use common::{TestServer, client, query_count, temp_database};
use connector_backend::{DeliverySettings, RateWindow, Settings};
use reqwest::StatusCode;
use rusqlite::Connection;
use serde_json::{Value, json};
use uuid::Uuid;

const API_KEY: &str = "test-events-key";

/// Settings with local delivery to `webhooks`, the events API key and small delays.
fn delivery_settings(database: &Path, webhooks: &FakeWebhooks) -> Settings {
    Settings {
        dev_webhook_origin: Some(webhooks.origin()),
        events_api_key: Some(API_KEY.to_owned()),
        delivery: DeliverySettings {
            start_worker: true,
            request_timeout: Duration::from_secs(5),
            max_attempts: 3,
            max_throttled_attempts: 3,
            backoff_base: Duration::from_millis(20),
            backoff_cap: Duration::from_millis(100),
            throttle_delay: Duration::from_millis(10),
            concurrency: 16,
            rate_windows: vec![RateWindow::new(Duration::from_secs(1), 100)],
            idle_poll: Duration::from_millis(50),
        },
        ..common::settings(database)
    }
}

/// Saves a configuration for the fake webhook `token` and returns its id.
async fn create_configuration(
    server: &TestServer,
    webhooks: &FakeWebhooks,
    token: &str,
    event_types: &[&str],
) -> String {
    let id = Uuid::new_v4().to_string();
    let response = client()
        .put(server.url(&format!("/api/configurations/{id}")))
        .json(&json!({
            "webhookUrl": webhooks.url(token),
            "eventTypes": event_types,
            "configName": format!("Channel {token}"),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    id
}

/// Posts an event with the API key and returns the response.
async fn post_event(server: &TestServer, event: &Value) -> reqwest::Response {
    client()
        .post(server.url("/api/events"))
        .bearer_auth(API_KEY)
        .json(event)
        .send()
        .await
        .unwrap()
}

/// Posts an event that must be accepted and returns its id and delivery count.
async fn accept_event(server: &TestServer, event: &Value) -> (String, u64) {
    let response = post_event(server, event).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    (
        body["eventId"].as_str().unwrap().to_owned(),
        body["deliveries"].as_u64().unwrap(),
    )
}

fn task_event(kind: &str, task_id: &str) -> Value {
    json!({"kind": kind, "taskId": task_id, "title": format!("Task {task_id}")})
}

/// Polls `condition` every 20 ms until it holds, and fails after 10 s.
async fn wait_until<F, Fut>(goal: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {goal}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Returns the number of deliveries still to send.
fn unsent(database: &Path) -> i64 {
    query_count(
        database,
        "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'retrying')",
    )
}

/// Returns the state, attempts and last error of a configuration's delivery of an event.
fn delivery_row(
    database: &Path,
    event_id: &str,
    configuration_id: &str,
) -> (String, i64, Option<String>) {
    let connection = Connection::open(database).unwrap();
    connection
        .query_row(
            "SELECT state, attempts, last_error FROM deliveries
             WHERE event_id = ?1 AND configuration_id = ?2",
            [event_id, configuration_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap()
}

fn is_active(database: &Path, configuration_id: &str) -> bool {
    let connection = Connection::open(database).unwrap();
    connection
        .query_row(
            "SELECT active FROM configurations WHERE id = ?1",
            [configuration_id],
            |row| row.get::<_, i64>(0),
        )
        .unwrap()
        == 1
}

async fn wait_until_all_sent(database: &Path) {
    wait_until("every delivery is sent or failed", || async {
        unsent(database) == 0
    })
    .await;
}

#[tokio::test]
async fn event_endpoints_require_key() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let disabled = TestServer::start(Settings {
        events_api_key: None,
        ..delivery_settings(&database, &webhooks)
    })
    .await;

    let response = post_event(&disabled, &task_event("created", "T-1")).await;

    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "events_disabled");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("CONNECTOR_EVENTS_API_KEY")
    );
    disabled.stop().await;

    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    let client = client();
    let missing = client
        .post(server.url("/api/events"))
        .json(&task_event("created", "T-1"))
        .send()
        .await
        .unwrap();
    let wrong = client
        .post(server.url("/api/events"))
        .bearer_auth("not-the-key")
        .json(&task_event("created", "T-1"))
        .send()
        .await
        .unwrap();
    let wrong_list = client
        .get(server.url(&format!("/api/events/{}/deliveries", Uuid::new_v4())))
        .bearer_auth("not-the-key")
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_list.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(query_count(&database, "SELECT COUNT(*) FROM events"), 0);
    let (_, deliveries) = accept_event(&server, &task_event("created", "T-1")).await;
    assert_eq!(deliveries, 0);
    server.stop().await;
}

#[tokio::test]
async fn invalid_events_are_rejected() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    let cases = [
        (
            json!({"kind": "deleted", "taskId": "T", "title": "x"}),
            "invalid_kind",
        ),
        (
            json!({"kind": "created", "taskId": "", "title": "x"}),
            "invalid_task_id",
        ),
        (
            json!({"kind": "created", "taskId": "T", "title": " "}),
            "invalid_title",
        ),
        (
            json!({"kind": "created", "taskId": "T", "title": "x", "dueDate": "tomorrow"}),
            "invalid_due_date",
        ),
        (
            json!({"kind": "created", "taskId": "T", "title": "x", "link": "javascript:x"}),
            "invalid_link",
        ),
        (json!({"kind": "created", "title": "x"}), "invalid_body"),
    ];

    for (event, code) in cases {
        let response = post_event(&server, &event).await;

        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{event}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], code, "{event}");
    }
    assert_eq!(query_count(&database, "SELECT COUNT(*) FROM events"), 0);
    server.stop().await;
}

#[tokio::test]
async fn configurations_get_only_chosen_event_kinds() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    let created_only = create_configuration(&server, &webhooks, "created-only", &["created"]).await;
    create_configuration(&server, &webhooks, "updated-only", &["updated"]).await;
    create_configuration(&server, &webhooks, "both", &["created", "updated"]).await;

    let (created_event, created_count) = accept_event(&server, &task_event("created", "T-1")).await;
    let (updated_event, updated_count) = accept_event(&server, &task_event("updated", "T-1")).await;
    wait_until_all_sent(&database).await;

    assert_eq!(created_count, 2);
    assert_eq!(updated_count, 2);
    let subtitles = |token: &str| -> Vec<String> {
        webhooks
            .received_by(token)
            .iter()
            .map(|received| {
                received.json()["sections"][0]["activitySubtitle"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        subtitles("created-only"),
        ["Connector added", "Task created"]
    );
    assert_eq!(
        subtitles("updated-only"),
        ["Connector added", "Task updated"]
    );
    let mut both = subtitles("both");
    both.sort();
    assert_eq!(both, ["Connector added", "Task created", "Task updated"]);

    let listed: Value = client()
        .get(server.url(&format!("/api/configurations/{created_only}/deliveries")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[0]["eventId"], created_event.as_str());
    assert_eq!(listed[0]["kind"], "created");
    assert_eq!(listed[0]["state"], "delivered");
    assert_eq!(listed[0]["attempts"], 1);
    assert_eq!(listed[1]["eventId"], Value::Null);
    assert_eq!(listed[1]["kind"], "welcome");

    let by_event: Value = client()
        .get(server.url(&format!("/api/events/{updated_event}/deliveries")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_event.as_array().unwrap().len(), 2);
    assert!(
        by_event
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["state"] == "delivered")
    );
    assert!(!by_event.to_string().contains("/webhooks/"));
    assert!(!listed.to_string().contains("/webhooks/"));
    server.stop().await;
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    let client = client();

    let event = client
        .get(server.url(&format!("/api/events/{}/deliveries", Uuid::new_v4())))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    let configuration = client
        .get(server.url(&format!(
            "/api/configurations/{}/deliveries",
            Uuid::new_v4()
        )))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    let invalid = client
        .get(server.url("/api/events/not-a-uuid/deliveries"))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();

    assert_eq!(event.status(), StatusCode::NOT_FOUND);
    assert_eq!(configuration.status(), StatusCode::NOT_FOUND);
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
}

#[tokio::test]
async fn responses_decide_delivery_states() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    // (token, behavior, final state, attempts, configuration stays active)
    let cases = [
        ("ok", Behavior::Ok, "delivered", 1, true),
        ("accepted", Behavior::Accepted, "delivered", 1, true),
        (
            "throttled-in-200",
            Behavior::ThrottledIn200,
            "failed",
            3,
            true,
        ),
        (
            "too-many-requests",
            Behavior::TooManyRequests,
            "failed",
            3,
            true,
        ),
        ("gone", Behavior::Gone, "failed", 1, false),
        ("not-found", Behavior::NotFound, "failed", 1, false),
        (
            "payload-too-large",
            Behavior::PayloadTooLarge,
            "failed",
            1,
            true,
        ),
        (
            "bad-request-in-200",
            Behavior::BadRequestIn200,
            "failed",
            1,
            true,
        ),
        ("server-error", Behavior::ServerError, "failed", 3, true),
        (
            "fails-once",
            Behavior::FailEventCards(1),
            "delivered",
            2,
            true,
        ),
    ];
    let mut ids = Vec::new();
    for (token, ..) in &cases {
        ids.push(create_configuration(&server, &webhooks, token, &["created"]).await);
    }
    wait_until_all_sent(&database).await;
    for (token, behavior, ..) in &cases {
        webhooks.set_behavior(token, *behavior);
    }

    let (event_id, deliveries) = accept_event(&server, &task_event("created", "T-1")).await;
    wait_until_all_sent(&database).await;

    assert_eq!(deliveries, cases.len() as u64);
    for ((token, _, state, attempts, active), id) in cases.iter().zip(&ids) {
        let (found_state, found_attempts, last_error) = delivery_row(&database, &event_id, id);

        assert_eq!(found_state, *state, "{token}");
        assert_eq!(found_attempts, *attempts, "{token}");
        assert_eq!(is_active(&database, id), *active, "{token}");
        if *state == "failed" {
            assert!(last_error.is_some_and(|error| !error.is_empty()), "{token}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn removed_webhook_stops_configuration() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    let id = create_configuration(&server, &webhooks, "gone", &["created"]).await;
    wait_until_all_sent(&database).await;
    // The slow response keeps the first attempt in flight while the second event is
    // accepted, so that the second delivery is pending when the webhook is found gone.
    webhooks.set_behavior("gone", Behavior::SlowGone(Duration::from_millis(300)));

    let (first, _) = accept_event(&server, &task_event("created", "T-1")).await;
    let (second, second_deliveries) = accept_event(&server, &task_event("created", "T-2")).await;
    assert_eq!(second_deliveries, 1);
    wait_until_all_sent(&database).await;
    let (_, after) = accept_event(&server, &task_event("created", "T-3")).await;

    assert!(!is_active(&database, &id));
    assert_eq!(delivery_row(&database, &first, &id).0, "failed");
    assert_eq!(delivery_row(&database, &second, &id).0, "failed");
    assert_eq!(after, 0);
    let event_posts = webhooks
        .received_by("gone")
        .iter()
        .filter(|received| received.is_event_card())
        .count();
    assert!(event_posts <= 2, "{event_posts} posts after 410");
    server.stop().await;
}

#[tokio::test]
async fn title_arrives_byte_identical() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    create_configuration(&server, &webhooks, "text", &["created"]).await;
    let title =
        "Fix \"login\" page's <b>bug</b>\nsecond line\t*stars* _under_ # 😀 Ünïcødé 日本語 \\ end";
    let description = "Line 1\r\nLine \"2\" with [link](https://example.com) & 🚀";

    accept_event(
        &server,
        &json!({
            "kind": "created",
            "taskId": "T-1",
            "title": title,
            "description": description,
            "assignee": "Zoë O'Brien",
        }),
    )
    .await;
    wait_until_all_sent(&database).await;

    let posts = webhooks.received_by("text");
    let card = posts
        .iter()
        .find(|received| received.is_event_card())
        .unwrap();
    let json = card.json();
    assert_eq!(json["sections"][0]["activityTitle"], title);
    assert_eq!(json["sections"][0]["text"], description);
    assert_eq!(json["sections"][0]["facts"][0]["value"], "Zoë O'Brien");
    // serde_json writes non-ASCII characters as UTF-8, so the encoded title appears as
    // is in the raw body.
    let encoded_title = serde_json::to_string(title).unwrap();
    let body = String::from_utf8(card.body.to_vec()).unwrap();
    assert!(body.contains(&encoded_title), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn oversized_description_is_shortened() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let server = TestServer::start(delivery_settings(&database, &webhooks)).await;
    create_configuration(&server, &webhooks, "long", &["created"]).await;
    let description = "Ünïcødé 😀 \"quoted\"\n".repeat(1_000);

    let (event_id, _) = accept_event(
        &server,
        &json!({"kind": "created", "taskId": "T-1", "title": "Long", "description": description}),
    )
    .await;
    wait_until_all_sent(&database).await;

    let posts = webhooks.received_by("long");
    let card = posts
        .iter()
        .find(|received| received.is_event_card())
        .unwrap();
    assert!(card.body.len() <= 28_672, "{} bytes", card.body.len());
    let text = card.json()["sections"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept_prefix = text.strip_suffix('…').unwrap();
    assert!(
        kept_prefix.len() > 10_000,
        "{} bytes kept",
        kept_prefix.len()
    );
    assert!(description.starts_with(kept_prefix));
    let listed: Value = client()
        .get(server.url(&format!("/api/events/{event_id}/deliveries")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["state"], "delivered");
    server.stop().await;
}

#[tokio::test]
async fn restart_mid_fanout_delivers_once() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let mut settings = delivery_settings(&database, &webhooks);
    // Every event delivery starts at once, so that the stop finds the slow ones in flight.
    settings.delivery.concurrency = 32;
    let server = TestServer::start(settings.clone()).await;
    let tokens: Vec<String> = (0..20).map(|index| format!("channel-{index:02}")).collect();
    for token in &tokens {
        create_configuration(&server, &webhooks, token, &["created"]).await;
    }
    wait_until_all_sent(&database).await;
    // Channels 0-9 respond at once, 10-14 slowly, and 15-19 fail their first two tries
    // with a Retry-After of 1 s, which outlasts the stop.
    for (index, token) in tokens.iter().enumerate() {
        let behavior = match index {
            0..=9 => Behavior::Ok,
            10..=14 => Behavior::Slow(Duration::from_millis(600)),
            _ => Behavior::FailEventCards(2),
        };
        webhooks.set_behavior(token, behavior);
    }

    let (event_id, deliveries) = accept_event(&server, &task_event("created", "T-fan")).await;
    wait_until("the fast channels received the event", || async {
        webhooks
            .received()
            .iter()
            .filter(|received| received.is_event_card() && received.delivered())
            .count()
            >= 10
    })
    .await;
    server.stop().await;

    // Stopping waited for the slow attempts in flight, and nothing was lost.
    let stopped_with = query_count(
        &database,
        "SELECT COUNT(*) FROM deliveries WHERE state = 'delivered' AND event_id IS NOT NULL",
    );
    assert!(stopped_with >= 15, "{stopped_with} delivered at stop");
    assert!(
        stopped_with < 20,
        "the restart came after the fan-out ended"
    );
    assert_eq!(
        query_count(
            &database,
            "SELECT COUNT(*) FROM deliveries WHERE event_id IS NOT NULL"
        ),
        20
    );

    let restarted = TestServer::start(settings).await;
    wait_until_all_sent(&database).await;

    assert_eq!(deliveries, 20);
    for (index, token) in tokens.iter().enumerate() {
        let event_posts: Vec<_> = webhooks
            .received_by(token)
            .into_iter()
            .filter(|received| received.is_event_card())
            .collect();
        let delivered = event_posts.iter().filter(|post| post.delivered()).count();
        assert_eq!(delivered, 1, "{token}");
        let expected_posts = if index >= 15 { 3 } else { 1 };
        assert_eq!(event_posts.len(), expected_posts, "{token}");
    }
    let listed: Value = client()
        .get(restarted.url(&format!("/api/events/{event_id}/deliveries")))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|item| item["state"] == "delivered")
    );
    restarted.stop().await;
}

#[tokio::test]
async fn second_worker_waits_for_first() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let settings = delivery_settings(&database, &webhooks);
    let first = TestServer::start(settings.clone()).await;
    let tokens: Vec<String> = (0..10).map(|index| format!("channel-{index}")).collect();
    for token in &tokens {
        create_configuration(&first, &webhooks, token, &["created"]).await;
        // Slow responses keep each claim in flight long enough for a second worker to
        // claim it too, if it could.
        webhooks.set_behavior(token, Behavior::Slow(Duration::from_millis(100)));
    }
    // Started once the first has created the database, as a standby would be.
    let second = TestServer::start(settings).await;

    accept_event(&second, &task_event("created", "T-both")).await;
    wait_until_all_sent(&database).await;
    first.stop().await;
    accept_event(&second, &task_event("created", "T-second")).await;
    wait_until_all_sent(&database).await;

    for token in &tokens {
        let posts = webhooks.received_by(token);
        let event_cards = posts.iter().filter(|post| post.is_event_card()).count();
        assert_eq!(posts.len() - event_cards, 1, "welcome cards to {token}");
        assert_eq!(event_cards, 2, "event cards to {token}");
    }
    second.stop().await;
}

#[tokio::test]
async fn rate_limit_spaces_posts_to_one_webhook() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let window = Duration::from_millis(500);
    let mut settings = delivery_settings(&database, &webhooks);
    settings.delivery.rate_windows = vec![RateWindow::new(window, 2)];
    let server = TestServer::start(settings).await;
    create_configuration(&server, &webhooks, "limited", &["created"]).await;
    create_configuration(&server, &webhooks, "other", &["created"]).await;

    for index in 0..4 {
        accept_event(&server, &task_event("created", &format!("T-{index}"))).await;
    }
    wait_until_all_sent(&database).await;

    let limited = webhooks.received_by("limited");
    assert_eq!(limited.len(), 5);
    for posts in limited.windows(3) {
        // The third post of any three waited for the first to leave the window. The
        // limiter admits before the request is sent, so arrival times may shift a little.
        let span = posts[2].at.duration_since(posts[0].at);
        assert!(span + Duration::from_millis(50) >= window, "{span:?}");
    }
    assert_eq!(webhooks.received_by("other").len(), 5);
    server.stop().await;
}

#[tokio::test]
async fn rate_limit_holds_across_restart() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let window = Duration::from_millis(1_500);
    let mut settings = delivery_settings(&database, &webhooks);
    settings.delivery.rate_windows = vec![RateWindow::new(window, 2)];
    let server = TestServer::start(settings.clone()).await;
    create_configuration(&server, &webhooks, "limited", &["created"]).await;
    accept_event(&server, &task_event("created", "T-before")).await;
    wait_until_all_sent(&database).await;
    server.stop().await;

    // The welcome card and the first event filled the window before the restart, so
    // the restarted worker must wait for the window before it sends the second event.
    let restarted = TestServer::start(settings).await;
    accept_event(&restarted, &task_event("created", "T-after")).await;
    wait_until_all_sent(&database).await;

    let posts = webhooks.received_by("limited");
    assert_eq!(posts.len(), 3);
    let span = posts[2].at.duration_since(posts[0].at);
    assert!(span + Duration::from_millis(50) >= window, "{span:?}");
    restarted.stop().await;
}

#[tokio::test]
async fn throttling_pauses_other_deliveries() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let throttle_delay = Duration::from_millis(800);
    let mut settings = delivery_settings(&database, &webhooks);
    settings.delivery.throttle_delay = throttle_delay;
    let server = TestServer::start(settings).await;
    create_configuration(&server, &webhooks, "busy", &["created"]).await;
    wait_until_all_sent(&database).await;

    webhooks.set_behavior("busy", Behavior::ThrottledIn200);
    accept_event(&server, &task_event("created", "T-throttled")).await;
    wait_until("the webhook throttled the first event", || async {
        webhooks
            .received_by("busy")
            .iter()
            .any(|received| received.is_event_card())
    })
    .await;
    webhooks.set_behavior("busy", Behavior::Ok);
    let throttled_at = webhooks.received_by("busy")[1].at;
    accept_event(&server, &task_event("created", "T-next")).await;
    wait_until_all_sent(&database).await;

    // The second event became due at once, but waited with the first event's retry
    // for the pause that the throttling imposed on the whole webhook.
    let posts = webhooks.received_by("busy");
    assert_eq!(posts.len(), 4);
    for post in &posts[2..] {
        assert!(post.is_event_card());
        let waited = post.at.duration_since(throttled_at);
        assert!(
            waited + Duration::from_millis(50) >= throttle_delay,
            "{waited:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn retry_comes_before_idle_poll() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let mut settings = delivery_settings(&database, &webhooks);
    // Longer than `wait_until` waits, so only the retry's own due time can wake the
    // worker in time.
    settings.delivery.idle_poll = Duration::from_secs(60);
    let server = TestServer::start(settings).await;
    create_configuration(&server, &webhooks, "flaky", &["created"]).await;
    wait_until_all_sent(&database).await;
    webhooks.set_behavior("flaky", Behavior::FailEventCards(1));

    accept_event(&server, &task_event("created", "T-retry")).await;
    wait_until_all_sent(&database).await;

    let event_posts: Vec<_> = webhooks
        .received_by("flaky")
        .into_iter()
        .filter(|received| received.is_event_card())
        .collect();
    assert_eq!(event_posts.len(), 2);
    assert_eq!(event_posts[0].status, 503);
    assert_eq!(event_posts[1].status, 200);
    server.stop().await;
}

#[tokio::test]
async fn retry_recorded_beside_postponement_keeps_due_time() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let mut settings = delivery_settings(&database, &webhooks);
    settings.delivery.idle_poll = Duration::from_secs(60);
    settings.delivery.rate_windows = vec![RateWindow::new(Duration::from_secs(60), 3)];
    let server = TestServer::start(settings).await;
    create_configuration(&server, &webhooks, "flaky", &["created"]).await;
    create_configuration(&server, &webhooks, "limited", &["updated"]).await;
    accept_event(&server, &task_event("updated", "T-first")).await;
    accept_event(&server, &task_event("updated", "T-second")).await;
    wait_until_all_sent(&database).await;
    webhooks.set_behavior("flaky", Behavior::FailEventCards(1));

    // The retry's outcome is written in the cycle whose claim postpones the third card
    // to the webhook at its limit, which must not hide the retry's due time.
    accept_event(&server, &task_event("created", "T-retry")).await;
    accept_event(&server, &task_event("updated", "T-limited")).await;
    wait_until("the flaky webhook got its retry", || async {
        webhooks
            .received_by("flaky")
            .iter()
            .filter(|received| received.is_event_card())
            .count()
            >= 2
    })
    .await;

    let event_posts: Vec<_> = webhooks
        .received_by("flaky")
        .into_iter()
        .filter(|received| received.is_event_card())
        .collect();
    assert_eq!(event_posts[0].status, 503);
    assert_eq!(event_posts[1].status, 200);
    server.stop().await;
}

#[tokio::test]
async fn given_back_deliveries_keep_rate_budget() {
    let webhooks = FakeWebhooks::start().await;
    let (_directory, database) = temp_database();
    let mut settings = delivery_settings(&database, &webhooks);
    // One sender and a webhook slower than the 250 ms that a claimed delivery may wait
    // for a sender, so the second event's delivery is given back at least once.
    settings.delivery.concurrency = 1;
    settings.delivery.rate_windows = vec![RateWindow::new(Duration::from_secs(60), 3)];
    let server = TestServer::start(settings).await;
    let configuration_id = create_configuration(&server, &webhooks, "slow", &["created"]).await;
    wait_until_all_sent(&database).await;
    webhooks.set_behavior("slow", Behavior::Slow(Duration::from_millis(400)));

    accept_event(&server, &task_event("created", "T-first")).await;
    accept_event(&server, &task_event("created", "T-second")).await;
    wait_until_all_sent(&database).await;

    // The welcome card and the two events use the whole budget of three. A given-back
    // delivery that still counted would have postponed the second event by a minute.
    let posts = webhooks.received_by("slow");
    assert_eq!(posts.len(), 3);
    assert!(posts.iter().all(|post| post.delivered()));
    // The history counts exactly the three requests sent, 8 bytes each.
    let history_bytes = query_count(
        &database,
        &format!(
            "SELECT length(sent_at) FROM webhook_send_history
             WHERE configuration_id = '{configuration_id}'"
        ),
    );
    assert_eq!(history_bytes, 24);
    server.stop().await;
}

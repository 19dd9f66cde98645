//! Browser tests of the configuration page against a stand-in for TeamsJS
//! and `fetch` (`teams_stand_in.js`). Run with
//! `wasm-pack test --headless --chrome`.

#![cfg(target_arch = "wasm32")]

use connector_config_page::App;
use gloo_timers::future::TimeoutFuture;
use js_sys::Promise;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/teams_stand_in.js")]
extern "C" {
    #[wasm_bindgen(js_name = installTeams)]
    fn install_teams(options_json: &str);

    #[wasm_bindgen(js_name = uninstallTeams)]
    fn uninstall_teams();

    #[wasm_bindgen(js_name = replyToFetch)]
    fn reply_to_fetch(replies_json: &str);

    #[wasm_bindgen(js_name = fetchRequestsJson)]
    fn fetch_requests_json() -> String;

    #[wasm_bindgen(js_name = validityStatesJson)]
    fn validity_states_json() -> String;

    #[wasm_bindgen(js_name = setConfigCallsJson)]
    fn set_config_calls_json() -> String;

    #[wasm_bindgen(js_name = handlersRegistered)]
    fn handlers_registered() -> bool;

    #[wasm_bindgen(js_name = clickSave)]
    fn click_save(webhook_url: Option<String>) -> Promise;

    #[wasm_bindgen(js_name = clickRemove)]
    fn click_remove() -> Promise;

    #[wasm_bindgen(js_name = changeTheme)]
    fn change_theme(name: &str);
}

const WEBHOOK_URL: &str =
    "https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner";
const SAVED_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

fn teams_context() -> Value {
    json!({
        "app": { "locale": "en-US", "theme": "default" },
        "page": { "id": "", "frameContext": "settings" },
        "user": { "id": "user-1", "tenant": { "id": "tenant-1" } },
        "team": { "internalId": "19:team@thread.tacv2", "groupId": "group-1" },
        "channel": { "id": "19:channel@thread.tacv2" }
    })
}

/// Options for a first-time configuration in a channel.
fn new_connector() -> Value {
    json!({
        "context": teams_context(),
        "config": { "appType": "teams", "userObjectId": "user-1" },
        "webhookUrlAfterSetConfig": WEBHOOK_URL
    })
}

/// A mounted page; dropping it removes its element.
struct Page {
    root: HtmlElement,
}

impl Page {
    fn mount() -> Page {
        let document = web_sys::window().unwrap().document().unwrap();
        let root: HtmlElement = document.create_element("div").unwrap().unchecked_into();
        document.body().unwrap().append_child(&root).unwrap();
        leptos::mount::mount_to(root.clone(), App).forget();
        Page { root }
    }

    fn find(&self, selector: &str) -> Option<web_sys::Element> {
        self.root.query_selector(selector).unwrap()
    }

    fn checkbox(&self, id: &str) -> HtmlInputElement {
        self.find(&format!("#{id}"))
            .unwrap_or_else(|| panic!("#{id} is not on the page"))
            .unchecked_into()
    }

    fn text(&self, selector: &str) -> String {
        self.find(selector)
            .and_then(|element| element.text_content())
            .unwrap_or_default()
    }

    fn status(&self) -> String {
        self.text("#status")
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.root.remove();
    }
}

async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..300 {
        if condition() {
            return;
        }
        TimeoutFuture::new(10).await;
    }
    panic!("timed out waiting for {what}");
}

/// Mounts the page and waits until it has finished starting up.
async fn open_page(options: Value) -> Page {
    install_teams(&options.to_string());
    let page = Page::mount();
    wait_for("the page to leave the loading states", || {
        let status = page.status();
        !status.is_empty() && !status.starts_with("Connecting") && !status.starts_with("Loading")
    })
    .await;
    page
}

fn last_validity() -> Option<bool> {
    serde_json::from_str::<Vec<bool>>(&validity_states_json())
        .unwrap()
        .last()
        .copied()
}

fn fetch_requests() -> Vec<Value> {
    serde_json::from_str(&fetch_requests_json()).unwrap()
}

fn set_config_calls() -> Vec<Value> {
    serde_json::from_str(&set_config_calls_json()).unwrap()
}

async fn settle(promise: Promise) -> Value {
    let outcome = JsFuture::from(promise).await.unwrap();
    serde_json::from_str(&outcome.as_string().unwrap()).unwrap()
}

async fn save(webhook_url: Option<&str>) -> Value {
    settle(click_save(webhook_url.map(str::to_owned))).await
}

#[wasm_bindgen_test]
async fn validity_follows_choice() {
    reply_to_fetch("{}");
    let page = open_page(new_connector()).await;
    wait_for("the first validity state", || last_validity().is_some()).await;
    assert_eq!(last_validity(), Some(false));

    page.checkbox("event-created").click();
    wait_for("validity after checking Created", || {
        last_validity() == Some(true)
    })
    .await;

    page.checkbox("event-updated").click();
    page.checkbox("event-created").click();
    TimeoutFuture::new(20).await;
    assert_eq!(last_validity(), Some(true));

    page.checkbox("event-updated").click();
    wait_for("validity after unchecking all", || {
        last_validity() == Some(false)
    })
    .await;
}

#[wasm_bindgen_test]
async fn form_has_labelled_checkboxes_in_fieldset() {
    reply_to_fetch("{}");
    let page = open_page(new_connector()).await;

    assert_eq!(
        page.text("fieldset legend"),
        "Send notifications when tasks are"
    );
    assert_eq!(page.text("label[for=event-created]"), "Created");
    assert_eq!(page.text("label[for=event-updated]"), "Updated");
    assert!(page.find("fieldset #event-created").is_some());
    assert_eq!(
        page.find("#status")
            .and_then(|status| status.get_attribute("aria-live")),
        Some("polite".to_owned())
    );
}

#[wasm_bindgen_test]
async fn save_sends_choice_at_click_time() {
    reply_to_fetch(&json!({ "PUT": { "status": 201, "body": "{}" } }).to_string());
    let page = open_page(new_connector()).await;
    assert!(handlers_registered());

    page.checkbox("event-created").click();
    page.checkbox("event-updated").click();
    let outcome = save(Some(
        "https://example.invalid/ignored-because-getconfig-has-one",
    ))
    .await;

    assert_eq!(outcome, json!({ "outcome": "success" }));
    let calls = set_config_calls();
    assert_eq!(calls.len(), 1);
    let entity_id = calls[0]["entityId"].as_str().unwrap().to_owned();
    assert_eq!(entity_id.len(), 36);
    assert_eq!(
        calls[0]["configName"],
        "Task notifications: created and updated"
    );
    assert!(
        calls[0]["contentUrl"]
            .as_str()
            .unwrap()
            .starts_with("http://")
    );
    assert_eq!(calls[0]["removeUrl"], calls[0]["contentUrl"]);

    let requests = fetch_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["method"], "PUT");
    assert_eq!(
        requests[0]["path"],
        format!("/api/configurations/{entity_id}")
    );
    assert_eq!(requests[0]["contentType"], "application/json");
    let body: Value = serde_json::from_str(requests[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["webhookUrl"], WEBHOOK_URL);
    assert_eq!(body["eventTypes"], json!(["created", "updated"]));
    assert_eq!(body["context"]["tenantId"], "tenant-1");
    assert_eq!(body["context"]["channelId"], "19:channel@thread.tacv2");
    assert_eq!(body["context"]["teamId"], "19:team@thread.tacv2");
    assert_eq!(body["context"]["groupId"], "group-1");
    assert_eq!(body["context"]["userObjectId"], "user-1");
    assert_eq!(body["context"]["appType"], "teams");
    assert!(page.status().starts_with("Saved"));
}

#[wasm_bindgen_test]
async fn save_uses_event_webhook_url_when_config_has_none() {
    reply_to_fetch(&json!({ "PUT": { "status": 200, "body": "{}" } }).to_string());
    let mut options = new_connector();
    options["webhookUrlAfterSetConfig"] = Value::Null;
    let page = open_page(options).await;

    page.checkbox("event-created").click();
    let outcome = save(Some(WEBHOOK_URL)).await;

    assert_eq!(outcome, json!({ "outcome": "success" }));
    let body: Value = serde_json::from_str(fetch_requests()[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["webhookUrl"], WEBHOOK_URL);
}

#[wasm_bindgen_test]
async fn save_fails_without_webhook_url() {
    reply_to_fetch(&json!({ "PUT": { "status": 201, "body": "{}" } }).to_string());
    let mut options = new_connector();
    options["webhookUrlAfterSetConfig"] = Value::Null;
    let page = open_page(options).await;

    page.checkbox("event-created").click();
    let outcome = save(None).await;

    assert_eq!(outcome["outcome"], "failure");
    let reason = outcome["reason"].as_str().unwrap();
    assert!(reason.contains("did not provide a webhook URL"), "{reason}");
    assert!(fetch_requests().is_empty());
    assert_eq!(page.status(), reason);
}

#[wasm_bindgen_test]
async fn save_fails_when_set_config_rejects() {
    reply_to_fetch(&json!({ "PUT": { "status": 201, "body": "{}" } }).to_string());
    let mut options = new_connector();
    options["setConfigError"] = json!("The host could not store the settings.");
    let page = open_page(options).await;

    page.checkbox("event-updated").click();
    let outcome = save(Some(WEBHOOK_URL)).await;

    assert_eq!(outcome["outcome"], "failure");
    let reason = outcome["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("Teams did not accept the settings"),
        "{reason}"
    );
    assert!(
        reason.contains("The host could not store the settings."),
        "{reason}"
    );
    assert!(fetch_requests().is_empty());
}

#[wasm_bindgen_test]
async fn save_fails_with_backend_message_on_4xx() {
    let message = "The webhook URL must use https. Copy the incoming webhook URL again.";
    let reply = json!({ "code": "invalid_webhook_url", "message": message });
    reply_to_fetch(&json!({ "PUT": { "status": 400, "body": reply.to_string() } }).to_string());
    let page = open_page(new_connector()).await;

    page.checkbox("event-created").click();
    let outcome = save(Some(WEBHOOK_URL)).await;

    assert_eq!(outcome, json!({ "outcome": "failure", "reason": message }));
    assert_eq!(page.status(), message);
}

#[wasm_bindgen_test]
async fn save_fails_on_5xx_without_body() {
    let reply =
        json!({ "status": 500, "body": "Internal Server Error", "contentType": "text/plain" });
    reply_to_fetch(&json!({ "PUT": reply }).to_string());
    let page = open_page(new_connector()).await;

    page.checkbox("event-created").click();
    let outcome = save(Some(WEBHOOK_URL)).await;

    assert_eq!(outcome["outcome"], "failure");
    let reason = outcome["reason"].as_str().unwrap();
    assert!(reason.contains("HTTP status 500"), "{reason}");
}

#[wasm_bindgen_test]
async fn save_fails_when_backend_unreachable() {
    reply_to_fetch(&json!({ "PUT": { "networkError": true } }).to_string());
    let page = open_page(new_connector()).await;

    page.checkbox("event-created").click();
    let outcome = save(Some(WEBHOOK_URL)).await;

    assert_eq!(outcome["outcome"], "failure");
    let reason = outcome["reason"].as_str().unwrap();
    assert!(reason.contains("not reachable"), "{reason}");
}

#[wasm_bindgen_test]
async fn save_without_choice_fails() {
    reply_to_fetch(&json!({ "PUT": { "status": 201, "body": "{}" } }).to_string());
    let _page = open_page(new_connector()).await;

    let outcome = save(Some(WEBHOOK_URL)).await;

    assert_eq!(outcome["outcome"], "failure");
    assert!(set_config_calls().is_empty());
    assert!(fetch_requests().is_empty());
}

#[wasm_bindgen_test]
async fn reconfiguration_restores_saved_choice() {
    let saved = json!({
        "id": SAVED_ID,
        "eventTypes": ["updated"],
        "configName": "Task notifications: updated",
        "createdAt": "2026-12-01T10:00:00Z",
        "updatedAt": "2026-12-01T10:00:00Z"
    });
    reply_to_fetch(&json!({ "GET": { "status": 200, "body": saved.to_string() } }).to_string());
    let mut options = new_connector();
    options["config"]["entityId"] = json!(SAVED_ID);
    let page = open_page(options).await;

    assert!(page.checkbox("event-updated").checked());
    assert!(!page.checkbox("event-created").checked());
    wait_for("validity of the restored choice", || {
        last_validity() == Some(true)
    })
    .await;
    assert_eq!(
        fetch_requests()[0]["path"],
        format!("/api/configurations/{SAVED_ID}")
    );
}

#[wasm_bindgen_test]
async fn reconfiguration_saves_under_same_id() {
    let saved = json!({ "id": SAVED_ID, "eventTypes": ["created"], "configName": "x" });
    let replies = json!({
        "GET": { "status": 200, "body": saved.to_string() },
        "PUT": { "status": 200, "body": "{}" }
    });
    reply_to_fetch(&replies.to_string());
    let mut options = new_connector();
    options["config"]["entityId"] = json!(SAVED_ID);
    let page = open_page(options).await;

    page.checkbox("event-updated").click();
    let outcome = save(None).await;

    assert_eq!(outcome, json!({ "outcome": "success" }));
    assert_eq!(set_config_calls()[0]["entityId"], SAVED_ID);
    let put = &fetch_requests()[1];
    assert_eq!(put["path"], format!("/api/configurations/{SAVED_ID}"));
}

#[wasm_bindgen_test]
async fn restore_failure_is_shown() {
    reply_to_fetch(&json!({ "GET": { "networkError": true } }).to_string());
    let mut options = new_connector();
    options["config"]["entityId"] = json!(SAVED_ID);
    let page = open_page(options).await;

    let status = page.status();
    assert!(
        status.starts_with("Could not load the saved choice."),
        "{status}"
    );
}

#[wasm_bindgen_test]
async fn remove_deletes_configuration() {
    reply_to_fetch(&json!({ "DELETE": { "status": 204 } }).to_string());
    let mut options = new_connector();
    options["config"]["entityId"] = json!(SAVED_ID);
    let _page = open_page(options).await;

    let outcome = settle(click_remove()).await;

    assert_eq!(outcome, json!({ "outcome": "success" }));
    let delete = fetch_requests()
        .into_iter()
        .find(|request| request["method"] == "DELETE");
    let delete = delete.expect("the page sent no DELETE request");
    assert_eq!(delete["path"], format!("/api/configurations/{SAVED_ID}"));
}

#[wasm_bindgen_test]
async fn remove_failure_is_reported() {
    let reply = json!({ "status": 503, "body": "unavailable", "contentType": "text/plain" });
    reply_to_fetch(&json!({ "DELETE": reply }).to_string());
    let _page = open_page(new_connector()).await;

    let outcome = settle(click_remove()).await;

    assert_eq!(outcome["outcome"], "failure");
    let reason = outcome["reason"].as_str().unwrap();
    assert!(reason.contains("HTTP status 503"), "{reason}");
}

#[wasm_bindgen_test]
async fn outside_teams_shows_explanation() {
    reply_to_fetch("{}");
    install_teams(
        &json!({ "initializeError": "Initialization Failed. No Parent window found." }).to_string(),
    );
    let page = Page::mount();

    wait_for("the outside-Teams message", || {
        page.find("#outside-teams").is_some()
    })
    .await;

    let message = page.text("#outside-teams");
    let detail = page.text(".outside-teams .detail");
    assert!(message.contains("works only inside Teams"), "{message}");
    assert!(detail.contains("No Parent window found"), "{detail}");
    assert!(page.find("#event-created").is_none());
}

#[wasm_bindgen_test]
async fn missing_library_shows_explanation() {
    reply_to_fetch("{}");
    install_teams("{}");
    uninstall_teams();
    let page = Page::mount();

    wait_for("the outside-Teams message", || {
        page.find("#outside-teams").is_some()
    })
    .await;

    let detail = page.text(".outside-teams .detail");
    assert!(detail.contains("library did not load"), "{detail}");
}

fn root_attribute(name: &str) -> Option<String> {
    let document = web_sys::window().unwrap().document().unwrap();
    document.document_element().unwrap().get_attribute(name)
}

fn with_locale_and_theme(locale: &str, theme: &str) -> Value {
    let mut options = new_connector();
    options["context"]["app"] = json!({ "locale": locale, "theme": theme });
    options
}

#[wasm_bindgen_test]
async fn page_uses_context_locale() {
    reply_to_fetch("{}");
    let page = open_page(with_locale_and_theme("de-DE", "default")).await;

    assert_eq!(
        page.text("fieldset legend"),
        "Benachrichtigen, wenn Aufgaben"
    );
    assert_eq!(page.text("label[for=event-created]"), "erstellt werden");
    assert!(page.status().starts_with("Wählen Sie"), "{}", page.status());
    assert_eq!(root_attribute("lang").as_deref(), Some("de"));
    assert_eq!(root_attribute("dir").as_deref(), Some("ltr"));
}

#[wasm_bindgen_test]
async fn arabic_page_is_right_to_left() {
    reply_to_fetch("{}");
    let page = open_page(with_locale_and_theme("ar-SA", "default")).await;

    assert_eq!(page.text("label[for=event-created]"), "منشأة");
    assert_eq!(root_attribute("lang").as_deref(), Some("ar"));
    assert_eq!(root_attribute("dir").as_deref(), Some("rtl"));
}

#[wasm_bindgen_test]
async fn unknown_locale_falls_back_to_english() {
    reply_to_fetch("{}");
    let page = open_page(with_locale_and_theme("fr-FR", "default")).await;

    assert_eq!(
        page.text("fieldset legend"),
        "Send notifications when tasks are"
    );
    assert_eq!(root_attribute("lang").as_deref(), Some("en"));
}

#[wasm_bindgen_test]
async fn failure_reason_uses_user_language() {
    reply_to_fetch("{}");
    let mut options = with_locale_and_theme("ja-JP", "default");
    options["webhookUrlAfterSetConfig"] = Value::Null;
    let page = open_page(options).await;

    page.checkbox("event-created").click();
    let outcome = save(None).await;

    assert_eq!(outcome["outcome"], "failure");
    let reason = outcome["reason"].as_str().unwrap();
    assert!(
        reason.contains("Webhook URL を提供しませんでした"),
        "{reason}"
    );
    assert_eq!(set_config_calls()[0]["configName"], "タスク通知: 作成");
}

#[wasm_bindgen_test]
async fn theme_follows_context_and_changes() {
    reply_to_fetch("{}");
    let _page = open_page(with_locale_and_theme("en-US", "dark")).await;
    wait_for("the dark theme", || {
        root_attribute("data-theme").as_deref() == Some("dark")
    })
    .await;

    change_theme("contrast");
    wait_for("the contrast theme", || {
        root_attribute("data-theme").as_deref() == Some("contrast")
    })
    .await;

    change_theme("default");
    wait_for("the default theme", || {
        root_attribute("data-theme").as_deref() == Some("default")
    })
    .await;
}

#[wasm_bindgen_test]
async fn remove_context_locks_form() {
    let saved = json!({ "id": SAVED_ID, "eventTypes": ["created"], "configName": "x" });
    reply_to_fetch(&json!({ "GET": { "status": 200, "body": saved.to_string() } }).to_string());
    let mut options = new_connector();
    options["context"]["page"]["frameContext"] = json!("remove");
    options["config"]["entityId"] = json!(SAVED_ID);
    let page = open_page(options).await;

    assert!(
        page.status().starts_with("Select Remove"),
        "{}",
        page.status()
    );
    assert!(
        !handlers_registered(),
        "the save handler was registered for removal"
    );
    assert!(page.checkbox("event-created").checked());
    let fieldset = page.find("fieldset").unwrap();
    assert!(
        fieldset
            .unchecked_into::<web_sys::HtmlFieldSetElement>()
            .disabled()
    );
}

#[wasm_bindgen_test]
async fn missing_saved_choice_is_reported() {
    let reply = json!({ "code": "not_found", "message": "No configuration has this id." });
    reply_to_fetch(&json!({ "GET": { "status": 404, "body": reply.to_string() } }).to_string());
    let mut options = new_connector();
    options["config"]["entityId"] = json!(SAVED_ID);
    let page = open_page(options).await;

    let status = page.status();
    assert!(
        status.starts_with("The saved choice was not found"),
        "{status}"
    );
    assert!(!page.checkbox("event-created").checked());
}

#[wasm_bindgen_test]
async fn hint_turns_red_only_after_change() {
    reply_to_fetch("{}");
    let page = open_page(new_connector()).await;
    let hint = || page.find("#choice-hint").unwrap().class_list();
    assert!(!hint().contains("invalid"));

    page.checkbox("event-created").click();
    page.checkbox("event-created").click();
    TimeoutFuture::new(20).await;

    assert!(hint().contains("invalid"));
}

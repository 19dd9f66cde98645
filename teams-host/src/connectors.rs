//! Connector instances of the channel, their saved settings and the webhook
//! posts they received.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::behavior::{WebhookBehavior, WebhookResponse};

/// Number of webhook posts kept per connector. Older posts are dropped.
pub const MAX_POSTS_PER_CONNECTOR: usize = 100;

/// In-memory store of the connector instances added to the channel.
///
/// TODO: the store lives only in memory, so every connector and post is lost
/// when the host restarts, while the backend still stores their configurations.
pub struct ConnectorStore {
    webhook_base: String,
    inner: Mutex<Instances>,
}

#[derive(Default)]
struct Instances {
    instances: Vec<ConnectorInstance>,
    retired_tokens: HashSet<String>,
    /// Id of the next webhook post, unique across the store.
    next_post_id: u64,
}

struct ConnectorInstance {
    instance_id: String,
    webhook_token: String,
    settings: Option<Map<String, Value>>,
    behavior: WebhookBehavior,
    posts: VecDeque<WebhookPost>,
    created_at: String,
}

/// Whether a connector instance has been saved by its configuration page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConnectorStatus {
    /// Created for a configuration dialog that has not saved yet.
    Pending,
    /// Saved at least once, so its settings are stored.
    Configured,
}

/// A connector instance as the channel API returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorView {
    pub instance_id: String,
    pub status: ConnectorStatus,
    pub webhook_url: String,
    /// The object the configuration page last passed to `setConfig` and saved.
    pub settings: Option<Map<String, Value>>,
    /// Behaviour that sets the webhook URL's responses to posts.
    pub behavior: WebhookBehavior,
    /// Webhook posts, newest first.
    pub posts: Vec<WebhookPost>,
    pub created_at: String,
}

/// One request received on a connector's webhook URL, with the response the
/// host gave.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPost {
    /// Id of the post, unique among the posts of the store.
    pub id: u64,
    /// RFC 3339 time at which the host received the post.
    pub received_at: String,
    /// The body exactly as received when it is JSON, so its key order is kept.
    pub body: Option<Box<RawValue>>,
    /// The body as text when it is not JSON. Both fields are `null` when the
    /// host did not read the body, e.g. because it was larger than 28 KB.
    pub body_text: Option<String>,
    /// The behaviour of the webhook when the post arrived.
    pub behavior: WebhookBehavior,
    pub response: PostResponse,
}

/// A webhook request body as the host keeps it.
#[derive(Clone, Debug)]
pub enum ReceivedBody {
    Json(Box<RawValue>),
    /// A body that is not JSON, with invalid UTF-8 replaced.
    Text(String),
    /// A body the host did not read.
    NotRead,
}

/// The host's response to a webhook post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum PostResponse {
    /// The host has not responded yet (the `slow` behaviour).
    Pending,
    /// The host responded with this HTTP status and plain-text body.
    Sent { status: u16, body: String },
    /// The sender closed the connection before the host responded.
    Abandoned,
}

impl From<&WebhookResponse> for PostResponse {
    fn from(response: &WebhookResponse) -> Self {
        Self::Sent {
            status: response.status.as_u16(),
            body: response.body.clone(),
        }
    }
}

/// A post stored with a pending response, and the behaviour that decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostTicket {
    pub instance_id: String,
    pub post_id: u64,
    pub behavior: WebhookBehavior,
}

/// Reason a webhook post was not stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryError {
    /// No connector was ever issued this token.
    UnknownToken,
    /// The connector that owned this token was removed.
    Removed,
}

/// Error for an instance id that names no connector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceNotFound;

impl ConnectorStore {
    /// Creates an empty store whose webhook URLs start with `origin`,
    /// e.g. `http://127.0.0.1:8080`.
    pub fn new(origin: &str) -> Self {
        Self {
            webhook_base: format!("{}/webhooks/", origin.trim_end_matches('/')),
            inner: Mutex::new(Instances::default()),
        }
    }

    /// Adds a pending connector instance with a fresh webhook token.
    pub fn create(&self) -> ConnectorView {
        let instance = ConnectorInstance {
            instance_id: Uuid::new_v4().hyphenated().to_string(),
            webhook_token: Uuid::new_v4().simple().to_string(),
            settings: None,
            behavior: WebhookBehavior::default(),
            posts: VecDeque::new(),
            created_at: now_rfc3339(),
        };
        let view = self.view(&instance);

        self.lock().instances.push(instance);
        view
    }

    /// Returns every instance, pending ones included, oldest first.
    pub fn list(&self) -> Vec<ConnectorView> {
        let instances = self.lock();
        instances.instances.iter().map(|i| self.view(i)).collect()
    }

    /// Stores the settings that the configuration page saved and marks the
    /// instance configured.
    pub fn save_settings(
        &self,
        instance_id: &str,
        settings: Map<String, Value>,
    ) -> Result<ConnectorView, InstanceNotFound> {
        let mut instances = self.lock();
        let instance = instances
            .instances
            .iter_mut()
            .find(|i| i.instance_id == instance_id)
            .ok_or(InstanceNotFound)?;

        instance.settings = Some(settings);
        Ok(self.view(instance))
    }

    /// Sets how the instance's webhook URL responds to later posts.
    pub fn set_behavior(
        &self,
        instance_id: &str,
        behavior: WebhookBehavior,
    ) -> Result<ConnectorView, InstanceNotFound> {
        let mut instances = self.lock();
        let instance = instances
            .instances
            .iter_mut()
            .find(|i| i.instance_id == instance_id)
            .ok_or(InstanceNotFound)?;

        instance.behavior = behavior;
        Ok(self.view(instance))
    }

    /// Removes an instance. Its webhook token is retired, so later posts to it
    /// are rejected as removed (HTTP 410) rather than unknown (HTTP 404).
    pub fn remove(&self, instance_id: &str) -> Result<(), InstanceNotFound> {
        let mut instances = self.lock();
        let index = instances
            .instances
            .iter()
            .position(|i| i.instance_id == instance_id)
            .ok_or(InstanceNotFound)?;

        let removed = instances.instances.remove(index);
        instances.retired_tokens.insert(removed.webhook_token);
        Ok(())
    }

    /// Checks that `token` belongs to a current instance, without storing
    /// anything.
    pub fn check_token(&self, token: &str) -> Result<(), DeliveryError> {
        let instances = self.lock();
        if instances.retired_tokens.contains(token) {
            return Err(DeliveryError::Removed);
        }
        if instances.instances.iter().any(|i| i.webhook_token == token) {
            Ok(())
        } else {
            Err(DeliveryError::UnknownToken)
        }
    }

    /// Stores a webhook post with a pending response for the instance that owns
    /// `token`, and returns the ticket that [`ConnectorStore::record_response`]
    /// takes.
    pub fn record_post(
        &self,
        token: &str,
        body: ReceivedBody,
    ) -> Result<PostTicket, DeliveryError> {
        let mut instances = self.lock();
        if instances.retired_tokens.contains(token) {
            return Err(DeliveryError::Removed);
        }
        let post_id = instances.next_post_id;
        let instance = instances
            .instances
            .iter_mut()
            .find(|i| i.webhook_token == token)
            .ok_or(DeliveryError::UnknownToken)?;

        let (body, body_text) = match body {
            ReceivedBody::Json(json) => (Some(json), None),
            ReceivedBody::Text(text) => (None, Some(text)),
            ReceivedBody::NotRead => (None, None),
        };
        instance.posts.push_front(WebhookPost {
            id: post_id,
            received_at: now_rfc3339(),
            body,
            body_text,
            behavior: instance.behavior,
            response: PostResponse::Pending,
        });
        instance.posts.truncate(MAX_POSTS_PER_CONNECTOR);
        let ticket = PostTicket {
            instance_id: instance.instance_id.clone(),
            post_id,
            behavior: instance.behavior,
        };

        instances.next_post_id += 1;
        Ok(ticket)
    }

    /// Stores the response of a pending post. A post that has a response already,
    /// dropped from the list or whose connector was removed is left alone.
    pub fn record_response(&self, ticket: &PostTicket, response: PostResponse) {
        let mut instances = self.lock();
        let post = instances
            .instances
            .iter_mut()
            .find(|i| i.instance_id == ticket.instance_id)
            .and_then(|i| i.posts.iter_mut().find(|p| p.id == ticket.post_id));

        if let Some(post) = post
            && post.response == PostResponse::Pending
        {
            post.response = response;
        }
    }

    fn view(&self, instance: &ConnectorInstance) -> ConnectorView {
        let status = if instance.settings.is_some() {
            ConnectorStatus::Configured
        } else {
            ConnectorStatus::Pending
        };

        ConnectorView {
            instance_id: instance.instance_id.clone(),
            status,
            webhook_url: format!("{}{}", self.webhook_base, instance.webhook_token),
            settings: instance.settings.clone(),
            behavior: instance.behavior,
            posts: instance.posts.iter().cloned().collect(),
            created_at: instance.created_at.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Instances> {
        // A panic while holding the lock leaves no half-written instance,
        // because every change above is a single push, remove or assignment.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .expect("the current UTC time is always formattable as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: Value) -> ReceivedBody {
        ReceivedBody::Json(RawValue::from_string(value.to_string()).unwrap())
    }

    fn token_of(view: &ConnectorView) -> String {
        view.webhook_url.rsplit('/').next().unwrap().to_owned()
    }

    #[test]
    fn create_issues_webhook_url_on_origin() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");

        let view = store.create();

        assert!(
            view.webhook_url
                .starts_with("http://127.0.0.1:8080/webhooks/")
        );
        assert_eq!(token_of(&view).len(), 32);
        assert_eq!(view.status, ConnectorStatus::Pending);
    }

    #[test]
    fn tokens_differ_between_instances() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");

        let first = store.create();
        let second = store.create();

        assert_ne!(token_of(&first), token_of(&second));
        assert_ne!(first.instance_id, second.instance_id);
    }

    #[test]
    fn save_settings_marks_configured() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");
        let view = store.create();
        let settings = json!({"entityId": "e1"}).as_object().unwrap().clone();

        let saved = store.save_settings(&view.instance_id, settings).unwrap();

        assert_eq!(saved.status, ConnectorStatus::Configured);
        assert_eq!(saved.settings.unwrap()["entityId"], "e1");
    }

    #[test]
    fn removed_token_reports_removed() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");
        let view = store.create();
        let token = token_of(&view);

        store.remove(&view.instance_id).unwrap();

        assert_eq!(
            store.record_post(&token, raw(json!({}))),
            Err(DeliveryError::Removed)
        );
        assert_eq!(store.remove(&view.instance_id), Err(InstanceNotFound));
    }

    #[test]
    fn posts_are_newest_first_and_capped() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");
        let view = store.create();
        let token = token_of(&view);

        for n in 0..MAX_POSTS_PER_CONNECTOR + 5 {
            store.record_post(&token, raw(json!({ "n": n }))).unwrap();
        }

        let posts = &store.list()[0].posts;
        assert_eq!(posts.len(), MAX_POSTS_PER_CONNECTOR);
        let newest = MAX_POSTS_PER_CONNECTOR + 4;
        let body = posts[0].body.as_ref().unwrap();
        assert_eq!(body.get(), format!(r#"{{"n":{newest}}}"#));
        assert!(posts[0].id > posts[1].id);
    }

    #[test]
    fn post_records_behavior_and_response() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");
        let view = store.create();
        store
            .set_behavior(&view.instance_id, WebhookBehavior::Gone)
            .unwrap();

        let ticket = store
            .record_post(&token_of(&view), ReceivedBody::Text("x".into()))
            .unwrap();
        assert_eq!(ticket.behavior, WebhookBehavior::Gone);
        assert_eq!(store.list()[0].posts[0].response, PostResponse::Pending);
        store.record_response(&ticket, (&WebhookResponse::gone()).into());

        let post = &store.list()[0].posts[0];
        assert_eq!(post.behavior, WebhookBehavior::Gone);
        assert_eq!(post.body_text.as_deref(), Some("x"));
        assert!(post.body.is_none());
        let PostResponse::Sent { status, .. } = &post.response else {
            panic!("post not responded: {:?}", post.response);
        };
        assert_eq!(*status, 410);
    }

    #[test]
    fn post_keeps_first_response() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");
        let view = store.create();
        let ticket = store.record_post(&token_of(&view), raw(json!({}))).unwrap();

        store.record_response(&ticket, (&WebhookResponse::delivered()).into());
        store.record_response(&ticket, PostResponse::Abandoned);

        assert_eq!(
            store.list()[0].posts[0].response,
            PostResponse::Sent {
                status: 200,
                body: "1".into()
            }
        );
    }

    #[test]
    fn set_behavior_unknown_instance() {
        let store = ConnectorStore::new("http://127.0.0.1:8080");

        let result = store.set_behavior("missing", WebhookBehavior::Slow);

        assert_eq!(result.unwrap_err(), InstanceNotFound);
    }
}

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
}

struct ConnectorInstance {
    instance_id: String,
    webhook_token: String,
    settings: Option<Map<String, Value>>,
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
    /// Webhook posts, newest first.
    pub posts: Vec<WebhookPost>,
    pub created_at: String,
}

/// One request body received on a connector's webhook URL.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPost {
    /// RFC 3339 time at which the host received the post.
    pub received_at: String,
    /// The JSON body exactly as received, so its key order is kept.
    pub body: Box<RawValue>,
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

    /// Stores a webhook post for the instance that owns `token` and returns
    /// that instance's id.
    pub fn record_post(&self, token: &str, body: Box<RawValue>) -> Result<String, DeliveryError> {
        let mut instances = self.lock();
        if instances.retired_tokens.contains(token) {
            return Err(DeliveryError::Removed);
        }
        let instance = instances
            .instances
            .iter_mut()
            .find(|i| i.webhook_token == token)
            .ok_or(DeliveryError::UnknownToken)?;

        instance.posts.push_front(WebhookPost {
            received_at: now_rfc3339(),
            body,
        });
        instance.posts.truncate(MAX_POSTS_PER_CONNECTOR);
        Ok(instance.instance_id.clone())
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

    fn raw(value: Value) -> Box<RawValue> {
        RawValue::from_string(value.to_string()).unwrap()
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
        assert_eq!(posts[0].body.get(), format!(r#"{{"n":{newest}}}"#));
    }
}

//! Connector configuration: the validated form that is stored, and the view the API returns.

use std::collections::BTreeSet;

use serde::Serialize;
use uuid::Uuid;

use crate::webhook_url::WebhookUrl;

/// Kind of task event that a configuration subscribes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Created,
    Updated,
}

impl EventType {
    /// Every event type, in the order the API lists them.
    pub const ALL: [EventType; 2] = [EventType::Created, EventType::Updated];

    /// Returns the name used in JSON and in the `configuration_event_types` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
        }
    }

    /// Parses the name used in JSON and in the database.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == name)
    }
}

/// Microsoft 365 application that shows the connector, as reported by Teams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppType {
    Mail,
    Groups,
    Teams,
}

impl AppType {
    /// Every application type, in the order error messages list them.
    pub const ALL: [AppType; 3] = [AppType::Mail, AppType::Groups, AppType::Teams];

    /// Returns the name used in JSON and in the `app_type` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Groups => "groups",
            Self::Teams => "teams",
        }
    }

    /// Parses the name used in JSON.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|app| app.as_str() == name)
    }
}

/// Teams context of the channel that the connector was added to. Every field is
/// optional, and an empty string from the page is stored as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub tenant_id: Option<String>,
    pub group_id: Option<String>,
    pub team_id: Option<String>,
    pub channel_id: Option<String>,
    /// Id of the user who set the connector up, which must stay private.
    pub user_object_id: Option<String>,
    pub app_type: Option<AppType>,
}

/// Configuration that passed validation and is ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configuration {
    pub id: Uuid,
    pub webhook_url: WebhookUrl,
    /// Event types without duplicates, never empty.
    pub event_types: BTreeSet<EventType>,
    /// Name trimmed of surrounding white space.
    pub config_name: String,
    pub context: Context,
}

/// Configuration as the API returns it. It never contains the webhook URL or the context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationView {
    /// Lower-case hyphenated UUID.
    pub id: String,
    pub event_types: Vec<EventType>,
    pub config_name: String,
    /// RFC 3339 timestamp in UTC.
    pub created_at: String,
    /// RFC 3339 timestamp in UTC.
    pub updated_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names_round_trip() {
        for event in EventType::ALL {
            assert_eq!(EventType::from_name(event.as_str()), Some(event));
        }
        assert_eq!(EventType::from_name("Created"), None);
        assert_eq!(EventType::from_name("deleted"), None);
    }

    #[test]
    fn app_type_names_round_trip() {
        for app in AppType::ALL {
            assert_eq!(AppType::from_name(app.as_str()), Some(app));
        }
        assert_eq!(AppType::from_name("outlook"), None);
    }

    #[test]
    fn view_serializes_camel_case() {
        let view = ConfigurationView {
            id: "0f8fad5b-d9cb-469f-a165-70867728950e".to_owned(),
            event_types: vec![EventType::Created, EventType::Updated],
            config_name: "Tasks".to_owned(),
            created_at: "2025-01-02T03:04:05.678Z".to_owned(),
            updated_at: "2025-01-02T03:04:05.678Z".to_owned(),
        };

        let json = serde_json::to_value(&view).unwrap();

        assert_eq!(
            json,
            serde_json::json!({
                "id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                "eventTypes": ["created", "updated"],
                "configName": "Tasks",
                "createdAt": "2025-01-02T03:04:05.678Z",
                "updatedAt": "2025-01-02T03:04:05.678Z",
            })
        );
    }
}

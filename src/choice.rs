//! The channel's choice of task events, and the rules that decide whether it
//! can be saved.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::i18n::Translations;

/// A kind of task event that a channel can be notified about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Created,
    Updated,
}

impl EventType {
    /// Every event type, in the order the form shows them.
    pub const ALL: [EventType; 2] = [EventType::Created, EventType::Updated];

    /// Returns the name used in the backend's JSON API.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "created",
            EventType::Updated => "updated",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The task events a channel asked to be notified about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotificationChoice {
    pub created: bool,
    pub updated: bool,
}

impl NotificationChoice {
    /// Builds the choice that a stored list of event types describes.
    pub fn from_event_types(event_types: &[EventType]) -> Self {
        NotificationChoice {
            created: event_types.contains(&EventType::Created),
            updated: event_types.contains(&EventType::Updated),
        }
    }

    /// Returns whether `event_type` is chosen.
    pub fn includes(self, event_type: EventType) -> bool {
        match event_type {
            EventType::Created => self.created,
            EventType::Updated => self.updated,
        }
    }

    /// Returns a copy with `event_type` chosen or not.
    pub fn with(self, event_type: EventType, chosen: bool) -> Self {
        match event_type {
            EventType::Created => NotificationChoice {
                created: chosen,
                ..self
            },
            EventType::Updated => NotificationChoice {
                updated: chosen,
                ..self
            },
        }
    }

    /// Returns `true` when the choice names at least one event type, so it can
    /// be saved. A connector that sends nothing is a mistake the user would not
    /// notice.
    pub fn is_valid(self) -> bool {
        self.created || self.updated
    }

    /// Lists the chosen event types in the order of [`EventType::ALL`].
    pub fn event_types(self) -> Vec<EventType> {
        EventType::ALL
            .into_iter()
            .filter(|event_type| self.includes(*event_type))
            .collect()
    }

    /// Summarizes the choice for the connector list in Teams (the
    /// `configName` given to `setConfig`), in the user's language.
    pub fn summary(self, translations: &Translations) -> String {
        let key = match (self.created, self.updated) {
            (true, true) => "summary.both",
            (true, false) => "summary.created",
            (false, true) => "summary.updated",
            (false, false) => "summary.none",
        };
        translations.text(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    #[test]
    fn empty_choice_is_invalid() {
        assert!(!NotificationChoice::default().is_valid());
    }

    #[test]
    fn any_single_event_type_is_valid() {
        for event_type in EventType::ALL {
            let choice = NotificationChoice::default().with(event_type, true);

            assert!(choice.is_valid(), "{event_type} alone should be valid");
            assert_eq!(choice.event_types(), vec![event_type]);
        }
    }

    #[test]
    fn unchecking_last_event_type_makes_choice_invalid() {
        let choice = NotificationChoice::default()
            .with(EventType::Created, true)
            .with(EventType::Created, false);

        assert!(!choice.is_valid());
        assert!(choice.event_types().is_empty());
    }

    #[test]
    fn event_types_round_trip() {
        let both = [EventType::Updated, EventType::Created];
        let choice = NotificationChoice::from_event_types(&both);

        assert!(choice.created);
        assert!(choice.updated);
        assert_eq!(
            choice.event_types(),
            vec![EventType::Created, EventType::Updated]
        );
    }

    #[test]
    fn summary_names_each_choice() {
        let created = NotificationChoice::default().with(EventType::Created, true);
        let updated = NotificationChoice::default().with(EventType::Updated, true);
        let both = created.with(EventType::Updated, true);

        let english = Language::English.translations();
        let german = Language::German.translations();

        assert_eq!(created.summary(english), "Task notifications: created");
        assert_eq!(updated.summary(english), "Task notifications: updated");
        assert_eq!(
            both.summary(english),
            "Task notifications: created and updated"
        );
        assert_eq!(
            both.summary(german),
            "Aufgabenbenachrichtigungen: erstellt und aktualisiert"
        );
    }

    #[test]
    fn event_type_json_names_are_lowercase() {
        let json = serde_json::to_string(&EventType::ALL).unwrap();

        assert_eq!(json, r#"["created","updated"]"#);
    }

    #[test]
    fn unknown_event_type_is_rejected() {
        let parsed = serde_json::from_str::<EventType>(r#""deleted""#);

        assert!(parsed.is_err());
    }
}

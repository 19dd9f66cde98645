//! The progress and failure messages of the page's status line.

use crate::i18n::Translations;

/// The state shown in the page's status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Connecting,
    Loading,
    Ready,
    Restored,
    /// Teams named a saved configuration that the backend does not have.
    NotFound,
    /// Teams opened the page to remove the connector.
    ReadyToRemove,
    Saving,
    Saved,
    Removing,
    Removed,
    /// A step failed. The text, already translated, gives the reason and
    /// the next step.
    Failed(String),
}

impl Status {
    /// Returns the sentence shown to the user, in their language.
    pub fn message(&self, translations: &Translations) -> String {
        let key = match self {
            Status::Connecting => "status.connecting",
            Status::Loading => "status.loading",
            Status::Ready => "status.ready",
            Status::Restored => "status.restored",
            Status::NotFound => "status.not_found",
            Status::ReadyToRemove => "status.ready_to_remove",
            Status::Saving => "status.saving",
            Status::Saved => "status.saved",
            Status::Removing => "status.removing",
            Status::Removed => "status.removed",
            Status::Failed(reason) => return reason.clone(),
        };
        translations.text(key)
    }

    /// Returns whether the form should ignore input, because a step that
    /// reads or replaces the choice is running, or the connector is being
    /// removed.
    pub fn locks_form(&self) -> bool {
        matches!(
            self,
            Status::Connecting
                | Status::Loading
                | Status::Saving
                | Status::ReadyToRemove
                | Status::Removing
                | Status::Removed
        )
    }

    /// Returns whether the status reports a failure.
    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Failed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    #[test]
    fn failure_shows_its_reason() {
        let status = Status::Failed("The webhook URL must use https.".to_owned());

        let english = Language::English.translations();

        assert_eq!(status.message(english), "The webhook URL must use https.");
        assert!(status.is_failure());
        assert!(!status.locks_form());
    }

    #[test]
    fn form_locked_while_step_runs_or_removing() {
        let locked = [
            Status::Connecting,
            Status::Loading,
            Status::Saving,
            Status::ReadyToRemove,
            Status::Removing,
            Status::Removed,
        ];
        let open = [
            Status::Ready,
            Status::Restored,
            Status::NotFound,
            Status::Saved,
        ];

        for status in locked {
            assert!(status.locks_form(), "{status:?} should lock the form");
        }
        for status in open {
            assert!(!status.locks_form(), "{status:?} should not lock the form");
        }
    }
}

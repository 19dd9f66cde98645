//! The progress and failure messages of the page's status line.

/// The state shown in the page's status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Connecting,
    Loading,
    Ready,
    Restored,
    Saving,
    Saved,
    Removing,
    Removed,
    /// A step failed. The text gives the reason and the next step.
    Failed(String),
}

impl Status {
    /// Returns the sentence shown to the user.
    pub fn message(&self) -> String {
        match self {
            Status::Connecting => "Connecting to Microsoft Teams…".to_owned(),
            Status::Loading => "Loading the saved choice…".to_owned(),
            Status::Ready => {
                "Choose the task events to post in this channel, then select Save.".to_owned()
            }
            Status::Restored => "Loaded the saved choice. Change it, then select Save.".to_owned(),
            Status::Saving => "Saving…".to_owned(),
            Status::Saved => "Saved. This channel will get the chosen notifications.".to_owned(),
            Status::Removing => "Removing the connector…".to_owned(),
            Status::Removed => "Removed. This channel will get no more notifications.".to_owned(),
            Status::Failed(reason) => reason.clone(),
        }
    }

    /// Returns whether the form should ignore input, because a step that
    /// reads or replaces the choice is running.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            Status::Connecting | Status::Loading | Status::Saving | Status::Removing
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

    #[test]
    fn failure_shows_its_reason() {
        let status = Status::Failed("The webhook URL must use https.".to_owned());

        assert_eq!(status.message(), "The webhook URL must use https.");
        assert!(status.is_failure());
        assert!(!status.is_busy());
    }

    #[test]
    fn form_is_busy_only_while_a_step_runs() {
        let busy = [
            Status::Connecting,
            Status::Loading,
            Status::Saving,
            Status::Removing,
        ];
        let idle = [
            Status::Ready,
            Status::Restored,
            Status::Saved,
            Status::Removed,
        ];

        for status in busy {
            assert!(status.is_busy(), "{status:?} should be busy");
        }
        for status in idle {
            assert!(!status.is_busy(), "{status:?} should not be busy");
        }
    }
}

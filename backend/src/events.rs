//! Task events: the body of `POST /api/events` and the rules that turn it into a
//! [`TaskEvent`].

use serde::Deserialize;
use time::Date;
use time::macros::format_description;
use url::Url;

use crate::configuration::EventType;
use crate::extract::JsonShape;

/// Maximum length of a task id, in characters.
pub const MAX_TASK_ID_CHARS: usize = 128;

/// Maximum length of a task title, in characters.
pub const MAX_TITLE_CHARS: usize = 256;

/// Maximum length of a task description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// Maximum length of an assignee name, in characters.
pub const MAX_ASSIGNEE_CHARS: usize = 256;

/// Maximum length of a task link, in bytes.
pub const MAX_LINK_BYTES: usize = 2048;

/// Maximum size of an event request body in bytes. It leaves room for a description of
/// 20,000 characters that JSON escapes to six bytes each (`\uXXXX`).
pub const MAX_EVENT_BODY_BYTES: usize = 160 * 1024;

/// Body of `POST /api/events`, before validation. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRequest {
    pub kind: String,
    pub task_id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
}

impl JsonShape for EventRequest {
    const SHAPE: &'static str = "kind, taskId and title are strings, and description, \
                                 assignee, dueDate and link are optional strings.";
    const SYNTAX_HINT: &'static str = "Send a JSON object with kind, taskId and title.";
    const MAX_BYTES: usize = MAX_EVENT_BODY_BYTES;
    const TOO_LARGE_HINT: &'static str = "Send a description of at most 20,000 characters.";
}

/// Task event that passed validation. Text fields are kept exactly as sent, so that
/// quotes, line breaks and emoji reach the channel unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEvent {
    pub kind: EventType,
    pub task_id: String,
    pub title: String,
    pub description: Option<String>,
    pub assignee: Option<String>,
    /// Date in the form `YYYY-MM-DD`.
    pub due_date: Option<String>,
    /// Absolute `http` or `https` URL.
    pub link: Option<String>,
}

/// Reason an event was rejected, with a message that the sender can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("kind must be \"created\" or \"updated\".")]
    UnknownKind,
    #[error("taskId must be 1 to {MAX_TASK_ID_CHARS} characters long and not blank.")]
    InvalidTaskId,
    #[error("title must be 1 to {MAX_TITLE_CHARS} characters long and not blank.")]
    InvalidTitle,
    #[error("description is longer than {MAX_DESCRIPTION_CHARS} characters. Send a shorter one.")]
    DescriptionTooLong,
    #[error("assignee is longer than {MAX_ASSIGNEE_CHARS} characters. Send a shorter name.")]
    AssigneeTooLong,
    #[error("dueDate must be a calendar date in the form YYYY-MM-DD, such as 2025-01-31.")]
    InvalidDueDate,
    #[error(
        "link must be an absolute http or https URL of at most {MAX_LINK_BYTES} bytes, such \
         as https://tasks.example.com/tasks/42."
    )]
    InvalidLink,
}

impl EventError {
    /// Returns the snake_case code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownKind => "invalid_kind",
            Self::InvalidTaskId => "invalid_task_id",
            Self::InvalidTitle => "invalid_title",
            Self::DescriptionTooLong => "invalid_description",
            Self::AssigneeTooLong => "invalid_assignee",
            Self::InvalidDueDate => "invalid_due_date",
            Self::InvalidLink => "invalid_link",
        }
    }
}

/// Validates every field of `request`, in the order of the fields in the body.
pub fn validate_event(request: EventRequest) -> Result<TaskEvent, EventError> {
    let kind = EventType::from_name(&request.kind).ok_or(EventError::UnknownKind)?;
    if !has_length(&request.task_id, MAX_TASK_ID_CHARS) {
        return Err(EventError::InvalidTaskId);
    }
    if !has_length(&request.title, MAX_TITLE_CHARS) {
        return Err(EventError::InvalidTitle);
    }

    let description = empty_as_none(request.description);
    if description
        .as_ref()
        .is_some_and(|text| text.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(EventError::DescriptionTooLong);
    }
    let assignee = empty_as_none(request.assignee);
    if assignee
        .as_ref()
        .is_some_and(|name| name.chars().count() > MAX_ASSIGNEE_CHARS)
    {
        return Err(EventError::AssigneeTooLong);
    }
    let due_date = empty_as_none(request.due_date)
        .map(|date| validate_due_date(&date))
        .transpose()?;
    let link = empty_as_none(request.link)
        .map(|link| validate_link(&link))
        .transpose()?;

    Ok(TaskEvent {
        kind,
        task_id: request.task_id,
        title: request.title,
        description,
        assignee,
        due_date,
        link,
    })
}

/// Returns whether `text` has 1 to `max_chars` characters and is not only white space.
fn has_length(text: &str, max_chars: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max_chars
}

/// Treats an empty or blank optional string like an absent one, so that a card shows no
/// empty fact.
fn empty_as_none(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

fn validate_due_date(raw: &str) -> Result<String, EventError> {
    let format = format_description!("[year]-[month]-[day]");
    Date::parse(raw, format).map_err(|_| EventError::InvalidDueDate)?;
    Ok(raw.to_owned())
}

fn validate_link(raw: &str) -> Result<String, EventError> {
    if raw.len() > MAX_LINK_BYTES {
        return Err(EventError::InvalidLink);
    }
    let url = Url::parse(raw).map_err(|_| EventError::InvalidLink)?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(EventError::InvalidLink);
    }
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> EventRequest {
        EventRequest {
            kind: "created".to_owned(),
            task_id: "TASK-42".to_owned(),
            title: "Write the report".to_owned(),
            description: None,
            assignee: None,
            due_date: None,
            link: None,
        }
    }

    #[test]
    fn minimal_event_is_valid() {
        let event = validate_event(request()).unwrap();

        assert_eq!(event.kind, EventType::Created);
        assert_eq!(event.task_id, "TASK-42");
        assert_eq!(event.description, None);
    }

    #[test]
    fn title_is_kept_exactly() {
        let title = "  \"Quoted\" 'single'\nsecond line 😀 *bold* <b>  ";
        let mut request = request();
        request.title = title.to_owned();

        let event = validate_event(request).unwrap();

        assert_eq!(event.title, title);
    }

    #[test]
    fn kind_must_be_known() {
        for kind in ["deleted", "Created", ""] {
            let mut request = request();
            request.kind = kind.to_owned();

            assert_eq!(
                validate_event(request),
                Err(EventError::UnknownKind),
                "{kind}"
            );
        }
    }

    #[test]
    fn task_id_length_limits() {
        let cases = [
            ("", false),
            ("   ", false),
            ("a", true),
            (&"é".repeat(MAX_TASK_ID_CHARS), true),
            (&"é".repeat(MAX_TASK_ID_CHARS + 1), false),
        ];
        for (task_id, valid) in cases {
            let mut request = request();
            request.task_id = task_id.to_owned();

            assert_eq!(validate_event(request).is_ok(), valid, "{task_id:?}");
        }
    }

    #[test]
    fn title_length_limits() {
        let mut too_long = request();
        too_long.title = "😀".repeat(MAX_TITLE_CHARS + 1);
        let mut longest = request();
        longest.title = "😀".repeat(MAX_TITLE_CHARS);
        let mut blank = request();
        blank.title = " \n ".to_owned();

        assert_eq!(validate_event(too_long), Err(EventError::InvalidTitle));
        assert!(validate_event(longest).is_ok());
        assert_eq!(validate_event(blank), Err(EventError::InvalidTitle));
    }

    #[test]
    fn description_length_limit() {
        let mut longest = request();
        longest.description = Some("x".repeat(MAX_DESCRIPTION_CHARS));
        let mut too_long = request();
        too_long.description = Some("x".repeat(MAX_DESCRIPTION_CHARS + 1));

        assert!(validate_event(longest).is_ok());
        assert_eq!(
            validate_event(too_long),
            Err(EventError::DescriptionTooLong)
        );
    }

    #[test]
    fn assignee_length_limit() {
        let mut too_long = request();
        too_long.assignee = Some("a".repeat(MAX_ASSIGNEE_CHARS + 1));

        assert_eq!(validate_event(too_long), Err(EventError::AssigneeTooLong));
    }

    #[test]
    fn blank_optional_fields_become_absent() {
        let mut request = request();
        request.description = Some(String::new());
        request.assignee = Some("  ".to_owned());
        request.link = Some(String::new());

        let event = validate_event(request).unwrap();

        assert_eq!(event.description, None);
        assert_eq!(event.assignee, None);
        assert_eq!(event.link, None);
    }

    #[test]
    fn due_date_must_be_calendar_date() {
        let cases = [
            ("2025-01-31", true),
            ("2024-02-29", true),
            ("2025-02-29", false),
            ("2025-1-31", false),
            ("31.01.2025", false),
            ("2025-01-31T00:00:00Z", false),
        ];
        for (date, valid) in cases {
            let mut request = request();
            request.due_date = Some(date.to_owned());

            assert_eq!(validate_event(request).is_ok(), valid, "{date}");
        }
    }

    #[test]
    fn link_must_be_absolute_http() {
        let cases = [
            ("https://tasks.example.com/tasks/42", true),
            ("http://tasks.example.com/tasks/42?a=b", true),
            ("javascript:alert(1)", false),
            ("ftp://tasks.example.com/x", false),
            ("/tasks/42", false),
            ("https://", false),
        ];
        for (link, valid) in cases {
            let mut request = request();
            request.link = Some(link.to_owned());

            assert_eq!(validate_event(request).is_ok(), valid, "{link}");
        }
    }

    #[test]
    fn overlong_link_is_rejected() {
        let mut request = request();
        request.link = Some(format!(
            "https://tasks.example.com/{}",
            "a".repeat(MAX_LINK_BYTES)
        ));

        assert_eq!(validate_event(request), Err(EventError::InvalidLink));
    }

    #[test]
    fn error_codes_name_the_field() {
        assert_eq!(EventError::UnknownKind.code(), "invalid_kind");
        assert_eq!(EventError::InvalidLink.code(), "invalid_link");
        assert_eq!(EventError::InvalidDueDate.code(), "invalid_due_date");
    }
}

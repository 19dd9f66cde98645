//! The task event that the benchmark posts, and the card that the backend builds from
//! it, which wrk posts too.

use connector_backend::cards::{CardContent, PayloadFormat, build_payload};
use connector_backend::configuration::EventType;
use connector_backend::events::TaskEvent;
use serde_json::json;

const TASK_ID: &str = "BENCH-1";
const TITLE: &str = "Prepare the \"Q3\" report";
const DESCRIPTION: &str = "Collect the numbers from every team and write the summary.";
const ASSIGNEE: &str = "Alex Example";
const DUE_DATE: &str = "2025-01-31";
// The link is only text inside the card: nothing connects to it.
const LINK: &str = "https://tasks.example.com/tasks/1";

/// Returns the body of `POST /api/events` for a `created` event.
pub fn request_body() -> serde_json::Value {
    json!({
        "kind": "created",
        "taskId": TASK_ID,
        "title": TITLE,
        "description": DESCRIPTION,
        "assignee": ASSIGNEE,
        "dueDate": DUE_DATE,
        "link": LINK,
    })
}

/// Returns the MessageCard that the backend posts to a local webhook for the event of
/// [`request_body`].
pub fn card_body() -> anyhow::Result<Vec<u8>> {
    let payload = build_payload(
        CardContent::for_event(&task_event()),
        PayloadFormat::MessageCard,
    )?;
    Ok(payload)
}

/// Returns the event of [`request_body`] as the backend stores it.
pub fn task_event() -> TaskEvent {
    TaskEvent {
        kind: EventType::Created,
        task_id: TASK_ID.to_owned(),
        title: TITLE.to_owned(),
        description: Some(DESCRIPTION.to_owned()),
        assignee: Some(ASSIGNEE.to_owned()),
        due_date: Some(DUE_DATE.to_owned()),
        link: Some(LINK.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_body_is_message_card_with_title() {
        let body: serde_json::Value = serde_json::from_slice(&card_body().unwrap()).unwrap();

        assert_eq!(body["@type"], "MessageCard");
        assert_eq!(body["sections"][0]["activityTitle"], TITLE);
    }

    #[test]
    fn request_body_is_created_event() {
        let body = request_body();

        assert_eq!(body["kind"], "created");
        assert_eq!(body["title"], TITLE);
    }
}

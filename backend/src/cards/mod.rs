//! Card payloads posted to a webhook: the content of a card, its two JSON formats and
//! the shortening that keeps a payload under Teams' size limit.
//!
//! Text is never escaped or rewritten: serde_json encodes it, so quotes, line breaks,
//! Markdown characters, non-Latin letters and emoji arrive as sent. MessageCards turn
//! Markdown off for their section, so Teams also shows those characters as typed.

mod adaptive_card;
mod message_card;

use crate::configuration::EventType;
use crate::events::TaskEvent;
use crate::webhook_url::WebhookKind;

/// Maximum size of a serialized payload in bytes.
///
/// NOTE: Microsoft documents the limit as "28 KB" without saying whether a KB is 1,000
/// or 1,024 bytes, so this takes 28 × 1,024 and has not been checked against Teams.
pub const MAX_PAYLOAD_BYTES: usize = 28_672;

/// Character appended to a shortened title or description.
const ELLIPSIS: char = '…';

/// Label of the button that opens the task.
const OPEN_TASK_LABEL: &str = "Open task";

/// JSON format that a webhook takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadFormat {
    /// MessageCard, for Office 365 connector and legacy incoming webhooks and for the
    /// local Teams host, which imitates them.
    MessageCard,
    /// Adaptive Card in a message envelope, for Workflows webhooks.
    AdaptiveCard,
}

impl PayloadFormat {
    /// Returns the format that a webhook of this kind takes.
    pub fn for_webhook(kind: WebhookKind) -> Self {
        match kind {
            WebhookKind::LegacyConnector
            | WebhookKind::TenantConnector
            | WebhookKind::LocalDevelopment => Self::MessageCard,
            WebhookKind::Workflows => Self::AdaptiveCard,
        }
    }
}

/// Label and value shown in a card's fact list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub name: &'static str,
    pub value: String,
}

/// Content of one card, independent of the payload format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardContent {
    /// Short line above the title, such as "Task created".
    pub heading: String,
    pub title: String,
    /// Body text: the task description.
    pub text: Option<String>,
    pub facts: Vec<Fact>,
    /// Target of the "Open task" button.
    pub link: Option<String>,
    /// Accent color of a MessageCard, as six hex digits.
    pub theme_color: &'static str,
}

/// Reason a payload could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("serializing the card failed")]
    Serialize(#[from] serde_json::Error),
    #[error("the card is larger than {MAX_PAYLOAD_BYTES} bytes even with an empty description")]
    TooLarge,
}

impl CardContent {
    /// Builds the card of a task event.
    pub fn for_event(event: &TaskEvent) -> Self {
        let (heading, theme_color) = match event.kind {
            EventType::Created => ("Task created", "2E7D32"),
            EventType::Updated => ("Task updated", "0076D7"),
        };

        let mut facts = Vec::new();
        if let Some(assignee) = &event.assignee {
            facts.push(fact("Assignee", assignee));
        }
        if let Some(due_date) = &event.due_date {
            facts.push(fact("Due date", due_date));
        }
        facts.push(fact("Task id", &event.task_id));
        facts.push(fact("Event", event.kind.as_str()));

        Self {
            heading: heading.to_owned(),
            title: event.title.clone(),
            text: event.description.clone(),
            facts,
            link: event.link.clone(),
            theme_color,
        }
    }

    /// Builds the card that greets a channel after a new configuration, naming the events
    /// it will get.
    pub fn welcome(config_name: &str, event_types: &[EventType]) -> Self {
        let kinds = event_types
            .iter()
            .map(|event| event.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        let names = event_types
            .iter()
            .map(|event| event.as_str())
            .collect::<Vec<_>>()
            .join(", ");

        Self {
            heading: "Connector added".to_owned(),
            title: "This channel now gets task notifications".to_owned(),
            text: Some(format!(
                "A card will be posted here each time a task is {kinds}."
            )),
            facts: vec![fact("Configuration", config_name), fact("Events", &names)],
            link: None,
            theme_color: "6264A7",
        }
    }

    /// Returns the plain-text summary that Teams shows in notifications.
    pub fn summary(&self) -> String {
        format!("{}: {}", self.heading, self.title)
    }
}

fn fact(name: &'static str, value: &str) -> Fact {
    Fact {
        name,
        value: value.to_owned(),
    }
}

/// Serializes `content` in `format` without any size check.
pub fn render(content: &CardContent, format: PayloadFormat) -> serde_json::Result<Vec<u8>> {
    match format {
        PayloadFormat::MessageCard => message_card::render(content),
        PayloadFormat::AdaptiveCard => adaptive_card::render(content),
    }
}

/// Serializes `content` in `format`, shortening it to at most [`MAX_PAYLOAD_BYTES`].
pub fn build_payload(content: CardContent, format: PayloadFormat) -> Result<Vec<u8>, PayloadError> {
    build_payload_within(content, format, MAX_PAYLOAD_BYTES)
}

/// Serializes `content` in `format`, shortening first the description and then the title
/// until the payload has at most `max_bytes` bytes. A shortened text is cut on a
/// character boundary and ends with an ellipsis.
pub fn build_payload_within(
    mut content: CardContent,
    format: PayloadFormat,
    max_bytes: usize,
) -> Result<Vec<u8>, PayloadError> {
    let payload = render(&content, format)?;
    if payload.len() <= max_bytes {
        return Ok(payload);
    }

    if let Some(text) = content.text.take() {
        let fitted = fit_text(&text, max_bytes, |candidate| {
            let mut shortened = content.clone();
            shortened.text = Some(candidate.to_owned());
            render(&shortened, format)
        })?;
        content.text = Some(fitted.text);
        if let Some(payload) = fitted.payload {
            return Ok(payload);
        }
    }

    let title = std::mem::take(&mut content.title);
    let fitted = fit_text(&title, max_bytes, |candidate| {
        let mut shortened = content.clone();
        shortened.title = candidate.to_owned();
        render(&shortened, format)
    })?;
    fitted.payload.ok_or(PayloadError::TooLarge)
}

/// Longest prefix of a text that fits, and the payload built with it, if any fits.
struct FittedText {
    text: String,
    payload: Option<Vec<u8>>,
}

/// Finds by binary search the longest prefix of `text` (in characters, followed by an
/// ellipsis) whose payload from `render` has at most `max_bytes` bytes. When not even
/// the ellipsis alone fits, it returns the ellipsis without a payload.
fn fit_text(
    text: &str,
    max_bytes: usize,
    render: impl Fn(&str) -> serde_json::Result<Vec<u8>>,
) -> Result<FittedText, PayloadError> {
    let boundaries: Vec<usize> = text.char_indices().map(|(index, _)| index).collect();
    let shortened = |kept_chars: usize| {
        let end = boundaries.get(kept_chars).copied().unwrap_or(text.len());
        let mut candidate = text[..end].trim_end().to_owned();
        candidate.push(ELLIPSIS);
        candidate
    };

    // The payload only grows as characters are added, so the largest count that fits
    // can be found by binary search. `low` always fits once a fit is known.
    let mut best: Option<(String, Vec<u8>)> = None;
    let (mut low, mut high) = (0, boundaries.len());
    while low < high {
        let middle = low + (high - low).div_ceil(2);
        let candidate = shortened(middle);
        let payload = render(&candidate)?;
        if payload.len() <= max_bytes {
            low = middle;
            best = Some((candidate, payload));
        } else {
            high = middle - 1;
        }
    }
    if best.is_none() {
        let candidate = shortened(0);
        let payload = render(&candidate)?;
        if payload.len() <= max_bytes {
            best = Some((candidate, payload));
        }
    }

    Ok(match best {
        Some((text, payload)) => FittedText {
            text,
            payload: Some(payload),
        },
        None => FittedText {
            text: ELLIPSIS.to_string(),
            payload: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn event() -> TaskEvent {
        TaskEvent {
            kind: EventType::Created,
            task_id: "TASK-42".to_owned(),
            title: "Write the \"Q3\" report".to_owned(),
            description: Some("Line one\nLine *two* 😀".to_owned()),
            assignee: Some("Zoë Ångström".to_owned()),
            due_date: Some("2025-01-31".to_owned()),
            link: Some("https://tasks.example.com/tasks/42".to_owned()),
        }
    }

    fn render_json(content: &CardContent, format: PayloadFormat) -> Value {
        serde_json::from_slice(&render(content, format).unwrap()).unwrap()
    }

    #[test]
    fn message_card_has_expected_shape() {
        let card = render_json(
            &CardContent::for_event(&event()),
            PayloadFormat::MessageCard,
        );

        assert_eq!(card["@type"], "MessageCard");
        assert_eq!(card["@context"], "https://schema.org/extensions");
        assert_eq!(card["summary"], "Task created: Write the \"Q3\" report");
        assert_eq!(card["themeColor"], "2E7D32");
        let section = &card["sections"][0];
        assert_eq!(section["activityTitle"], "Write the \"Q3\" report");
        assert_eq!(section["text"], "Line one\nLine *two* 😀");
        assert_eq!(section["markdown"], false);
        assert_eq!(
            section["facts"],
            json!([
                {"name": "Assignee", "value": "Zoë Ångström"},
                {"name": "Due date", "value": "2025-01-31"},
                {"name": "Task id", "value": "TASK-42"},
                {"name": "Event", "value": "created"},
            ])
        );
        assert_eq!(
            card["potentialAction"],
            json!([{
                "@type": "OpenUri",
                "name": "Open task",
                "targets": [{"os": "default", "uri": "https://tasks.example.com/tasks/42"}],
            }])
        );
    }

    #[test]
    fn adaptive_card_has_expected_shape() {
        let envelope = render_json(
            &CardContent::for_event(&event()),
            PayloadFormat::AdaptiveCard,
        );

        assert_eq!(envelope["type"], "message");
        let attachment = &envelope["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &attachment["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["body"][0]["type"], "TextBlock");
        assert_eq!(card["body"][0]["text"], "Task created");
        assert_eq!(card["body"][1]["text"], "Write the \"Q3\" report");
        assert_eq!(card["body"][1]["wrap"], true);
        assert_eq!(card["body"][2]["text"], "Line one\nLine *two* 😀");
        assert_eq!(card["body"][3]["type"], "FactSet");
        assert_eq!(
            card["body"][3]["facts"][0],
            json!({"title": "Assignee", "value": "Zoë Ångström"})
        );
        assert_eq!(
            card["actions"],
            json!([{
                "type": "Action.OpenUrl",
                "title": "Open task",
                "url": "https://tasks.example.com/tasks/42",
            }])
        );
    }

    #[test]
    fn optional_parts_are_left_out() {
        let mut event = event();
        event.description = None;
        event.assignee = None;
        event.due_date = None;
        event.link = None;
        let content = CardContent::for_event(&event);

        let message_card = render_json(&content, PayloadFormat::MessageCard);
        let adaptive_card = render_json(&content, PayloadFormat::AdaptiveCard);

        assert!(message_card["sections"][0].get("text").is_none());
        assert!(message_card.get("potentialAction").is_none());
        assert_eq!(message_card["sections"][0]["facts"][0]["name"], "Task id");
        let card = &adaptive_card["attachments"][0]["content"];
        assert!(card.get("actions").is_none());
        assert_eq!(card["body"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn payload_format_follows_webhook_kind() {
        let cases = [
            (WebhookKind::LegacyConnector, PayloadFormat::MessageCard),
            (WebhookKind::TenantConnector, PayloadFormat::MessageCard),
            (WebhookKind::LocalDevelopment, PayloadFormat::MessageCard),
            (WebhookKind::Workflows, PayloadFormat::AdaptiveCard),
        ];
        for (kind, format) in cases {
            assert_eq!(PayloadFormat::for_webhook(kind), format, "{kind:?}");
        }
    }

    #[test]
    fn welcome_card_names_event_types() {
        let content = CardContent::welcome("Sprint tasks", &[EventType::Created]);

        let card = render_json(&content, PayloadFormat::MessageCard);

        let text = card["sections"][0]["text"].as_str().unwrap();
        assert!(text.contains("created"), "{text}");
        assert!(!text.contains("updated"), "{text}");
        assert_eq!(
            card["sections"][0]["facts"],
            json!([
                {"name": "Configuration", "value": "Sprint tasks"},
                {"name": "Events", "value": "created"},
            ])
        );
    }

    #[test]
    fn small_payload_is_unchanged() {
        let content = CardContent::for_event(&event());
        let expected = render(&content, PayloadFormat::MessageCard).unwrap();

        let payload = build_payload(content, PayloadFormat::MessageCard).unwrap();

        assert_eq!(payload, expected);
    }

    #[test]
    fn long_description_is_shortened_first() {
        for format in [PayloadFormat::MessageCard, PayloadFormat::AdaptiveCard] {
            let mut event = event();
            let description = "Ab😀\"\n".repeat(4_000);
            event.description = Some(description.clone());

            let payload = build_payload(CardContent::for_event(&event), format).unwrap();

            assert!(payload.len() <= MAX_PAYLOAD_BYTES, "{}", payload.len());
            assert!(payload.len() > MAX_PAYLOAD_BYTES - 64, "{}", payload.len());
            let text = payload_text(&payload, format);
            let kept_prefix = text.strip_suffix(ELLIPSIS).unwrap();
            assert!(description.starts_with(kept_prefix));
            assert!(payload_title(&payload, format) == event.title);
        }
    }

    #[test]
    fn title_is_shortened_when_description_is_not_enough() {
        let mut content = CardContent::for_event(&event());
        content.title = "Tïtle ".repeat(40);
        let small = render(&content, PayloadFormat::MessageCard).unwrap().len();

        let payload =
            build_payload_within(content.clone(), PayloadFormat::MessageCard, small - 100).unwrap();

        assert!(payload.len() <= small - 100);
        assert_eq!(payload_text(&payload, PayloadFormat::MessageCard), "…");
        let title = payload_title(&payload, PayloadFormat::MessageCard);
        assert!(title.ends_with(ELLIPSIS), "{title}");
        assert!(content.title.starts_with(title.trim_end_matches(ELLIPSIS)));
    }

    #[test]
    fn impossible_limit_is_an_error() {
        let content = CardContent::for_event(&event());

        let result = build_payload_within(content, PayloadFormat::MessageCard, 50);

        assert!(matches!(result, Err(PayloadError::TooLarge)));
    }

    fn payload_text(payload: &[u8], format: PayloadFormat) -> String {
        let json: Value = serde_json::from_slice(payload).unwrap();
        let text = match format {
            PayloadFormat::MessageCard => &json["sections"][0]["text"],
            PayloadFormat::AdaptiveCard => &json["attachments"][0]["content"]["body"][2]["text"],
        };
        text.as_str().unwrap().to_owned()
    }

    fn payload_title(payload: &[u8], format: PayloadFormat) -> String {
        let json: Value = serde_json::from_slice(payload).unwrap();
        let title = match format {
            PayloadFormat::MessageCard => &json["sections"][0]["activityTitle"],
            PayloadFormat::AdaptiveCard => &json["attachments"][0]["content"]["body"][1]["text"],
        };
        title.as_str().unwrap().to_owned()
    }
}

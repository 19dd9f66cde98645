//! Adaptive Card 1.4 inside the message envelope, which Workflows webhooks take.

use serde::Serialize;

use super::CardContent;

const ADAPTIVE_CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
const ADAPTIVE_CARD_SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    message_type: &'static str,
    attachments: [Attachment<'a>; 1],
}

#[derive(Serialize)]
struct Attachment<'a> {
    #[serde(rename = "contentType")]
    content_type: &'static str,
    content: AdaptiveCard<'a>,
}

#[derive(Serialize)]
struct AdaptiveCard<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "type")]
    card_type: &'static str,
    version: &'static str,
    body: Vec<Element<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<OpenUrl<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Element<'a> {
    TextBlock(TextBlock<'a>),
    FactSet { facts: Vec<Fact<'a>> },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TextBlock<'a> {
    text: &'a str,
    wrap: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_subtle: bool,
}

#[derive(Serialize)]
struct Fact<'a> {
    title: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct OpenUrl<'a> {
    #[serde(rename = "type")]
    action_type: &'static str,
    title: &'static str,
    url: &'a str,
}

/// Serializes `content` as an Adaptive Card message envelope.
///
/// NOTE: Teams renders a Markdown subset in every TextBlock and Adaptive Cards have no
/// switch to turn it off, so text such as `**done**` arrives unchanged in the JSON but
/// is shown in bold.
pub fn render(content: &CardContent) -> serde_json::Result<Vec<u8>> {
    let mut body = vec![
        Element::TextBlock(TextBlock {
            text: &content.heading,
            wrap: true,
            weight: None,
            size: Some("Small"),
            is_subtle: true,
        }),
        Element::TextBlock(TextBlock {
            text: &content.title,
            wrap: true,
            weight: Some("Bolder"),
            size: Some("Medium"),
            is_subtle: false,
        }),
    ];
    if let Some(text) = &content.text {
        body.push(Element::TextBlock(TextBlock {
            text,
            wrap: true,
            weight: None,
            size: None,
            is_subtle: false,
        }));
    }
    if !content.facts.is_empty() {
        let facts = content
            .facts
            .iter()
            .map(|fact| Fact {
                title: fact.name,
                value: &fact.value,
            })
            .collect();
        body.push(Element::FactSet { facts });
    }

    let envelope = Envelope {
        message_type: "message",
        attachments: [Attachment {
            content_type: ADAPTIVE_CARD_CONTENT_TYPE,
            content: AdaptiveCard {
                schema: ADAPTIVE_CARD_SCHEMA,
                card_type: "AdaptiveCard",
                version: "1.4",
                body,
                actions: content
                    .link
                    .iter()
                    .map(|link| OpenUrl {
                        action_type: "Action.OpenUrl",
                        title: super::OPEN_TASK_LABEL,
                        url: link,
                    })
                    .collect(),
            },
        }],
    };
    serde_json::to_vec(&envelope)
}

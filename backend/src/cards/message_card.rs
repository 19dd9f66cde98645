//! MessageCard payload, which Office 365 connector and legacy incoming webhooks take.

use serde::Serialize;

use super::CardContent;

/// Value of `@context` for a MessageCard.
const SCHEMA_CONTEXT: &str = "https://schema.org/extensions";

#[derive(Serialize)]
struct MessageCard<'a> {
    #[serde(rename = "@type")]
    card_type: &'static str,
    #[serde(rename = "@context")]
    context: &'static str,
    summary: String,
    #[serde(rename = "themeColor")]
    theme_color: &'static str,
    sections: [Section<'a>; 1],
    #[serde(rename = "potentialAction", skip_serializing_if = "Vec::is_empty")]
    potential_action: Vec<OpenUri<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Section<'a> {
    activity_title: &'a str,
    activity_subtitle: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    facts: Vec<Fact<'a>>,
    /// `false` turns Markdown off for the whole section, so that Teams shows `*`, `_`,
    /// `#` and the like as typed instead of formatting them.
    markdown: bool,
}

#[derive(Serialize)]
struct Fact<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct OpenUri<'a> {
    #[serde(rename = "@type")]
    action_type: &'static str,
    name: &'static str,
    targets: [Target<'a>; 1],
}

#[derive(Serialize)]
struct Target<'a> {
    os: &'static str,
    uri: &'a str,
}

/// Serializes `content` as a MessageCard.
pub fn render(content: &CardContent) -> serde_json::Result<Vec<u8>> {
    let card = MessageCard {
        card_type: "MessageCard",
        context: SCHEMA_CONTEXT,
        summary: content.summary(),
        theme_color: content.theme_color,
        sections: [Section {
            activity_title: &content.title,
            activity_subtitle: &content.heading,
            text: content.text.as_deref(),
            facts: content
                .facts
                .iter()
                .map(|fact| Fact {
                    name: fact.name,
                    value: &fact.value,
                })
                .collect(),
            markdown: false,
        }],
        potential_action: content
            .link
            .iter()
            .map(|link| OpenUri {
                action_type: "OpenUri",
                name: super::OPEN_TASK_LABEL,
                targets: [Target {
                    os: "default",
                    uri: link,
                }],
            })
            .collect(),
    };
    serde_json::to_vec(&card)
}

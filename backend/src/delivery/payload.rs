//! Requests for the deliveries of one claim: the checked webhook URL and the card in the
//! format that the webhook takes.
//!
//! A fan-out claims many deliveries of the same event, so each event's card is built
//! once per claim and payload format, and the requests share its bytes.

use bytes::Bytes;
use url::Url;

use super::claim::{DueCard, DueDelivery};
use crate::cards::{CardContent, PayloadFormat, build_payload};
use crate::webhook_url::WebhookUrl;

/// `last_error` of a delivery whose stored URL the current settings reject.
const REJECTED_URL_REASON: &str = "the stored webhook URL is no longer accepted, such as a \
     local development URL without the development origin setting";

/// Request that sends one delivery's card.
pub struct WebhookRequest {
    /// The webhook URL. It is a secret: never log it.
    pub url: Url,
    pub body: Bytes,
}

/// Event cards already built in this claim, by event id and payload format.
#[derive(Default)]
pub struct ClaimPayloads {
    built: Vec<(String, PayloadFormat, Bytes)>,
}

impl ClaimPayloads {
    /// Checks the delivery's stored URL against the current settings and returns its
    /// request. The error is a reason for `last_error`.
    pub fn request_for(
        &mut self,
        delivery: &DueDelivery,
        dev_webhook_origin: Option<&Url>,
    ) -> Result<WebhookRequest, String> {
        let webhook = WebhookUrl::parse(&delivery.webhook_url, dev_webhook_origin)
            .map_err(|_| REJECTED_URL_REASON.to_owned())?;
        let format = PayloadFormat::for_webhook(webhook.kind());
        let body = match (&delivery.card, &delivery.event_id) {
            (DueCard::Event(event), Some(event_id)) => {
                self.event_card(event_id, format, || CardContent::for_event(event))?
            }
            (DueCard::Event(event), None) => build(CardContent::for_event(event), format)?,
            (
                DueCard::Welcome {
                    config_name,
                    event_types,
                },
                _,
            ) => build(CardContent::welcome(config_name, event_types), format)?,
        };

        Ok(WebhookRequest {
            url: webhook.into_url(),
            body,
        })
    }

    fn event_card(
        &mut self,
        event_id: &str,
        format: PayloadFormat,
        content: impl FnOnce() -> CardContent,
    ) -> Result<Bytes, String> {
        // A claim contains few distinct events, so a list is searched faster than a map.
        let known = self
            .built
            .iter()
            .find(|(id, known_format, _)| id == event_id && *known_format == format);
        if let Some((_, _, body)) = known {
            return Ok(body.clone());
        }

        let body = build(content(), format)?;
        self.built.push((event_id.to_owned(), format, body.clone()));
        Ok(body)
    }
}

fn build(content: CardContent, format: PayloadFormat) -> Result<Bytes, String> {
    build_payload(content, format)
        .map(Bytes::from)
        .map_err(|error| format!("building the card failed: {error}"))
}

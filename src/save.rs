//! The save flow, which runs when the user selects Save in Teams.

use std::fmt;

use crate::api::{self, ApiError, ConfigurationRequest};
use crate::choice::NotificationChoice;
use crate::i18n::{Language, Translations};
use crate::session::Session;
use crate::teams::{self, NewInstanceConfig, TeamsError};
use crate::timeout::within;

/// Seconds the page waits for each TeamsJS call during a save. Two of them
/// plus the backend's timeout come to 20 seconds, under the 30 seconds Teams
/// allows a save handler.
pub const TEAMS_CALL_TIMEOUT_SECONDS: u32 = 5;

/// Reason a save failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveError {
    NothingChosen,
    NotReady,
    SetConfigRejected(TeamsError),
    GetConfigFailed(TeamsError),
    TeamsTimedOut,
    MissingWebhookUrl,
    Backend(ApiError),
}

impl SaveError {
    /// Returns the reason Teams shows the user, naming the next step.
    pub fn reason(&self, translations: &Translations) -> String {
        match self {
            SaveError::NothingChosen => translations.text("save.nothing_chosen"),
            SaveError::NotReady => translations.text("save.not_ready"),
            SaveError::SetConfigRejected(error) => {
                translations.format("save.set_config_rejected", &[("detail", error)])
            }
            SaveError::GetConfigFailed(error) => {
                translations.format("save.get_config_failed", &[("detail", error)])
            }
            SaveError::TeamsTimedOut => translations.format(
                "save.teams_timed_out",
                &[("seconds", &TEAMS_CALL_TIMEOUT_SECONDS)],
            ),
            SaveError::MissingWebhookUrl => translations.text("save.missing_webhook_url"),
            SaveError::Backend(error) => error.message(translations),
        }
    }
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason(Language::English.translations()))
    }
}

impl std::error::Error for SaveError {}

impl From<ApiError> for SaveError {
    fn from(error: ApiError) -> Self {
        SaveError::Backend(error)
    }
}

/// Saves `choice` for the session's configuration.
///
/// Teams stores the instance settings first (`setConfig`). The webhook URL
/// is read from `getConfig` only afterwards, because the new Teams client
/// has been seen returning a different URL once `setConfig` has resolved.
/// The `webhookUrl` of the save event is used only when `getConfig` has
/// none.
///
/// `translations` give the `configName` shown in Teams.
pub async fn save(
    session: &Session,
    choice: NotificationChoice,
    event_webhook_url: Option<String>,
    translations: &Translations,
) -> Result<(), SaveError> {
    if !choice.is_valid() {
        return Err(SaveError::NothingChosen);
    }

    let instance_config = NewInstanceConfig {
        entity_id: session.configuration_id.to_string(),
        config_name: choice.summary(translations),
        content_url: session.page_url.clone(),
        remove_url: session.page_url.clone(),
    };
    within(
        TEAMS_CALL_TIMEOUT_SECONDS,
        teams::set_config(&instance_config),
    )
    .await
    .map_err(|_| SaveError::TeamsTimedOut)?
    .map_err(SaveError::SetConfigRejected)?;

    let config = within(TEAMS_CALL_TIMEOUT_SECONDS, teams::config())
        .await
        .map_err(|_| SaveError::TeamsTimedOut)?
        .map_err(SaveError::GetConfigFailed)?;
    let webhook_url = config
        .webhook_url
        .filter(|url| !url.is_empty())
        .or(event_webhook_url)
        .ok_or(SaveError::MissingWebhookUrl)?;

    let request = ConfigurationRequest {
        webhook_url,
        event_types: choice.event_types(),
        config_name: choice.summary(translations),
        context: session.context.clone(),
    };
    api::save_configuration(&session.configuration_id, &request).await?;
    Ok(())
}

//! The save flow, which runs when the user selects Save in Teams.

use crate::api::{self, ApiError, ConfigurationRequest};
use crate::choice::NotificationChoice;
use crate::session::Session;
use crate::teams::{self, NewInstanceConfig, TeamsError};
use crate::timeout::within;

/// Seconds the page waits for each TeamsJS call during a save. Two of them
/// plus the backend's timeout come to 20 seconds, under the 30 seconds Teams
/// allows a save handler.
pub const TEAMS_CALL_TIMEOUT_SECONDS: u32 = 5;

/// Why a save failed. Teams shows the message to the user, so each one
/// names the next step.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    #[error("Choose at least one kind of task event before saving.")]
    NothingChosen,

    #[error("The page is still loading. Wait a moment, then select Save again.")]
    NotReady,

    #[error("Teams did not accept the settings ({0}). Select Save to try again.")]
    SetConfigRejected(TeamsError),

    #[error("Teams could not return the connector settings ({0}). Select Save to try again.")]
    GetConfigFailed(TeamsError),

    #[error(
        "Teams did not answer within {TEAMS_CALL_TIMEOUT_SECONDS} seconds. Select Save to try again."
    )]
    TeamsTimedOut,

    #[error(
        "Teams did not provide a webhook URL for this channel. Remove the connector and add it again."
    )]
    MissingWebhookUrl,

    #[error("{0}")]
    Backend(#[from] ApiError),
}

/// Saves `choice` for the session's configuration.
///
/// Teams stores the instance settings first (`setConfig`). The webhook URL
/// is read from `getConfig` only afterwards, because the new Teams client
/// has been seen returning a different URL once `setConfig` has resolved.
/// The `webhookUrl` of the save event is used only when `getConfig` has
/// none.
pub async fn save(
    session: &Session,
    choice: NotificationChoice,
    event_webhook_url: Option<String>,
) -> Result<(), SaveError> {
    if !choice.is_valid() {
        return Err(SaveError::NothingChosen);
    }

    let instance_config = NewInstanceConfig {
        entity_id: session.configuration_id.to_string(),
        config_name: choice.summary(),
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
        config_name: choice.summary(),
        context: session.context.clone(),
    };
    api::save_configuration(&session.configuration_id, &request).await?;
    Ok(())
}

//! The page's start-up sequence and its TeamsJS event handlers.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::choice::NotificationChoice;
use crate::configuration_id::ConfigurationId;
use crate::save::{self, SaveError};
use crate::session::Session;
use crate::state::PageState;
use crate::status::Status;
use crate::teams::{self, RemoveEvent, SaveEvent, TeamsError};
use crate::timeout::within;

/// Seconds the page waits for `app.initialize` before it concludes that it
/// is not inside Teams. TeamsJS itself waits 60 seconds.
pub const INITIALIZE_TIMEOUT_SECONDS: u32 = 15;

/// Seconds the page waits for `getContext` and `getConfig` at start-up.
const READ_TIMEOUT_SECONDS: u32 = 10;

/// Connects to Teams, registers the handlers and restores a saved choice.
///
/// TeamsJS 2.x rejects every call made before `app.initialize` resolves, so
/// the handlers are registered only after it.
pub async fn start(state: PageState) {
    log::info!("configuration page starting");

    if let Err(reason) = connect().await {
        log::warn!("not running inside Microsoft Teams: {reason}");
        state.outside_teams.set(Some(reason));
        return;
    }
    if let Err(error) = register_handlers(state) {
        log::error!("registering the save and remove handlers failed: {error}");
        state.status.set(Status::Failed(format!(
            "Teams rejected the page's handlers ({error}). Close this dialog and open it again."
        )));
        return;
    }
    state.connected.set(true);
    state.status.set(Status::Loading);

    let session = match read_session().await {
        Ok(session) => session,
        Err(reason) => {
            log::error!("reading the Teams context failed: {reason}");
            state.status.set(Status::Failed(reason));
            return;
        }
    };
    log::info!(
        "configuration {} ({})",
        session.configuration_id,
        if session.is_existing {
            "existing"
        } else {
            "new"
        }
    );
    let is_existing = session.is_existing;
    let configuration_id = session.configuration_id.clone();
    state.session.set(Some(session));

    if !is_existing {
        state.status.set(Status::Ready);
        return;
    }
    match api::load_configuration(&configuration_id).await {
        Ok(Some(saved)) => {
            state
                .choice
                .set(NotificationChoice::from_event_types(&saved.event_types));
            state.status.set(Status::Restored);
        }
        Ok(None) => {
            log::warn!("configuration {configuration_id} is not stored; starting afresh");
            state.status.set(Status::Ready);
        }
        Err(error) => {
            log::error!("loading configuration {configuration_id} failed: {error:?}");
            state.status.set(Status::Failed(format!(
                "Could not load the saved choice. {error}"
            )));
        }
    }
}

/// Initializes TeamsJS, returning the reason to show when that fails.
///
/// The page does not test for a parent frame itself, because Teams mobile
/// hosts pages without one and TeamsJS finds each kind of host by itself.
async fn connect() -> Result<(), String> {
    const ONLY_IN_TEAMS: &str = "This page configures a Microsoft Teams connector and works \
        only inside Teams. Open it from a channel in Microsoft Teams: select Connectors, then \
        Configure.";

    if !teams::is_loaded() {
        return Err(format!(
            "{ONLY_IN_TEAMS} (The Microsoft Teams library did not load.)"
        ));
    }
    match within(INITIALIZE_TIMEOUT_SECONDS, teams::initialize()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("{ONLY_IN_TEAMS} ({error})")),
        Err(_) => Err(format!(
            "{ONLY_IN_TEAMS} (Teams did not answer within {INITIALIZE_TIMEOUT_SECONDS} seconds.)"
        )),
    }
}

fn register_handlers(state: PageState) -> Result<(), TeamsError> {
    teams::register_on_save_handler(move |event| spawn_local(handle_save(state, event)))?;
    teams::register_on_remove_handler(move |event| spawn_local(handle_remove(state, event)))
}

async fn read_session() -> Result<Session, String> {
    const TRY_AGAIN: &str = "Close this dialog and open it again.";

    let context = within(READ_TIMEOUT_SECONDS, teams::context())
        .await
        .map_err(|_| format!("Teams did not return its context in time. {TRY_AGAIN}"))?
        .map_err(|error| format!("Teams did not return its context ({error}). {TRY_AGAIN}"))?;
    let config = within(READ_TIMEOUT_SECONDS, teams::config())
        .await
        .map_err(|_| format!("Teams did not return the connector settings in time. {TRY_AGAIN}"))?
        .map_err(|error| {
            format!("Teams did not return the connector settings ({error}). {TRY_AGAIN}")
        })?;

    let page_url = page_url().ok_or_else(|| format!("The page address is unknown. {TRY_AGAIN}"))?;
    let fresh_id = ConfigurationId::generate().map_err(|error| {
        format!("The browser could not create an identifier ({error}). Use a current browser.")
    })?;
    Ok(Session::new(&context, &config, page_url, fresh_id))
}

/// Returns the page's address without query string or fragment.
fn page_url() -> Option<String> {
    let location = web_sys::window()?.location();
    let origin = location.origin().ok()?;
    let path = location.pathname().ok()?;
    Some(format!("{origin}{path}"))
}

/// Saves the choice as it is at the moment the user selected Save.
async fn handle_save(state: PageState, event: SaveEvent) {
    let choice = state.choice.get_untracked();
    let event_webhook_url = event.webhook_url();

    let result = match state.session.get_untracked() {
        None => Err(SaveError::NotReady),
        Some(session) => {
            state.status.set(Status::Saving);
            log::info!("saving configuration {}", session.configuration_id);
            save::save(&session, choice, event_webhook_url)
                .await
                .inspect(|()| log::info!("saved configuration {}", session.configuration_id))
                .inspect_err(|error| {
                    log::error!(
                        "saving configuration {} failed: {error:?}",
                        session.configuration_id
                    );
                })
        }
    };

    let notified = match result {
        Ok(()) => {
            state.status.set(Status::Saved);
            event.notify_success()
        }
        Err(error) => {
            let reason = error.to_string();
            state.status.set(Status::Failed(reason.clone()));
            event.notify_failure(&reason)
        }
    };
    if let Err(error) = notified {
        log::error!("telling Teams the save result failed: {error}");
    }
}

/// Deletes the configuration from the backend when the user removes the
/// connector.
///
/// Teams does not always call this handler, and a failure does not stop
/// the removal, so a stored configuration can outlive its connector.
async fn handle_remove(state: PageState, event: RemoveEvent) {
    let Some(session) = state.session.get_untracked() else {
        let reason = "The page is still loading. Wait a moment, then remove the connector again.";
        if let Err(error) = event.notify_failure(reason) {
            log::error!("telling Teams the remove result failed: {error}");
        }
        return;
    };

    state.status.set(Status::Removing);
    let id = &session.configuration_id;
    log::info!("removing configuration {id}");
    let notified = match api::delete_configuration(id).await {
        Ok(()) => {
            log::info!("removed configuration {id}");
            state.status.set(Status::Removed);
            event.notify_success()
        }
        Err(error) => {
            log::error!("removing configuration {id} failed: {error:?}");
            let reason = format!("Removing the connector's settings failed. {error}");
            state.status.set(Status::Failed(reason.clone()));
            event.notify_failure(&reason)
        }
    };
    if let Err(error) = notified {
        log::error!("telling Teams the remove result failed: {error}");
    }
}

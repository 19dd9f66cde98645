//! The page's start-up sequence and its TeamsJS event handlers.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::choice::NotificationChoice;
use crate::configuration_id::ConfigurationId;
use crate::i18n::{Language, Translations};
use crate::save::{self, SaveError};
use crate::session::Session;
use crate::state::PageState;
use crate::status::Status;
use crate::teams::{self, Context, RemoveEvent, SaveEvent, TeamsError};
use crate::theme::Theme;
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

    if let Err(reason) = connect(state.translations()).await {
        log::warn!("not running inside Microsoft Teams: {reason}");
        state.outside_teams.set(Some(reason));
        return;
    }
    if let Err(error) = register_handlers(state) {
        log::error!("registering the save and remove handlers failed: {error}");
        let reason = state
            .translations()
            .format("start.handlers_rejected", &[("detail", &error)]);
        state.status.set(Status::Failed(reason));
        return;
    }
    state.connected.set(true);
    state.status.set(Status::Loading);

    let context = match read_context().await {
        Ok(context) => context,
        Err(reason) => return fail_start(state, reason),
    };
    apply_display_settings(state, &context);

    let session = match read_session(&context).await {
        Ok(session) => session,
        Err(reason) => return fail_start(state, reason),
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
    let is_removal = session.is_removal;
    let configuration_id = session.configuration_id.clone();
    state.session.set(Some(session));

    let restored = if is_existing {
        restore_choice(state, &configuration_id).await
    } else {
        Status::Ready
    };
    // A failure to restore is shown even when removing, because the user
    // may want to know before removing.
    let status = match restored {
        Status::Ready | Status::Restored | Status::NotFound if is_removal => Status::ReadyToRemove,
        other => other,
    };
    state.status.set(status);
}

/// Loads the saved choice into the form and returns the status to show.
async fn restore_choice(state: PageState, configuration_id: &ConfigurationId) -> Status {
    match api::load_configuration(configuration_id).await {
        Ok(Some(saved)) => {
            state
                .choice
                .set(NotificationChoice::from_event_types(&saved.event_types));
            Status::Restored
        }
        Ok(None) => {
            log::warn!("configuration {configuration_id} is not stored; starting afresh");
            Status::NotFound
        }
        Err(error) => {
            log::error!("loading configuration {configuration_id} failed: {error:?}");
            let translations = state.translations();
            let reason = error.message(translations);
            Status::Failed(translations.format("start.load_failed", &[("reason", &reason)]))
        }
    }
}

fn fail_start(state: PageState, reason: StartError) {
    let message = reason.message(state.translations());
    log::error!("start-up failed: {message}");
    state.status.set(Status::Failed(message));
}

/// Initializes TeamsJS, returning the technical reason when that fails.
///
/// The page does not test for a parent frame itself, because Teams mobile
/// hosts pages without one and TeamsJS finds each kind of host by itself.
async fn connect(translations: &Translations) -> Result<(), String> {
    if !teams::is_loaded() {
        return Err(translations.text("outside.library_missing"));
    }
    match within(INITIALIZE_TIMEOUT_SECONDS, teams::initialize()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(translations.format(
            "outside.timed_out",
            &[("seconds", &INITIALIZE_TIMEOUT_SECONDS)],
        )),
    }
}

fn register_handlers(state: PageState) -> Result<(), TeamsError> {
    // TeamsJS rejects registerOnSaveHandler in the `remove` frame context,
    // where the host only removes, so the page registers it elsewhere only.
    if teams::frame_context()?.as_deref() != Some("remove") {
        teams::register_on_save_handler(move |event| spawn_local(handle_save(state, event)))?;
    }
    teams::register_on_remove_handler(move |event| spawn_local(handle_remove(state, event)))?;

    // A page that cannot follow theme changes still works, so a failure
    // here is only logged.
    let theme_handler = teams::register_on_theme_change_handler(move |name| {
        log::info!("Teams theme changed to {name}");
        state.theme.set(Theme::from_name(&name));
    });
    if let Err(error) = theme_handler {
        log::warn!("registering the theme change handler failed: {error}");
    }
    Ok(())
}

/// Shows the page in the user's language and Teams theme.
fn apply_display_settings(state: PageState, context: &Context) {
    if let Some(locale) = &context.app.locale {
        state.language.set(Language::from_locale(locale));
    }
    if let Some(theme) = &context.app.theme {
        state.theme.set(Theme::from_name(theme));
    }
}

/// A start-up step that failed, with the message key that explains it.
enum StartError {
    Message(&'static str),
    WithDetail(&'static str, String),
}

impl StartError {
    fn message(&self, translations: &Translations) -> String {
        match self {
            StartError::Message(key) => translations.text(key),
            StartError::WithDetail(key, detail) => translations.format(key, &[("detail", detail)]),
        }
    }
}

async fn read_context() -> Result<Context, StartError> {
    within(READ_TIMEOUT_SECONDS, teams::context())
        .await
        .map_err(|_| StartError::Message("start.context_timed_out"))?
        .map_err(|error| StartError::WithDetail("start.context_failed", error.to_string()))
}

async fn read_session(context: &Context) -> Result<Session, StartError> {
    let config = within(READ_TIMEOUT_SECONDS, teams::config())
        .await
        .map_err(|_| StartError::Message("start.config_timed_out"))?
        .map_err(|error| StartError::WithDetail("start.config_failed", error.to_string()))?;

    let page_url = page_url().ok_or(StartError::Message("start.no_page_url"))?;
    let fresh_id = ConfigurationId::generate()
        .map_err(|error| StartError::WithDetail("start.no_random_id", error))?;
    Ok(Session::new(context, &config, page_url, fresh_id))
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
    let translations = state.translations();

    let result = match state.session.get_untracked() {
        None => Err(SaveError::NotReady),
        Some(session) => {
            state.status.set(Status::Saving);
            log::info!("saving configuration {}", session.configuration_id);
            save::save(&session, choice, event_webhook_url, translations)
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
            let reason = error.reason(translations);
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
    let translations = state.translations();
    let Some(session) = state.session.get_untracked() else {
        let reason = translations.text("remove.not_ready");
        if let Err(error) = event.notify_failure(&reason) {
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
            let reason =
                translations.format("remove.failed", &[("reason", &error.message(translations))]);
            state.status.set(Status::Failed(reason.clone()));
            event.notify_failure(&reason)
        }
    };
    if let Err(error) = notified {
        log::error!("telling Teams the remove result failed: {error}");
    }
}

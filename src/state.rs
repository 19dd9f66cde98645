//! The page's reactive state, shared by the view and the TeamsJS handlers.

use leptos::prelude::*;

use crate::choice::NotificationChoice;
use crate::i18n::{Language, Translations};
use crate::session::Session;
use crate::status::Status;
use crate::theme::Theme;

/// Signals for everything the page shows or the handlers read.
///
/// All fields are arena-allocated signals, so the struct is `Copy` and can
/// move into the `'static` closures TeamsJS calls.
#[derive(Clone, Copy)]
pub struct PageState {
    pub choice: RwSignal<NotificationChoice>,
    pub status: RwSignal<Status>,
    /// Set once `getContext` and `getConfig` have returned.
    pub session: RwSignal<Option<Session>>,
    /// Set once `app.initialize` has resolved; no other TeamsJS call runs
    /// before.
    pub connected: RwSignal<bool>,
    /// Why the page cannot work here, when it is not running inside Teams:
    /// a technical detail shown below the explanation.
    pub outside_teams: RwSignal<Option<String>>,
    /// The user's language: the browser's until Teams reports its locale.
    pub language: RwSignal<Language>,
    /// The Teams theme, which Teams can change while the page is open.
    pub theme: RwSignal<Theme>,
}

impl PageState {
    pub fn new() -> Self {
        PageState {
            choice: RwSignal::new(NotificationChoice::default()),
            status: RwSignal::new(Status::Connecting),
            session: RwSignal::new(None),
            connected: RwSignal::new(false),
            outside_teams: RwSignal::new(None),
            language: RwSignal::new(browser_language()),
            theme: RwSignal::new(Theme::Default),
        }
    }

    /// Returns the translations of the current language, without tracking
    /// it, for messages built once (such as a failure reason).
    pub fn translations(&self) -> &'static Translations {
        self.language.get_untracked().translations()
    }
}

/// Returns the language of the browser (`navigator.language`), shown before
/// Teams reports the user's locale and outside Teams.
fn browser_language() -> Language {
    web_sys::window()
        .and_then(|window| window.navigator().language())
        .map(|locale| Language::from_locale(&locale))
        .unwrap_or_default()
}

impl Default for PageState {
    fn default() -> Self {
        Self::new()
    }
}

//! The page's reactive state, shared by the view and the TeamsJS handlers.

use leptos::prelude::*;

use crate::choice::NotificationChoice;
use crate::session::Session;
use crate::status::Status;

/// Signals for everything the page shows or the handlers read.
///
/// All fields are arena-allocated signals, so the struct is `Copy` and can
/// move into the `'static` closures TeamsJS calls.
#[derive(Clone, Copy)]
pub struct PageState {
    pub choice: RwSignal<NotificationChoice>,
    pub status: RwSignal<Status>,
    /// Set once `getContext` and `getConfig` have answered.
    pub session: RwSignal<Option<Session>>,
    /// Set once `app.initialize` has resolved; no other TeamsJS call runs
    /// before.
    pub connected: RwSignal<bool>,
    /// Why the page cannot work here, when it is not running inside Teams.
    pub outside_teams: RwSignal<Option<String>>,
}

impl PageState {
    pub fn new() -> Self {
        PageState {
            choice: RwSignal::new(NotificationChoice::default()),
            status: RwSignal::new(Status::Connecting),
            session: RwSignal::new(None),
            connected: RwSignal::new(false),
            outside_teams: RwSignal::new(None),
        }
    }
}

impl Default for PageState {
    fn default() -> Self {
        Self::new()
    }
}

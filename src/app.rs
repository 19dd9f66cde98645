//! The root component.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::{NotificationForm, OutsideTeams, StatusLine};
use crate::startup;
use crate::state::PageState;
use crate::teams;

/// The configuration page: the notification form inside Teams, or an
/// explanation outside it.
#[component]
pub fn App() -> impl IntoView {
    let state = PageState::new();
    spawn_local(startup::start(state));

    // Teams enables its Save button only while the page says the choice is
    // valid, so every change of validity is reported once connected.
    let valid = Memo::new(move |_| state.choice.get().is_valid());
    Effect::new(move |_| {
        let valid = valid.get();
        if state.connected.get()
            && let Err(error) = teams::set_validity_state(valid)
        {
            log::error!("setValidityState({valid}) failed: {error}");
        }
    });

    let busy = Signal::derive(move || state.status.get().is_busy());

    view! {
        <main class="config-page">
            <h1>"Task notifications"</h1>
            {move || match state.outside_teams.get() {
                Some(reason) => view! { <OutsideTeams reason /> }.into_any(),
                None => {
                    view! {
                        <NotificationForm choice=state.choice disabled=busy />
                        <StatusLine status=state.status />
                    }
                        .into_any()
                }
            }}
        </main>
    }
}

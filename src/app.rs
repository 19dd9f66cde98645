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

    // Teams enables its Save button only while the page reports the choice as
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

    // The theme, language and text direction apply to the whole document,
    // so the style sheet can follow them from the root element.
    Effect::new(move |_| {
        let language = state.language.get();
        let theme = state.theme.get();
        let Some(root) = document().document_element() else {
            return;
        };
        let attributes = [
            ("lang", language.tag()),
            ("dir", language.direction().as_str()),
            ("data-theme", theme.as_str()),
        ];
        for (name, value) in attributes {
            if let Err(error) = root.set_attribute(name, value) {
                log::error!("setting {name}={value} on the page failed: {error:?}");
            }
        }
    });

    let locked = Signal::derive(move || state.status.get().locks_form());
    let language = state.language;

    view! {
        <main class="config-page">
            <h1>{move || language.get().translations().text("page.title")}</h1>
            {move || match state.outside_teams.get() {
                Some(detail) => view! { <OutsideTeams detail language /> }.into_any(),
                None => {
                    view! {
                        <NotificationForm choice=state.choice disabled=locked language />
                        <StatusLine status=state.status language />
                    }
                        .into_any()
                }
            }}
        </main>
    }
}

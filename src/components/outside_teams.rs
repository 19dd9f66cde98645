//! What the page shows when it is opened outside Microsoft Teams.

use leptos::prelude::*;

use crate::i18n::Language;

/// Explains that the page works only inside Teams, and why it stopped.
#[component]
pub fn OutsideTeams(
    /// The reason, including what the user should do.
    reason: String,
    /// The language of the heading.
    #[prop(into)]
    language: Signal<Language>,
) -> impl IntoView {
    view! {
        <section class="outside-teams" aria-labelledby="outside-teams-title">
            <h2 id="outside-teams-title">
                {move || language.get().translations().text("outside.title")}
            </h2>
            <p id="outside-teams" role="alert">{reason}</p>
        </section>
    }
}

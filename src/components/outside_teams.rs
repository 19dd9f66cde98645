//! What the page shows when it is opened outside Microsoft Teams.

use leptos::prelude::*;

/// Explains that the page works only inside Teams, and why it stopped.
#[component]
pub fn OutsideTeams(
    /// The reason, including what the user should do.
    reason: String,
) -> impl IntoView {
    view! {
        <section class="outside-teams" aria-labelledby="outside-teams-title">
            <h2 id="outside-teams-title">"Open this page from Microsoft Teams"</h2>
            <p id="outside-teams" role="alert">{reason}</p>
        </section>
    }
}

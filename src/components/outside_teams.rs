//! The page content shown when the page is opened outside Microsoft Teams.

use leptos::prelude::*;

use crate::i18n::Language;

/// Explains that the page works only inside Teams, with the technical
/// reason it stopped.
#[component]
pub fn OutsideTeams(
    /// What went wrong, such as the error `app.initialize` rejected with.
    detail: String,
    /// The language of the explanation.
    #[prop(into)]
    language: Signal<Language>,
) -> impl IntoView {
    let text = move |key: &'static str| move || language.get().translations().text(key);
    let detail_line = move || {
        language
            .get()
            .translations()
            .format("outside.detail", &[("detail", &detail)])
    };

    view! {
        <section class="outside-teams" aria-labelledby="outside-teams-title">
            <h2 id="outside-teams-title">{text("outside.title")}</h2>
            <p id="outside-teams" role="alert">{text("outside.only_in_teams")}</p>
            <p class="detail">{detail_line}</p>
        </section>
    }
}

//! The line that reports progress and failures.

use leptos::prelude::*;

use crate::i18n::Language;
use crate::status::Status;

/// Shows the current status in a polite live region, so screen readers
/// announce loading, saving and failures.
#[component]
pub fn StatusLine(
    status: RwSignal<Status>,
    /// The language of the message.
    #[prop(into)]
    language: Signal<Language>,
) -> impl IntoView {
    view! {
        <p
            id="status"
            class="status"
            class:failed=move || status.get().is_failure()
            role="status"
            aria-live="polite"
        >
            {move || status.get().message(language.get().translations())}
        </p>
    }
}

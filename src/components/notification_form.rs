//! The form where a channel chooses its task events.

use leptos::prelude::*;

use crate::choice::{EventType, NotificationChoice};
use crate::i18n::Language;

/// The "Send notifications when tasks are" fieldset, with one checkbox per
/// event type.
#[component]
pub fn NotificationForm(
    /// The choice the checkboxes show and change.
    choice: RwSignal<NotificationChoice>,
    /// Whether input is ignored while the page loads or saves.
    #[prop(into)]
    disabled: Signal<bool>,
    /// The language of the labels.
    #[prop(into)]
    language: Signal<Language>,
) -> impl IntoView {
    let text = move |key: &'static str| move || language.get().translations().text(key);
    // The hint turns red only once the user has changed something, so a new
    // form does not open with an error.
    let touched = RwSignal::new(false);
    let checkboxes = EventType::ALL
        .into_iter()
        .map(|event_type| view! { <EventCheckbox choice event_type language /> })
        .collect_view();

    view! {
        // Teams owns the Save button, so Enter must not submit this form.
        <form class="notification-form" on:submit=|event| event.prevent_default()>
            <fieldset
                prop:disabled=move || disabled.get()
                aria-describedby="choice-hint"
                on:change=move |_| touched.set(true)
            >
                <legend>{text("form.legend")}</legend>
                {checkboxes}
                <p id="choice-hint" class="hint" class:invalid=move || touched.get() && !choice.get().is_valid()>
                    {text("form.hint")}
                </p>
            </fieldset>
        </form>
    }
}

/// One labelled checkbox for `event_type`.
#[component]
fn EventCheckbox(
    choice: RwSignal<NotificationChoice>,
    event_type: EventType,
    language: Signal<Language>,
) -> impl IntoView {
    let id = format!("event-{event_type}");
    let label_key = match event_type {
        EventType::Created => "form.event.created",
        EventType::Updated => "form.event.updated",
    };

    view! {
        <div class="checkbox">
            <input
                type="checkbox"
                id=id.clone()
                name="event-types"
                value=event_type.as_str()
                prop:checked=move || choice.get().includes(event_type)
                on:change=move |event| {
                    let checked = event_target_checked(&event);
                    choice.update(|choice| *choice = choice.with(event_type, checked));
                }
            />
            <label for=id>{move || language.get().translations().text(label_key)}</label>
        </div>
    }
}

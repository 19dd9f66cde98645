//! Typed binding to the TeamsJS library (`@microsoft/teams-js` 2.x).
//!
//! `index.html` loads the library's UMD build with a classic script tag, so
//! the `microsoftTeams` global exists before the wasm module starts. Every
//! call goes through the private `extern` block below. The public functions
//! take and return Rust types, so no code outside this module handles a
//! `JsValue`.

mod error;
mod types;

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

pub use error::TeamsError;
pub use types::{
    AppInfo, ChannelInfo, Context, InstanceConfig, NewInstanceConfig, PageInfo, TeamInfo,
    TenantInfo, UserInfo,
};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "app"], js_name = initialize)]
    fn app_initialize() -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "app"], js_name = getContext)]
    fn app_get_context() -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "app"], js_name = getFrameContext)]
    fn app_get_frame_context() -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "app"], js_name = registerOnThemeChangeHandler)]
    fn app_register_on_theme_change_handler(
        handler: &Closure<dyn FnMut(String)>,
    ) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "pages"], js_name = getConfig)]
    fn pages_get_config() -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "pages", "config"], js_name = setValidityState)]
    fn config_set_validity_state(valid: bool) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "pages", "config"], js_name = setConfig)]
    fn config_set_config(instance_config: &JsValue) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "pages", "config"], js_name = registerOnSaveHandler)]
    fn config_register_on_save_handler(
        handler: &Closure<dyn FnMut(JsSaveEvent)>,
    ) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, js_namespace = ["microsoftTeams", "pages", "config"], js_name = registerOnRemoveHandler)]
    fn config_register_on_remove_handler(
        handler: &Closure<dyn FnMut(JsRemoveEvent)>,
    ) -> Result<(), JsValue>;

    /// `pages.config.SaveEvent`.
    type JsSaveEvent;

    #[wasm_bindgen(method, getter)]
    fn result(this: &JsSaveEvent) -> JsValue;

    #[wasm_bindgen(method, catch, js_name = notifySuccess)]
    fn notify_success(this: &JsSaveEvent) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = notifyFailure)]
    fn notify_failure(this: &JsSaveEvent, reason: &str) -> Result<(), JsValue>;

    /// `pages.config.RemoveEvent`.
    type JsRemoveEvent;

    #[wasm_bindgen(method, catch, js_name = notifySuccess)]
    fn notify_success(this: &JsRemoveEvent) -> Result<(), JsValue>;

    #[wasm_bindgen(method, catch, js_name = notifyFailure)]
    fn notify_failure(this: &JsRemoveEvent, reason: &str) -> Result<(), JsValue>;
}

/// Returns whether the `microsoftTeams` global exists.
pub fn is_loaded() -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str("microsoftTeams"))
        .map(|library| library.is_object())
        .unwrap_or(false)
}

fn ensure_loaded() -> Result<(), TeamsError> {
    if is_loaded() {
        Ok(())
    } else {
        Err(TeamsError::LibraryMissing)
    }
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, TeamsError> {
    let promise = promise.map_err(TeamsError::from_js)?;
    JsFuture::from(promise).await.map_err(TeamsError::from_js)
}

/// Calls `app.initialize` and waits for the host's reply.
///
/// No other TeamsJS call may run before this has succeeded. Outside Teams
/// (no parent window) the library rejects at once. Framed by a page that
/// never replies, it rejects after 60 seconds, so callers add a shorter
/// timeout.
pub async fn initialize() -> Result<(), TeamsError> {
    ensure_loaded()?;
    settle(app_initialize()).await.map(drop)
}

/// Calls `app.getContext`.
pub async fn context() -> Result<Context, TeamsError> {
    ensure_loaded()?;
    let context = settle(app_get_context()).await?;
    serde_wasm_bindgen::from_value(context)
        .map_err(|error| TeamsError::malformed("app.getContext", error))
}

/// Calls `pages.getConfig`.
pub async fn config() -> Result<InstanceConfig, TeamsError> {
    ensure_loaded()?;
    let config = settle(pages_get_config()).await?;
    if config.is_undefined() || config.is_null() {
        return Ok(InstanceConfig::default());
    }
    serde_wasm_bindgen::from_value(config)
        .map_err(|error| TeamsError::malformed("pages.getConfig", error))
}

/// Calls `pages.config.setValidityState`, which enables or disables the
/// host's Save button.
pub fn set_validity_state(valid: bool) -> Result<(), TeamsError> {
    ensure_loaded()?;
    config_set_validity_state(valid).map_err(TeamsError::from_js)
}

/// Calls `pages.config.setConfig` and waits until the host has stored it.
pub async fn set_config(instance_config: &NewInstanceConfig) -> Result<(), TeamsError> {
    ensure_loaded()?;
    let value = serde_wasm_bindgen::to_value(instance_config)
        .map_err(|error| TeamsError::malformed("pages.config.setConfig", error))?;
    settle(config_set_config(&value)).await.map(drop)
}

/// Returns the frame context of the host's `initialize` reply, such as
/// `settings` or `remove`, or `None` before `initialize` has completed.
pub fn frame_context() -> Result<Option<String>, TeamsError> {
    ensure_loaded()?;
    let context = app_get_frame_context().map_err(TeamsError::from_js)?;
    Ok(context.as_string())
}

/// Registers `handler` for theme changes
/// (`app.registerOnThemeChangeHandler`); it receives the new theme's name
/// (`default`, `dark` or `contrast`). A later call replaces it.
pub fn register_on_theme_change_handler(
    handler: impl FnMut(String) + 'static,
) -> Result<(), TeamsError> {
    ensure_loaded()?;
    let closure = Closure::<dyn FnMut(String)>::new(handler);
    app_register_on_theme_change_handler(&closure).map_err(TeamsError::from_js)?;

    // Same lifetime as the save handler below.
    closure.forget();
    Ok(())
}

/// Registers `handler` for the host's Save button
/// (`pages.config.registerOnSaveHandler`). A later call replaces it.
pub fn register_on_save_handler(
    mut handler: impl FnMut(SaveEvent) + 'static,
) -> Result<(), TeamsError> {
    ensure_loaded()?;
    let closure = Closure::<dyn FnMut(JsSaveEvent)>::new(move |event| {
        handler(SaveEvent { event });
    });
    config_register_on_save_handler(&closure).map_err(TeamsError::from_js)?;

    // TeamsJS keeps the handler for the life of the page, so the closure
    // must live as long; registering again replaces it without freeing it.
    closure.forget();
    Ok(())
}

/// Registers `handler` for the host's Remove action
/// (`pages.config.registerOnRemoveHandler`). A later call replaces it.
pub fn register_on_remove_handler(
    mut handler: impl FnMut(RemoveEvent) + 'static,
) -> Result<(), TeamsError> {
    ensure_loaded()?;
    let closure = Closure::<dyn FnMut(JsRemoveEvent)>::new(move |event| {
        handler(RemoveEvent { event });
    });
    config_register_on_remove_handler(&closure).map_err(TeamsError::from_js)?;

    // Same lifetime as the save handler above.
    closure.forget();
    Ok(())
}

/// The user clicked Save. Exactly one of the `notify_*` methods must be
/// called, which the methods enforce by taking `self`.
pub struct SaveEvent {
    event: JsSaveEvent,
}

impl SaveEvent {
    /// Returns the `webhookUrl` the host sent with the event, if any.
    pub fn webhook_url(&self) -> Option<String> {
        let result = self.event.result();
        if !result.is_object() {
            return None;
        }
        Reflect::get(&result, &JsValue::from_str("webhookUrl"))
            .ok()
            .and_then(|url| url.as_string())
            .filter(|url| !url.is_empty())
    }

    /// Tells the host that saving succeeded, so it closes the dialog.
    pub fn notify_success(self) -> Result<(), TeamsError> {
        self.event.notify_success().map_err(TeamsError::from_js)
    }

    /// Tells the host that saving failed, with a reason it shows the user.
    pub fn notify_failure(self, reason: &str) -> Result<(), TeamsError> {
        self.event
            .notify_failure(reason)
            .map_err(TeamsError::from_js)
    }
}

/// The user removed the connector. Exactly one of the `notify_*` methods
/// must be called.
pub struct RemoveEvent {
    event: JsRemoveEvent,
}

impl RemoveEvent {
    /// Tells the host that the removal succeeded.
    pub fn notify_success(self) -> Result<(), TeamsError> {
        self.event.notify_success().map_err(TeamsError::from_js)
    }

    /// Tells the host that the removal failed, with a reason.
    pub fn notify_failure(self, reason: &str) -> Result<(), TeamsError> {
        self.event
            .notify_failure(reason)
            .map_err(TeamsError::from_js)
    }
}

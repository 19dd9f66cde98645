//! Errors thrown or rejected by TeamsJS, copied into owned Rust strings.

use js_sys::{Error, JsString, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// A failed TeamsJS call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TeamsError {
    /// The `microsoftTeams` global is missing because the library script did
    /// not load.
    #[error("the Microsoft Teams JavaScript library is not loaded")]
    LibraryMissing,

    /// The library threw an `Error` or rejected a promise with one.
    #[error("{message}")]
    Js { name: String, message: String },

    /// The library reported a TeamsJS `SdkError`, such as code 100 when the
    /// host does not support a capability.
    #[error("Teams error code {code}{}", format_sdk_message(.message))]
    Sdk { code: i64, message: Option<String> },

    /// A value from the library did not have the expected shape.
    #[error("unexpected value from {call}: {detail}")]
    Malformed { call: &'static str, detail: String },
}

fn format_sdk_message(message: &Option<String>) -> String {
    match message {
        Some(message) => format!(": {message}"),
        None => String::new(),
    }
}

impl TeamsError {
    /// Converts whatever TeamsJS threw or rejected with.
    pub(super) fn from_js(value: JsValue) -> Self {
        if let Some(error) = value.dyn_ref::<Error>() {
            return TeamsError::Js {
                name: String::from(error.name()),
                message: String::from(error.message()),
            };
        }

        if let Some(text) = value.as_string() {
            return TeamsError::Js {
                name: "Error".to_owned(),
                message: text,
            };
        }

        if value.is_object() {
            let code = Reflect::get(&value, &JsValue::from_str("errorCode"))
                .ok()
                .and_then(|code| code.as_f64());
            let message = Reflect::get(&value, &JsValue::from_str("message"))
                .ok()
                .and_then(|message| message.as_string());

            if let Some(code) = code {
                return TeamsError::Sdk {
                    code: code as i64,
                    message,
                };
            }
            if let Some(message) = message {
                return TeamsError::Js {
                    name: "Error".to_owned(),
                    message,
                };
            }
        }

        let description = js_sys::JSON::stringify(&value)
            .map(String::from)
            .unwrap_or_else(|_| String::from(JsString::from(value)));
        TeamsError::Js {
            name: "Error".to_owned(),
            message: description,
        }
    }

    pub(super) fn malformed(call: &'static str, error: serde_wasm_bindgen::Error) -> Self {
        TeamsError::Malformed {
            call,
            detail: error.to_string(),
        }
    }
}

//! Request body of `PUT /api/configurations/{id}` and the rules that turn it into a
//! [`Configuration`].

use std::collections::BTreeSet;

use serde::Deserialize;
use url::Url;
use uuid::Uuid;

use crate::configuration::{AppType, Configuration, Context, EventType};
use crate::extract::{JsonShape, MAX_BODY_BYTES};
use crate::webhook_url::{WebhookUrl, WebhookUrlError};

/// Maximum length of a configuration name, in characters, after trimming.
pub const MAX_CONFIG_NAME_CHARS: usize = 200;

/// Maximum length of each context string, in characters, after trimming.
pub const MAX_CONTEXT_FIELD_CHARS: usize = 256;

/// Hint for context errors, which the page user cannot fix by editing a field.
const REOPEN_HINT: &str = "Open the configuration page again from Microsoft Teams.";

/// Body of `PUT /api/configurations/{id}`, before validation. Unknown fields are ignored.
///
/// It has no `Debug` implementation because it contains the webhook URL.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationRequest {
    pub webhook_url: String,
    pub event_types: Vec<String>,
    pub config_name: String,
    #[serde(default)]
    pub context: Option<ContextRequest>,
}

impl JsonShape for ConfigurationRequest {
    const SHAPE: &'static str = "webhookUrl and configName are strings, eventTypes is a list \
                                 of strings, and context is an object of strings.";
    const SYNTAX_HINT: &'static str =
        "Send a JSON object with webhookUrl, eventTypes and configName.";
    const MAX_BYTES: usize = MAX_BODY_BYTES;
    const TOO_LARGE_HINT: &'static str = "Send only the fields of a configuration.";
}

/// Teams context as the page sends it, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextRequest {
    pub tenant_id: Option<String>,
    pub group_id: Option<String>,
    pub team_id: Option<String>,
    pub channel_id: Option<String>,
    pub user_object_id: Option<String>,
    pub app_type: Option<String>,
}

/// Reason a request was rejected, with a message that a person can act on.
///
/// No message contains the webhook URL, and an unknown event type is repeated only when
/// it is a short plain word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error(
        "The configuration id in the path is not a UUID. Use the id that the configuration \
         page generated, such as 0f8fad5b-d9cb-469f-a165-70867728950e."
    )]
    InvalidId,
    #[error(transparent)]
    WebhookUrl(#[from] WebhookUrlError),
    #[error("No event type is selected. Choose at least one of: created, updated.")]
    NoEventTypes,
    #[error("The event type \"{0}\" is not supported. Use only: created, updated.")]
    UnknownEventType(String),
    #[error("An event type in eventTypes is not supported. Use only: created, updated.")]
    UnknownEventTypeHidden,
    #[error(
        "The configuration name is empty. Enter a name of 1 to {MAX_CONFIG_NAME_CHARS} \
         characters."
    )]
    EmptyConfigName,
    #[error(
        "The configuration name is longer than {MAX_CONFIG_NAME_CHARS} characters. Enter a \
         shorter name."
    )]
    ConfigNameTooLong,
    #[error(
        "The configuration name contains a control character, such as a line break or a tab. \
         Enter the name on one line without special characters."
    )]
    ConfigNameControlCharacter,
    #[error("context.{field} is longer than {MAX_CONTEXT_FIELD_CHARS} characters. {REOPEN_HINT}")]
    ContextFieldTooLong { field: &'static str },
    #[error("context.{field} contains a control character. {REOPEN_HINT}")]
    ContextFieldControlCharacter { field: &'static str },
    #[error("context.appType must be one of: mail, groups, teams. {REOPEN_HINT}")]
    UnknownAppType,
}

impl ValidationError {
    /// Returns the snake_case code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidId => "invalid_id",
            Self::WebhookUrl(_) => "invalid_webhook_url",
            Self::NoEventTypes | Self::UnknownEventType(_) | Self::UnknownEventTypeHidden => {
                "invalid_event_types"
            }
            Self::EmptyConfigName | Self::ConfigNameTooLong | Self::ConfigNameControlCharacter => {
                "invalid_config_name"
            }
            Self::ContextFieldTooLong { .. }
            | Self::ContextFieldControlCharacter { .. }
            | Self::UnknownAppType => "invalid_context",
        }
    }
}

/// Parses a configuration id from the path. It accepts the hyphenated and the simple
/// (32 hex digits) form of any UUID version, in any case.
pub fn parse_configuration_id(raw: &str) -> Result<Uuid, ValidationError> {
    if raw.len() != 36 && raw.len() != 32 {
        return Err(ValidationError::InvalidId);
    }
    Uuid::try_parse(raw).map_err(|_| ValidationError::InvalidId)
}

/// Validates every field of `request` and returns the configuration to store under `id`.
/// The first invalid field decides the error, checked in the order webhook URL, event
/// types, configuration name, context.
pub fn validate_configuration(
    id: Uuid,
    request: ConfigurationRequest,
    dev_webhook_origin: Option<&Url>,
) -> Result<Configuration, ValidationError> {
    let webhook_url = WebhookUrl::parse(&request.webhook_url, dev_webhook_origin)?;
    let event_types = validate_event_types(&request.event_types)?;
    let config_name = validate_config_name(&request.config_name)?;
    let context = validate_context(request.context.unwrap_or_default())?;

    Ok(Configuration {
        id,
        webhook_url,
        event_types,
        config_name,
        context,
    })
}

/// Converts event type names into a set, so that duplicates collapse.
pub fn validate_event_types(names: &[String]) -> Result<BTreeSet<EventType>, ValidationError> {
    if names.is_empty() {
        return Err(ValidationError::NoEventTypes);
    }

    let mut event_types = BTreeSet::new();
    for name in names {
        match EventType::from_name(name) {
            Some(event) => {
                event_types.insert(event);
            }
            None if is_safe_to_repeat(name) => {
                return Err(ValidationError::UnknownEventType(name.clone()));
            }
            None => return Err(ValidationError::UnknownEventTypeHidden),
        }
    }
    Ok(event_types)
}

/// Trims the configuration name and checks its length and characters.
pub fn validate_config_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ValidationError::EmptyConfigName);
    }
    if name.chars().count() > MAX_CONFIG_NAME_CHARS {
        return Err(ValidationError::ConfigNameTooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::ConfigNameControlCharacter);
    }
    Ok(name.to_owned())
}

/// Trims each context string, stores empty ones as absent and checks the rest.
pub fn validate_context(raw: ContextRequest) -> Result<Context, ValidationError> {
    let app_type = match validate_context_field("appType", raw.app_type)? {
        None => None,
        Some(name) => Some(AppType::from_name(&name).ok_or(ValidationError::UnknownAppType)?),
    };

    Ok(Context {
        tenant_id: validate_context_field("tenantId", raw.tenant_id)?,
        group_id: validate_context_field("groupId", raw.group_id)?,
        team_id: validate_context_field("teamId", raw.team_id)?,
        channel_id: validate_context_field("channelId", raw.channel_id)?,
        user_object_id: validate_context_field("userObjectId", raw.user_object_id)?,
        app_type,
    })
}

fn validate_context_field(
    field: &'static str,
    value: Option<String>,
) -> Result<Option<String>, ValidationError> {
    let Some(value) = value else {
        return Ok(None);
    };

    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_CONTEXT_FIELD_CHARS {
        return Err(ValidationError::ContextFieldTooLong { field });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::ContextFieldControlCharacter { field });
    }
    Ok(Some(trimmed.to_owned()))
}

/// Returns whether a rejected value may appear in an error message. Only short words of
/// letters, digits, `_` and `-` qualify, which no URL is.
fn is_safe_to_repeat(value: &str) -> bool {
    (1..=32).contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBHOOK_URL: &str =
        "https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner";

    fn request() -> ConfigurationRequest {
        ConfigurationRequest {
            webhook_url: WEBHOOK_URL.to_owned(),
            event_types: vec!["created".to_owned()],
            config_name: "Tasks created".to_owned(),
            context: None,
        }
    }

    fn names(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn configuration_id_accepts_uuid_forms() {
        let expected = Uuid::parse_str("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        let forms = [
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "0F8FAD5B-D9CB-469F-A165-70867728950E",
            "0f8fad5bd9cb469fa16570867728950e",
        ];
        for form in forms {
            assert_eq!(parse_configuration_id(form), Ok(expected), "{form}");
        }
    }

    #[test]
    fn configuration_id_accepts_any_version() {
        let ids = [
            "00000000-0000-0000-0000-000000000000",
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
            "01890a5d-ac96-774b-bcce-b302099a8057",
        ];
        for id in ids {
            assert!(parse_configuration_id(id).is_ok(), "{id}");
        }
    }

    #[test]
    fn configuration_id_rejects_non_uuids() {
        let ids = [
            "",
            "config-1",
            "0f8fad5b-d9cb-469f-a165-70867728950",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "{0f8fad5b-d9cb-469f-a165-70867728950e}",
            "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
            " 0f8fad5b-d9cb-469f-a165-70867728950e",
        ];
        for id in ids {
            assert_eq!(
                parse_configuration_id(id),
                Err(ValidationError::InvalidId),
                "{id}"
            );
        }
    }

    #[test]
    fn event_types_collapse_duplicates() {
        let event_types = validate_event_types(&names(&["updated", "created", "updated"])).unwrap();

        assert_eq!(
            event_types.into_iter().collect::<Vec<_>>(),
            vec![EventType::Created, EventType::Updated]
        );
    }

    #[test]
    fn event_types_reject_empty_list() {
        assert_eq!(
            validate_event_types(&[]),
            Err(ValidationError::NoEventTypes)
        );
    }

    #[test]
    fn event_types_reject_unknown_value() {
        let error = validate_event_types(&names(&["created", "deleted"])).unwrap_err();

        assert_eq!(
            error,
            ValidationError::UnknownEventType("deleted".to_owned())
        );
        assert_eq!(error.code(), "invalid_event_types");
        assert!(error.to_string().contains("created, updated"));
    }

    #[test]
    fn event_types_are_case_sensitive() {
        let error = validate_event_types(&names(&["Created"])).unwrap_err();

        assert_eq!(
            error,
            ValidationError::UnknownEventType("Created".to_owned())
        );
    }

    #[test]
    fn event_types_do_not_repeat_urls() {
        let error = validate_event_types(&names(&[WEBHOOK_URL])).unwrap_err();

        assert_eq!(error, ValidationError::UnknownEventTypeHidden);
        assert!(!error.to_string().contains("contoso"));
    }

    #[test]
    fn config_name_is_trimmed() {
        assert_eq!(validate_config_name("  Tasks  "), Ok("Tasks".to_owned()));
    }

    #[test]
    fn config_name_length_limits() {
        let longest = "é".repeat(MAX_CONFIG_NAME_CHARS);
        let too_long = "é".repeat(MAX_CONFIG_NAME_CHARS + 1);

        assert_eq!(validate_config_name("x"), Ok("x".to_owned()));
        assert_eq!(validate_config_name(&longest), Ok(longest.clone()));
        assert_eq!(
            validate_config_name(&too_long),
            Err(ValidationError::ConfigNameTooLong)
        );
        assert_eq!(
            validate_config_name(""),
            Err(ValidationError::EmptyConfigName)
        );
        assert_eq!(
            validate_config_name(" \t\n "),
            Err(ValidationError::EmptyConfigName)
        );
    }

    #[test]
    fn config_name_rejects_control_characters() {
        let names = ["Tasks\ncreated", "Tasks\u{0}", "Tasks\u{7f}x", "a\u{9b}b"];
        for name in names {
            assert_eq!(
                validate_config_name(name),
                Err(ValidationError::ConfigNameControlCharacter),
                "{name:?}"
            );
        }
    }

    #[test]
    fn config_name_keeps_quotes_and_unicode() {
        let name = "Tâches \"créées\" d'équipe 📋";

        assert_eq!(validate_config_name(name), Ok(name.to_owned()));
    }

    #[test]
    fn context_empty_strings_become_absent() {
        let raw = ContextRequest {
            tenant_id: Some(" 72f988bf-86f1-41af-91ab-2d7cd011db47 ".to_owned()),
            group_id: Some(String::new()),
            team_id: Some("   ".to_owned()),
            channel_id: Some("19:abc@thread.tacv2".to_owned()),
            user_object_id: None,
            app_type: Some("teams".to_owned()),
        };

        let context = validate_context(raw).unwrap();

        assert_eq!(
            context.tenant_id.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(context.group_id, None);
        assert_eq!(context.team_id, None);
        assert_eq!(context.channel_id.as_deref(), Some("19:abc@thread.tacv2"));
        assert_eq!(context.user_object_id, None);
        assert_eq!(context.app_type, Some(AppType::Teams));
    }

    #[test]
    fn context_field_length_limit() {
        let longest = ContextRequest {
            team_id: Some("t".repeat(MAX_CONTEXT_FIELD_CHARS)),
            ..ContextRequest::default()
        };
        let too_long = ContextRequest {
            team_id: Some("t".repeat(MAX_CONTEXT_FIELD_CHARS + 1)),
            ..ContextRequest::default()
        };

        assert!(validate_context(longest).is_ok());
        assert_eq!(
            validate_context(too_long),
            Err(ValidationError::ContextFieldTooLong { field: "teamId" })
        );
    }

    #[test]
    fn context_field_rejects_control_characters() {
        let raw = ContextRequest {
            channel_id: Some("19:abc\u{0}@thread".to_owned()),
            ..ContextRequest::default()
        };

        let error = validate_context(raw).unwrap_err();

        assert_eq!(
            error,
            ValidationError::ContextFieldControlCharacter { field: "channelId" }
        );
        assert_eq!(error.code(), "invalid_context");
        assert!(error.to_string().starts_with("context.channelId "));
    }

    #[test]
    fn context_app_type_values() {
        for name in ["mail", "groups", "teams"] {
            let raw = ContextRequest {
                app_type: Some(name.to_owned()),
                ..ContextRequest::default()
            };
            assert!(validate_context(raw).is_ok(), "{name}");
        }
        for name in ["Teams", "outlook", "team"] {
            let raw = ContextRequest {
                app_type: Some(name.to_owned()),
                ..ContextRequest::default()
            };
            assert_eq!(
                validate_context(raw),
                Err(ValidationError::UnknownAppType),
                "{name}"
            );
        }
    }

    #[test]
    fn configuration_is_validated_field_by_field() {
        let id = Uuid::new_v4();

        let configuration = validate_configuration(id, request(), None).unwrap();

        assert_eq!(configuration.id, id);
        assert_eq!(configuration.config_name, "Tasks created");
        assert_eq!(configuration.context, Context::default());
        assert_eq!(
            configuration.event_types.into_iter().collect::<Vec<_>>(),
            vec![EventType::Created]
        );
    }

    #[test]
    fn configuration_rejects_invalid_webhook_url() {
        let request = ConfigurationRequest {
            webhook_url: "http://contoso.webhook.office.com/webhookb2/a".to_owned(),
            ..request()
        };

        let error = validate_configuration(Uuid::new_v4(), request, None)
            .err()
            .unwrap();

        assert_eq!(
            error,
            ValidationError::WebhookUrl(WebhookUrlError::NotHttps)
        );
        assert_eq!(error.code(), "invalid_webhook_url");
        assert!(!error.to_string().contains("contoso"));
    }

    #[test]
    fn configuration_checks_webhook_url_first() {
        let request = ConfigurationRequest {
            webhook_url: String::new(),
            event_types: Vec::new(),
            config_name: String::new(),
            context: None,
        };

        let error = validate_configuration(Uuid::new_v4(), request, None)
            .err()
            .unwrap();

        assert_eq!(error, ValidationError::WebhookUrl(WebhookUrlError::Missing));
    }

    #[test]
    fn configuration_uses_dev_origin() {
        let origin = Url::parse("http://127.0.0.1:8080").unwrap();
        let request = ConfigurationRequest {
            webhook_url: "http://127.0.0.1:8080/webhooks/abc".to_owned(),
            ..request()
        };

        let configuration = validate_configuration(Uuid::new_v4(), request, Some(&origin));

        assert!(configuration.is_ok());
    }

    #[test]
    fn every_message_names_a_next_step() {
        let errors = [
            ValidationError::InvalidId,
            ValidationError::NoEventTypes,
            ValidationError::UnknownEventType("deleted".to_owned()),
            ValidationError::UnknownEventTypeHidden,
            ValidationError::EmptyConfigName,
            ValidationError::ConfigNameTooLong,
            ValidationError::ConfigNameControlCharacter,
            ValidationError::ContextFieldTooLong { field: "teamId" },
            ValidationError::ContextFieldControlCharacter { field: "teamId" },
            ValidationError::UnknownAppType,
        ];
        for error in errors {
            let message = error.to_string();
            let sentences = message.split(". ").count();

            assert!(sentences >= 2, "{message}");
            assert!(message.ends_with('.'), "{message}");
        }
    }
}

//! The Teams app manifest (`manifest.json`) with the connector entry.

use serde::Serialize;
use serde_json::Value;

use crate::icons::{COLOR_FILE, OUTLINE_FILE};
use crate::settings::Settings;

/// Manifest schema version that the package declares. Version 1.30 is the newest one in
/// @microsoft/app-manifest 1.1.2 whose schema still defines `connectors`.
pub const MANIFEST_VERSION: &str = "1.30";

pub const SHORT_NAME: &str = "Task notifications";
pub const SHORT_DESCRIPTION: &str = "Posts task notifications into Teams channels.";
pub const FULL_DESCRIPTION: &str = "Posts a notification into a Teams channel when a task \
    is created or updated. Each channel chooses the task events it receives on the \
    connector's configuration page.";

/// Teams purple, the background of the colour icon.
pub const ACCENT_COLOR: &str = "#5B5FC7";

/// Returns the public address of the manifest schema for `version`, as Teams tools
/// write it in `$schema`.
pub fn schema_url(version: &str) -> String {
    format!(
        "https://developer.microsoft.com/en-us/json-schemas/teams/v{version}/MicrosoftTeams.schema.json"
    )
}

/// The fields of the manifest that this app uses, in the schema's camelCase.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(rename = "$schema")]
    pub schema: String,
    pub manifest_version: String,
    pub version: String,
    pub id: String,
    pub developer: Developer,
    pub name: Name,
    pub description: Description,
    pub icons: Icons,
    pub accent_color: String,
    pub connectors: Vec<Connector>,
    pub valid_domains: Vec<String>,
}

/// The publisher shown in Teams.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Developer {
    pub name: String,
    pub website_url: String,
    pub privacy_url: String,
    pub terms_of_use_url: String,
}

/// The app's display name.
#[derive(Debug, Clone, Serialize)]
pub struct Name {
    pub short: String,
    pub full: String,
}

/// The app's short and full descriptions.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    pub short: String,
    pub full: String,
}

/// Paths of the icons inside the package.
#[derive(Debug, Clone, Serialize)]
pub struct Icons {
    pub color: String,
    pub outline: String,
}

/// The Office 365 connector entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub connector_id: String,
    pub configuration_url: String,
    pub scopes: Vec<String>,
}

impl Manifest {
    /// Builds the manifest from the settings.
    pub fn new(settings: &Settings) -> Self {
        Self {
            schema: schema_url(MANIFEST_VERSION),
            manifest_version: MANIFEST_VERSION.to_string(),
            version: settings.app_version.clone(),
            id: settings.app_id.hyphenated().to_string(),
            developer: Developer {
                name: settings.developer_name.clone(),
                website_url: settings.website_url.to_string(),
                privacy_url: settings.privacy_url.to_string(),
                terms_of_use_url: settings.terms_of_use_url.to_string(),
            },
            name: Name {
                short: SHORT_NAME.to_string(),
                full: SHORT_NAME.to_string(),
            },
            description: Description {
                short: SHORT_DESCRIPTION.to_string(),
                full: FULL_DESCRIPTION.to_string(),
            },
            icons: Icons {
                color: COLOR_FILE.to_string(),
                outline: OUTLINE_FILE.to_string(),
            },
            accent_color: ACCENT_COLOR.to_string(),
            connectors: vec![Connector {
                connector_id: settings.connector_id.hyphenated().to_string(),
                configuration_url: settings.configuration_url.to_string(),
                scopes: vec!["team".to_string()],
            }],
            valid_domains: valid_domains(settings),
        }
    }

    /// Returns the manifest as JSON, the form that validation and the package use.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("the manifest has only strings, lists and maps")
    }
}

/// Returns the configuration URL's host followed by the extra domains, lower-cased and
/// without duplicates.
fn valid_domains(settings: &Settings) -> Vec<String> {
    let mut domains: Vec<String> = Vec::new();
    let configuration_host = settings.configuration_url.host_str().map(str::to_string);
    let extra = settings
        .valid_domains
        .iter()
        .map(|domain| domain.trim().to_string());

    for domain in configuration_host.into_iter().chain(extra) {
        let domain = domain.to_ascii_lowercase();
        if !domain.is_empty() && !domains.contains(&domain) {
            domains.push(domain);
        }
    }

    domains
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn settings(args: &[&str]) -> Settings {
        let all_args = std::iter::once("teams-app-package").chain(args.iter().copied());
        Settings::try_parse_from(all_args).expect("settings parse")
    }

    #[test]
    fn connector_entry_has_team_scope() {
        let manifest = Manifest::new(&settings(&[])).to_value();

        let connector = &manifest["connectors"][0];

        assert_eq!(connector["scopes"], serde_json::json!(["team"]));
        assert_eq!(
            connector["configurationUrl"],
            "https://connector.example.com/config/"
        );
        assert_eq!(manifest["connectors"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn schema_url_names_declared_version() {
        let manifest = Manifest::new(&settings(&[])).to_value();

        assert_eq!(manifest["manifestVersion"], MANIFEST_VERSION);
        assert_eq!(
            manifest["$schema"],
            "https://developer.microsoft.com/en-us/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
        );
    }

    #[test]
    fn valid_domains_start_with_configuration_host() {
        let manifest = Manifest::new(&settings(&[
            "--configuration-url",
            "https://Tasks.Contoso.com:8443/config/",
            "--valid-domain",
            "*.fabrikam.com",
            "--valid-domain",
            "tasks.contoso.com",
        ]));

        assert_eq!(
            manifest.valid_domains,
            ["tasks.contoso.com", "*.fabrikam.com"]
        );
    }

    #[test]
    fn ids_are_hyphenated_lower_case() {
        let manifest = Manifest::new(&settings(&["--app-id", "0D7C6A1E52B44F3E9A613C8E2F5B7D90"]));

        assert_eq!(manifest.id, "0d7c6a1e-52b4-4f3e-9a61-3c8e2f5b7d90");
    }
}

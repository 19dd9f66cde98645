//! Settings of the app package: command-line flags with environment fallbacks.

use std::path::PathBuf;

use clap::Parser;
use url::Url;
use uuid::Uuid;

/// Example app id, good for trying the package but not for a real tenant.
pub const EXAMPLE_APP_ID: &str = "0d7c6a1e-52b4-4f3e-9a61-3c8e2f5b7d90";

/// Example connector id, good for trying the package but not for a real tenant.
pub const EXAMPLE_CONNECTOR_ID: &str = "8e2b4f6a-1c3d-4e5f-a7b9-0d2c4e6f8a1b";

/// Example configuration page address, on a domain reserved for documentation.
pub const EXAMPLE_CONFIGURATION_URL: &str = "https://connector.example.com/config/";

pub const EXAMPLE_DEVELOPER_NAME: &str = "Example developer";
pub const EXAMPLE_WEBSITE_URL: &str = "https://connector.example.com/";
pub const EXAMPLE_PRIVACY_URL: &str = "https://connector.example.com/privacy";
pub const EXAMPLE_TERMS_OF_USE_URL: &str = "https://connector.example.com/terms";

/// Values written into the manifest, and where the package and the schemas are.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "teams-app-package",
    about = "Builds the Microsoft Teams app package of the task notifications connector \
             (manifest.json, color.png, outline.png in a zip), validates it against the \
             official manifest schema and prints the path of the zip"
)]
pub struct Settings {
    /// App id written to the manifest's `id`: a GUID that identifies the app in the
    /// tenant. Keep it the same across versions of the package.
    #[arg(long, env = "TEAMS_APP_ID", default_value = EXAMPLE_APP_ID)]
    pub app_id: Uuid,

    /// Connector id, a GUID. For a real tenant it is the id that the Connectors
    /// Developer Dashboard assigned when the connector was registered.
    #[arg(long, env = "TEAMS_APP_CONNECTOR_ID", default_value = EXAMPLE_CONNECTOR_ID)]
    pub connector_id: Uuid,

    /// https address of the configuration page that Teams opens in an iframe, the
    /// backend's `/config/`. Its host goes into `validDomains`.
    #[arg(
        long,
        env = "TEAMS_APP_CONFIGURATION_URL",
        default_value = EXAMPLE_CONFIGURATION_URL
    )]
    pub configuration_url: Url,

    /// Extra host names for `validDomains`, such as `*.contoso.com`; repeat the flag or
    /// separate them with commas.
    #[arg(
        long = "valid-domain",
        env = "TEAMS_APP_VALID_DOMAINS",
        value_delimiter = ','
    )]
    pub valid_domains: Vec<String>,

    /// Developer (publisher) name shown in Teams, at most 32 characters.
    #[arg(long, env = "TEAMS_APP_DEVELOPER_NAME", default_value = EXAMPLE_DEVELOPER_NAME)]
    pub developer_name: String,

    /// https address of the developer's website or support page.
    #[arg(long, env = "TEAMS_APP_WEBSITE_URL", default_value = EXAMPLE_WEBSITE_URL)]
    pub website_url: Url,

    /// https address of the privacy statement.
    #[arg(long, env = "TEAMS_APP_PRIVACY_URL", default_value = EXAMPLE_PRIVACY_URL)]
    pub privacy_url: Url,

    /// https address of the terms of use.
    #[arg(
        long,
        env = "TEAMS_APP_TERMS_OF_USE_URL",
        default_value = EXAMPLE_TERMS_OF_USE_URL
    )]
    pub terms_of_use_url: Url,

    /// Version of the app package, MAJOR.MINOR.PATCH. Raise it for every package that
    /// replaces one already uploaded.
    #[arg(long, env = "TEAMS_APP_VERSION", default_value = "1.0.0")]
    pub app_version: String,

    /// Path of the zip to write. Its directory is created when missing.
    #[arg(
        long,
        env = "TEAMS_APP_OUTPUT",
        default_value = "target/app-package/task-notifications.zip"
    )]
    pub output: PathBuf,

    /// Directory of the Teams manifest schemas from the npm package
    /// @microsoft/app-manifest, which contains one `v<version>/MicrosoftTeams.schema.json`
    /// per manifest version.
    #[arg(
        long,
        env = "TEAMS_APP_SCHEMA_DIR",
        default_value = "node_modules/@microsoft/app-manifest/build/json-schemas/teams"
    )]
    pub schema_dir: PathBuf,
}

/// A setting left at its example value, which works for trying the package but not in a
/// real tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleValue {
    /// The command-line flag, such as `--configuration-url`.
    pub flag: &'static str,
    /// The environment variable read when the flag is absent.
    pub env: &'static str,
    pub value: String,
    /// Description of the value that a real deployment sets instead.
    pub replacement: &'static str,
}

impl Settings {
    /// Lists the settings that still hold their example values.
    pub fn example_values(&self) -> Vec<ExampleValue> {
        let settings = [
            (
                "--app-id",
                "TEAMS_APP_ID",
                self.app_id.to_string(),
                EXAMPLE_APP_ID,
                "a GUID of your own, kept across versions of the package",
            ),
            (
                "--connector-id",
                "TEAMS_APP_CONNECTOR_ID",
                self.connector_id.to_string(),
                EXAMPLE_CONNECTOR_ID,
                "the connector id from the Connectors Developer Dashboard",
            ),
            (
                "--configuration-url",
                "TEAMS_APP_CONFIGURATION_URL",
                self.configuration_url.to_string(),
                EXAMPLE_CONFIGURATION_URL,
                "the https address where the backend serves the configuration page",
            ),
            (
                "--developer-name",
                "TEAMS_APP_DEVELOPER_NAME",
                self.developer_name.clone(),
                EXAMPLE_DEVELOPER_NAME,
                "the publisher's name",
            ),
            (
                "--website-url",
                "TEAMS_APP_WEBSITE_URL",
                self.website_url.to_string(),
                EXAMPLE_WEBSITE_URL,
                "the publisher's https website",
            ),
            (
                "--privacy-url",
                "TEAMS_APP_PRIVACY_URL",
                self.privacy_url.to_string(),
                EXAMPLE_PRIVACY_URL,
                "the https address of the privacy statement",
            ),
            (
                "--terms-of-use-url",
                "TEAMS_APP_TERMS_OF_USE_URL",
                self.terms_of_use_url.to_string(),
                EXAMPLE_TERMS_OF_USE_URL,
                "the https address of the terms of use",
            ),
        ];

        settings
            .into_iter()
            .filter(|(_, _, value, example, _)| value == example)
            .map(|(flag, env, value, _, replacement)| ExampleValue {
                flag,
                env,
                value,
                replacement,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_all_example_values() {
        let settings = Settings::try_parse_from(["teams-app-package"]).expect("defaults parse");

        let flags: Vec<&str> = settings
            .example_values()
            .iter()
            .map(|example| example.flag)
            .collect();

        assert!(flags.contains(&"--configuration-url"), "{flags:?}");
        assert!(flags.contains(&"--connector-id"), "{flags:?}");
        assert_eq!(flags.len(), 7, "{flags:?}");
    }

    #[test]
    fn given_configuration_url_is_not_example() {
        let settings = Settings::try_parse_from([
            "teams-app-package",
            "--configuration-url",
            "https://tasks.contoso.com/config/",
        ])
        .expect("settings parse");

        let flags: Vec<&str> = settings
            .example_values()
            .iter()
            .map(|example| example.flag)
            .collect();

        assert!(!flags.contains(&"--configuration-url"), "{flags:?}");
    }

    #[test]
    fn invalid_connector_id_is_rejected() {
        let result =
            Settings::try_parse_from(["teams-app-package", "--connector-id", "not-a-guid"]);

        let error = result.expect_err("a connector id must be a GUID");

        assert!(error.to_string().contains("--connector-id"), "{error}");
    }

    #[test]
    fn valid_domains_split_on_commas() {
        let settings = Settings::try_parse_from([
            "teams-app-package",
            "--valid-domain",
            "a.contoso.com,*.fabrikam.com",
        ])
        .expect("settings parse");

        assert_eq!(settings.valid_domains, ["a.contoso.com", "*.fabrikam.com"]);
    }
}

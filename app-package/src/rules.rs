//! Rules that Teams applies to the manifest but its JSON schema does not express.

use serde_json::Value;
use url::Url;
use uuid::Uuid;

use crate::error::Problem;
use crate::icons::{COLOR_FILE, OUTLINE_FILE};
use crate::manifest::schema_url;

/// Checks the manifest against the rules beyond its schema, and returns every problem.
pub fn check(manifest: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();

    check_schema_url(manifest, &mut problems);
    check_version(manifest, &mut problems);
    check_developer_urls(manifest, &mut problems);
    check_icon_paths(manifest, &mut problems);
    check_connectors(manifest, &mut problems);
    check_valid_domain_entries(manifest, &mut problems);

    problems
}

/// Checks that `$schema` names the schema of the declared `manifestVersion`.
fn check_schema_url(manifest: &Value, problems: &mut Vec<Problem>) {
    let Some(version) = manifest.get("manifestVersion").and_then(Value::as_str) else {
        return;
    };
    let expected = schema_url(version);

    if manifest.get("$schema").and_then(Value::as_str) != Some(expected.as_str()) {
        problems.push(Problem::new(
            "/$schema",
            format!("must be {expected}, the schema of manifestVersion {version}"),
        ));
    }
}

/// Checks that the app version has the MAJOR.MINOR.PATCH form that Teams requires,
/// which the 1.30 schema leaves unchecked.
fn check_version(manifest: &Value, problems: &mut Vec<Problem>) {
    let Some(version) = manifest.get("version").and_then(Value::as_str) else {
        return;
    };
    let parts: Vec<&str> = version.split('.').collect();
    let is_number = |part: &&str| {
        !part.is_empty()
            && part.bytes().all(|byte| byte.is_ascii_digit())
            && (part.len() == 1 || !part.starts_with('0'))
    };

    if parts.len() != 3 || !parts.iter().all(is_number) {
        problems.push(Problem::new(
            "/version",
            format!("\"{version}\" is not a MAJOR.MINOR.PATCH version such as 1.0.0"),
        ));
    }
}

/// Checks that the developer URLs use https, which Teams requires although the schema
/// also accepts http.
fn check_developer_urls(manifest: &Value, problems: &mut Vec<Problem>) {
    for field in ["websiteUrl", "privacyUrl", "termsOfUseUrl"] {
        let path = format!("/developer/{field}");
        if let Some(value) = manifest.pointer(&path) {
            check_https_url(&path, value, problems);
        }
    }
}

/// Checks that the icon paths name the files that the package contains.
fn check_icon_paths(manifest: &Value, problems: &mut Vec<Problem>) {
    for (field, file) in [("color", COLOR_FILE), ("outline", OUTLINE_FILE)] {
        let path = format!("/icons/{field}");
        let value = manifest.pointer(&path).and_then(Value::as_str);

        if value.is_some_and(|value| value != file) {
            problems.push(Problem::new(
                path,
                format!("must be \"{file}\", the icon file in the package"),
            ));
        }
    }
}

fn check_connectors(manifest: &Value, problems: &mut Vec<Problem>) {
    let Some(connectors) = manifest.get("connectors").and_then(Value::as_array) else {
        problems.push(Problem::new(
            "/connectors",
            "is missing; the package needs one connector entry",
        ));
        return;
    };
    if connectors.is_empty() {
        problems.push(Problem::new(
            "/connectors",
            "is empty; the package needs one connector entry",
        ));
    }

    let valid_domains: Vec<&str> = manifest
        .get("validDomains")
        .and_then(Value::as_array)
        .map(|domains| domains.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    for (index, connector) in connectors.iter().enumerate() {
        let path = format!("/connectors/{index}");
        check_connector_id(&path, connector, problems);
        check_configuration_url(&path, connector, &valid_domains, problems);
    }
}

/// Checks that the connector id is a GUID. The schema allows any string of up to 64
/// characters, but the Connectors Developer Dashboard issues GUIDs.
fn check_connector_id(path: &str, connector: &Value, problems: &mut Vec<Problem>) {
    let Some(connector_id) = connector.get("connectorId").and_then(Value::as_str) else {
        return;
    };

    if !is_guid(connector_id) {
        problems.push(Problem::new(
            format!("{path}/connectorId"),
            format!(
                "\"{connector_id}\" is not a GUID; use the id that the Connectors Developer \
                 Dashboard assigned, such as 8e2b4f6a-1c3d-4e5f-a7b9-0d2c4e6f8a1b"
            ),
        ));
    }
}

/// Checks that the configuration URL is https and on one of the app's valid domains,
/// because Teams opens the inline configuration page only from such an address.
fn check_configuration_url(
    path: &str,
    connector: &Value,
    valid_domains: &[&str],
    problems: &mut Vec<Problem>,
) {
    let path = format!("{path}/configurationUrl");
    let Some(value) = connector.get("configurationUrl") else {
        problems.push(Problem::new(
            path,
            "is missing; Teams opens this configuration page when a channel adds the connector",
        ));
        return;
    };
    let Some(url) = check_https_url(&path, value, problems) else {
        return;
    };
    let Some(host) = url.host_str() else {
        return;
    };

    if !valid_domains
        .iter()
        .any(|domain| domain_matches(domain, host))
    {
        problems.push(Problem::new(
            "/validDomains",
            format!("does not contain {host}, the host of {path}"),
        ));
    }
}

/// Checks that each validDomains entry is a host name, optionally with a leading `*.`,
/// without a scheme or a path.
fn check_valid_domain_entries(manifest: &Value, problems: &mut Vec<Problem>) {
    let Some(domains) = manifest.get("validDomains").and_then(Value::as_array) else {
        return;
    };

    for (index, domain) in domains.iter().enumerate() {
        let Some(domain) = domain.as_str() else {
            continue;
        };
        if domain.is_empty() || domain.contains("://") || domain.contains('/') {
            problems.push(Problem::new(
                format!("/validDomains/{index}"),
                format!(
                    "\"{domain}\" is not a host name; write it without a scheme or path, \
                     such as tasks.contoso.com or *.contoso.com"
                ),
            ));
        }
    }
}

/// Parses `value` as an absolute https URL, and records a problem when it is not one.
fn check_https_url(path: &str, value: &Value, problems: &mut Vec<Problem>) -> Option<Url> {
    let Some(text) = value.as_str() else {
        // The schema reports a wrong type.
        return None;
    };

    match Url::parse(text) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() => Some(url),
        Ok(_) => {
            problems.push(Problem::new(
                path,
                format!("\"{text}\" must be an https URL"),
            ));
            None
        }
        Err(error) => {
            problems.push(Problem::new(
                path,
                format!("\"{text}\" is not a valid URL: {error}"),
            ));
            None
        }
    }
}

/// Returns whether `text` is a GUID in the hyphenated 8-4-4-4-12 form.
fn is_guid(text: &str) -> bool {
    text.len() == 36 && Uuid::try_parse(text).is_ok()
}

/// Returns whether the validDomains entry `domain` covers `host`; `*.contoso.com`
/// covers every subdomain of contoso.com.
fn domain_matches(domain: &str, host: &str) -> bool {
    let domain = domain.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();

    match domain.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
        None => domain == host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_domain_covers_subdomain() {
        assert!(domain_matches("*.contoso.com", "tasks.contoso.com"));
        assert!(domain_matches("*.Contoso.com", "a.b.contoso.com"));
    }

    #[test]
    fn wildcard_domain_skips_apex_and_lookalike() {
        assert!(!domain_matches("*.contoso.com", "contoso.com"));
        assert!(!domain_matches("*.contoso.com", "evilcontoso.com"));
    }

    #[test]
    fn exact_domain_ignores_case() {
        assert!(domain_matches("Tasks.Contoso.com", "tasks.contoso.com"));
        assert!(!domain_matches("tasks.contoso.com", "other.contoso.com"));
    }

    #[test]
    fn guid_requires_hyphenated_form() {
        assert!(is_guid("8e2b4f6a-1c3d-4e5f-a7b9-0d2c4e6f8a1b"));
        assert!(!is_guid("8e2b4f6a1c3d4e5fa7b90d2c4e6f8a1b"));
        assert!(!is_guid("not-a-guid"));
    }

    #[test]
    fn version_must_have_three_numbers() {
        for (version, is_valid) in [
            ("1.0.0", true),
            ("10.2.33", true),
            ("1.0", false),
            ("1.0.0-beta", false),
            ("01.0.0", false),
        ] {
            let manifest = serde_json::json!({ "version": version });
            let mut problems = Vec::new();

            check_version(&manifest, &mut problems);

            assert_eq!(problems.is_empty(), is_valid, "{version}: {problems:?}");
        }
    }

    #[test]
    fn domain_with_scheme_is_rejected() {
        let manifest = serde_json::json!({ "validDomains": ["https://tasks.contoso.com"] });
        let mut problems = Vec::new();

        check_valid_domain_entries(&manifest, &mut problems);

        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "/validDomains/0");
    }
}

//! The `Content-Security-Policy: frame-ancestors` list of the configuration page: the
//! hosts that may show the page in a frame.
//!
//! Teams, Outlook and the Microsoft 365 app show the page in an iframe, so the page must
//! admit them, and a clickjacking site must not be able to frame it. `X-Frame-Options`
//! is not sent, because it cannot name these hosts and would forbid the framing.

use std::fmt;
use std::str::FromStr;

use axum::http::{HeaderValue, header};
use axum::response::Response;
use url::Url;

/// Hosts that frame the page by default.
///
/// The first nine are the frame-ancestor table of Microsoft Learn's "Prerequisites for
/// tabs" (learn.microsoft.com/microsoftteams/platform/tabs/how-to/tab-requirements):
/// `*.cloud.microsoft` for the new Teams, Outlook and Microsoft 365 hosts, then the
/// older Teams, Microsoft 365 app and Outlook hosts. The US government clouds (GCC High
/// and DoD) come from the valid origins built into TeamsJS 2.58.0
/// (`teams.microsoft.us`, `gov.teams.microsoft.us`, `dod.teams.microsoft.us`).
///
/// A CSP wildcard matches any number of labels, so `*.cloud.microsoft` also admits
/// `teams.cloud.microsoft` and `*.teams.microsoft.us` admits `gov.` and `dod.`, but no
/// wildcard admits its own parent domain. The consumer hosts (`teams.live.com`,
/// `outlook.live.com`) are left out because connectors exist for work and school
/// accounts only.
pub const DEFAULT_FRAME_ANCESTORS: &[&str] = &[
    "https://*.cloud.microsoft",
    "https://teams.microsoft.com",
    "https://*.teams.microsoft.com",
    "https://*.microsoft365.com",
    "https://*.office.com",
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook-sdf.office.com",
    "https://outlook-sdf.office365.com",
    "https://teams.microsoft.us",
    "https://*.teams.microsoft.us",
];

/// Maximum length of a DNS name, in bytes (RFC 1035, section 2.3.4).
const MAX_HOST_LENGTH: usize = 253;

/// Maximum length of one DNS label, in bytes (RFC 1035, section 2.3.4).
const MAX_LABEL_LENGTH: usize = 63;

/// A non-empty list of `https` origins, each host optionally starting with a `*.`
/// wildcard, that may frame the configuration page.
///
/// `Default` is [`DEFAULT_FRAME_ANCESTORS`]. [`FromStr`] parses a space-separated list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameAncestors {
    sources: Vec<String>,
}

/// A frame ancestor list that was rejected, with the entry and the reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameAncestorsError {
    #[error(
        "the frame ancestors list is empty: give at least one origin such as \
         https://teams.microsoft.com, or leave it unset to use the Microsoft 365 hosts"
    )]
    Empty,
    #[error(
        "the frame ancestor {entry:?} is invalid: {reason}. Give an https origin such as \
         https://teams.microsoft.com or https://*.teams.microsoft.com, without a path"
    )]
    InvalidEntry { entry: String, reason: &'static str },
}

impl FrameAncestors {
    /// Validates `entries` and keeps them in order, without duplicates.
    pub fn new<I, S>(entries: I) -> Result<FrameAncestors, FrameAncestorsError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut sources: Vec<String> = Vec::new();
        for entry in entries {
            let source = validate_entry(entry.as_ref())?;
            if !sources.contains(&source) {
                sources.push(source);
            }
        }

        if sources.is_empty() {
            return Err(FrameAncestorsError::Empty);
        }
        Ok(FrameAncestors { sources })
    }

    /// Returns the sources in order, lower-case.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Builds the `Content-Security-Policy` value, adding `dev_origin` (the local Teams
    /// host, which frames the page from its own `http:` origin) when it is given.
    pub fn content_security_policy(&self, dev_origin: Option<&Url>) -> HeaderValue {
        let mut sources = self.sources.clone();
        if let Some(origin) = dev_origin.and_then(tuple_origin)
            && !sources.contains(&origin)
        {
            sources.push(origin);
        }

        let policy = format!("frame-ancestors {}", sources.join(" "));
        // Every source is either validated above or a URL crate origin serialization,
        // so the value is printable ASCII.
        HeaderValue::from_str(&policy).expect("frame-ancestors sources are printable ASCII")
    }
}

impl Default for FrameAncestors {
    fn default() -> FrameAncestors {
        FrameAncestors {
            sources: DEFAULT_FRAME_ANCESTORS
                .iter()
                .map(|source| (*source).to_owned())
                .collect(),
        }
    }
}

impl FromStr for FrameAncestors {
    type Err = FrameAncestorsError;

    /// Parses a list separated by spaces or other whitespace.
    fn from_str(list: &str) -> Result<FrameAncestors, FrameAncestorsError> {
        FrameAncestors::new(list.split_whitespace())
    }
}

impl fmt::Display for FrameAncestors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.sources.join(" "))
    }
}

/// Returns the serialized origin of `url`, such as `http://127.0.0.1:8080`, or `None`
/// for a URL without a host, whose origin is opaque.
fn tuple_origin(url: &Url) -> Option<String> {
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Checks one entry and returns it in lower case.
fn validate_entry(entry: &str) -> Result<String, FrameAncestorsError> {
    let invalid = |reason| FrameAncestorsError::InvalidEntry {
        entry: entry.to_owned(),
        reason,
    };

    let lower = entry.to_ascii_lowercase();
    let Some(host) = lower.strip_prefix("https://") else {
        return Err(invalid("it must start with https://"));
    };
    if host.contains(['/', '?', '#']) {
        return Err(invalid("it has a path, query or fragment"));
    }
    if host.contains('@') {
        return Err(invalid("it has a user name"));
    }
    if host.contains(':') {
        return Err(invalid(
            "it has a port, which Microsoft 365 hosts do not use",
        ));
    }

    let name = host.strip_prefix("*.").unwrap_or(host);
    if name.contains('*') {
        return Err(invalid(
            "a wildcard is only allowed as the whole first label, as in *.teams.microsoft.com",
        ));
    }
    validate_host_name(name).map_err(invalid)?;
    Ok(lower)
}

/// Checks that `name` is a DNS name of at least two labels, such as `office.com`.
fn validate_host_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it has no host");
    }
    if name.len() > MAX_HOST_LENGTH {
        return Err("the host is longer than 253 characters");
    }

    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return Err("the host needs at least two labels, such as office.com");
    }
    for label in &labels {
        let valid = !label.is_empty()
            && label.len() <= MAX_LABEL_LENGTH
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
        if !valid {
            return Err(
                "the host has an invalid label: use letters, digits and inner hyphens, 1 to 63 each",
            );
        }
    }

    // A top-level domain is never all digits, so this rejects IPv4 addresses.
    let top_level = labels[labels.len() - 1];
    if top_level.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err("it is an IP address, not a host name");
    }
    Ok(())
}

/// Adds `policy` as the `Content-Security-Policy` header of `response`, replacing any
/// other value.
pub fn set_policy(mut response: Response, policy: &HeaderValue) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_is_valid() {
        let parsed = FrameAncestors::new(DEFAULT_FRAME_ANCESTORS).unwrap();

        assert_eq!(parsed, FrameAncestors::default());
    }

    #[test]
    fn parse_keeps_order_and_drops_duplicates() {
        let parsed: FrameAncestors =
            "https://Teams.Microsoft.US  https://*.example.org\thttps://teams.microsoft.us"
                .parse()
                .unwrap();

        assert_eq!(
            parsed.sources(),
            ["https://teams.microsoft.us", "https://*.example.org"]
        );
    }

    #[test]
    fn invalid_entries_rejected() {
        let cases = [
            ("http://teams.microsoft.com", "must start with"),
            ("teams.microsoft.com", "must start with"),
            ("'self'", "must start with"),
            ("*", "must start with"),
            ("https:", "must start with"),
            ("https://", "no host"),
            ("https://*", "wildcard"),
            ("https://teams.microsoft.com/", "path"),
            ("https://teams.microsoft.com/tab", "path"),
            ("https://teams.microsoft.com:443", "port"),
            ("https://user@teams.microsoft.com", "user name"),
            ("https://*.*.microsoft.com", "wildcard"),
            ("https://teams.*.com", "wildcard"),
            ("https://*teams.microsoft.com", "wildcard"),
            ("https://*.com", "two labels"),
            ("https://localhost", "two labels"),
            ("https://teams..microsoft.com", "invalid label"),
            ("https://-teams.microsoft.com", "invalid label"),
            ("https://teams_1.microsoft.com", "invalid label"),
            ("https://10.0.0.1", "IP address"),
        ];
        for (entry, reason) in cases {
            let error = entry.parse::<FrameAncestors>().unwrap_err().to_string();

            assert!(error.contains(&format!("{entry:?}")), "{entry}: {error}");
            assert!(error.contains(reason), "{entry}: {error}");
        }
    }

    #[test]
    fn empty_list_rejected() {
        for list in ["", "   "] {
            assert_eq!(
                list.parse::<FrameAncestors>(),
                Err(FrameAncestorsError::Empty)
            );
        }
    }

    #[test]
    fn policy_adds_dev_origin_once() {
        let ancestors: FrameAncestors = "https://teams.microsoft.com".parse().unwrap();
        let dev_origin = Url::parse("http://127.0.0.1:8080/some/path").unwrap();

        let without = ancestors.content_security_policy(None);
        let with = ancestors.content_security_policy(Some(&dev_origin));

        assert_eq!(without, "frame-ancestors https://teams.microsoft.com");
        assert_eq!(
            with,
            "frame-ancestors https://teams.microsoft.com http://127.0.0.1:8080"
        );
    }

    #[test]
    fn opaque_dev_origin_ignored() {
        let ancestors = FrameAncestors::default();
        let dev_origin = Url::parse("data:text/plain,x").unwrap();

        let policy = ancestors.content_security_policy(Some(&dev_origin));

        assert!(!policy.to_str().unwrap().contains("null"), "{policy:?}");
    }
}

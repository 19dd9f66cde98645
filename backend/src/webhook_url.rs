//! Validation of the incoming webhook URL that Teams hands to the configuration page.
//!
//! The whole URL is a bearer secret: anyone holding it can post to the channel. So no
//! error message in this module contains it, and `WebhookUrl`'s `Debug` output hides it.

use std::fmt;

use url::{Host, Url};

/// Maximum length of a webhook URL in bytes. Real Teams and Workflows URLs are a few
/// hundred bytes long, so this leaves ample room.
pub const MAX_WEBHOOK_URL_LENGTH: usize = 2048;

/// Next step for the user, appended to every error message.
const COPY_HINT: &str = "Copy the incoming webhook URL from the channel's connector settings.";

/// Family of webhook that a URL belongs to, which decides the payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookKind {
    /// `https://outlook.office.com/webhook/...` or `https://outlook.office365.com/webhook/...`,
    /// which takes a MessageCard.
    LegacyConnector,
    /// `https://{tenant}.webhook.office.com/webhookb2/...`, which takes a MessageCard.
    TenantConnector,
    /// A Power Automate Workflows trigger, which takes an Adaptive Card envelope.
    Workflows,
    /// A webhook on the local Teams host, accepted only when the development origin is set.
    LocalDevelopment,
}

impl WebhookKind {
    /// Returns a stable lower-case name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LegacyConnector => "legacy_connector",
            Self::TenantConnector => "tenant_connector",
            Self::Workflows => "workflows",
            Self::LocalDevelopment => "local_development",
        }
    }
}

/// Reason a webhook URL was rejected. No variant carries the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("The webhook URL is missing. {COPY_HINT}")]
    Missing,
    #[error(
        "The webhook URL is longer than {MAX_WEBHOOK_URL_LENGTH} characters. Copy only the \
         incoming webhook URL from the channel's connector settings."
    )]
    TooLong,
    #[error("The webhook URL is not a valid URL. {COPY_HINT}")]
    Malformed,
    #[error("The webhook URL must use https. {COPY_HINT}")]
    NotHttps,
    #[error("The webhook URL must not contain a user name or password. {COPY_HINT}")]
    Credentials,
    #[error("The webhook URL must not contain a fragment (a part after #). {COPY_HINT}")]
    Fragment,
    #[error("The webhook URL must name a Microsoft host, not an IP address. {COPY_HINT}")]
    IpAddress,
    #[error("The webhook URL must use the default https port 443. {COPY_HINT}")]
    Port,
    #[error(
        "The webhook URL's host is not a Microsoft Teams incoming webhook or Workflows host. \
         {COPY_HINT}"
    )]
    UnknownHost,
    #[error(
        "The webhook URL's path is not an incoming webhook path for its host. Copy the whole \
         incoming webhook URL from the channel's connector settings."
    )]
    WrongPath,
}

/// Validated webhook URL together with its kind.
///
/// `Debug` prints only the kind, so that the URL cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: Url,
    kind: WebhookKind,
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("WebhookUrl")
            .field("kind", &self.kind)
            .field("url", &"<secret>")
            .finish()
    }
}

impl WebhookUrl {
    /// Parses `raw` and accepts it only on the Microsoft incoming webhook hosts, or on
    /// `dev_origin` under `/webhooks/` when a development origin is given.
    ///
    /// Accepted shapes, all `https` on the default port, without user info or fragment:
    /// - `outlook.office.com` and `outlook.office365.com`, path under `/webhook/`;
    /// - `{tenant}.webhook.office.com` with exactly one label for the tenant, path under
    ///   `/webhookb2/`;
    /// - `prod-NN.{region}.logic.azure.com`, path under `/workflows/`;
    /// - `{environment}.environment.api.powerplatform.com`, path under
    ///   `/powerautomate/automations/direct/workflows/`.
    pub fn parse(raw: &str, dev_origin: Option<&Url>) -> Result<Self, WebhookUrlError> {
        if raw.trim().is_empty() {
            return Err(WebhookUrlError::Missing);
        }
        if raw.len() > MAX_WEBHOOK_URL_LENGTH {
            return Err(WebhookUrlError::TooLong);
        }

        let url = Url::parse(raw).map_err(|_| WebhookUrlError::Malformed)?;
        if let Some(dev_origin) = dev_origin
            && url.origin() == dev_origin.origin()
        {
            return accept_local_development(url);
        }

        check_common_parts(&url)?;
        let kind = classify_microsoft_host(&url)?;
        Ok(Self { url, kind })
    }

    /// Returns the kind of webhook, which decides the payload format.
    pub fn kind(&self) -> WebhookKind {
        self.kind
    }

    /// Returns the normalized URL. It is a secret: never log it.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// Returns the parsed URL, for a request that should not parse it again. It is a
    /// secret: never log it.
    pub fn into_url(self) -> Url {
        self.url
    }
}

/// Accepts a URL on the development origin when its path is under `/webhooks/`.
fn accept_local_development(url: Url) -> Result<WebhookUrl, WebhookUrlError> {
    if has_credentials(&url) {
        return Err(WebhookUrlError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(WebhookUrlError::Fragment);
    }
    if !has_path_below(&url, "/webhooks/") {
        return Err(WebhookUrlError::WrongPath);
    }

    Ok(WebhookUrl {
        url,
        kind: WebhookKind::LocalDevelopment,
    })
}

/// Checks the parts that every Microsoft shape shares: https, no user info, no fragment,
/// a domain name rather than an IP address, and the default port.
fn check_common_parts(url: &Url) -> Result<(), WebhookUrlError> {
    if url.scheme() != "https" {
        return Err(WebhookUrlError::NotHttps);
    }
    if has_credentials(url) {
        return Err(WebhookUrlError::Credentials);
    }
    if url.fragment().is_some() {
        return Err(WebhookUrlError::Fragment);
    }

    match url.host() {
        Some(Host::Domain(_)) => {}
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => return Err(WebhookUrlError::IpAddress),
        None => return Err(WebhookUrlError::Malformed),
    }

    // The url crate drops the scheme's default port, so an explicit `:443` arrives here
    // as `None` and any other port as `Some`.
    if url.port().is_some() {
        return Err(WebhookUrlError::Port);
    }
    Ok(())
}

/// Matches the host against the Microsoft shapes, then checks the path for that shape.
fn classify_microsoft_host(url: &Url) -> Result<WebhookKind, WebhookUrlError> {
    // The url crate lower-cases domains and converts international names to punycode,
    // so an exact comparison on labels is enough. A trailing dot leaves an empty last
    // label, which matches no shape.
    let host = url.host_str().ok_or(WebhookUrlError::Malformed)?;
    let labels: Vec<&str> = host.split('.').collect();

    let (kind, path_prefix) = match labels.as_slice() {
        ["outlook", "office" | "office365", "com"] => (WebhookKind::LegacyConnector, "/webhook/"),
        [tenant, "webhook", "office", "com"] if is_dns_label(tenant) => {
            (WebhookKind::TenantConnector, "/webhookb2/")
        }
        [prod, region, "logic", "azure", "com"]
            if is_logic_apps_scale_unit(prod) && is_dns_label(region) =>
        {
            (WebhookKind::Workflows, "/workflows/")
        }
        [
            environment @ ..,
            "environment",
            "api",
            "powerplatform",
            "com",
        ] if is_environment_labels(environment) => (
            WebhookKind::Workflows,
            "/powerautomate/automations/direct/workflows/",
        ),
        _ => return Err(WebhookUrlError::UnknownHost),
    };

    if !has_path_below(url, path_prefix) {
        return Err(WebhookUrlError::WrongPath);
    }
    Ok(kind)
}

fn has_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// Returns whether the path starts with `prefix` and has something after it. The url
/// crate has already resolved `.` and `..` segments, so `/webhook/../x` cannot pass.
fn has_path_below(url: &Url, prefix: &str) -> bool {
    url.path()
        .strip_prefix(prefix)
        .is_some_and(|rest| !rest.trim_matches('/').is_empty())
}

/// Returns whether `label` is a DNS label: 1 to 63 letters, digits or hyphens, with no
/// hyphen at either end.
fn is_dns_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// Returns whether `label` is a Logic Apps scale unit such as `prod-07` or `prod-112`.
fn is_logic_apps_scale_unit(label: &str) -> bool {
    label.strip_prefix("prod-").is_some_and(|number| {
        (1..=3).contains(&number.len()) && number.bytes().all(|byte| byte.is_ascii_digit())
    })
}

/// Returns whether the labels before `environment.api.powerplatform.com` name an
/// environment. Power Platform removes the hyphens from the environment id and splits off
/// its last characters as a second label (for example `default1a2b...9c.8d`), so one or
/// two labels are accepted.
fn is_environment_labels(labels: &[&str]) -> bool {
    (1..=2).contains(&labels.len()) && labels.iter().all(|label| is_dns_label(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TENANT_URL: &str = "https://contoso.webhook.office.com/webhookb2/\
        0b0c1b42-5a1f-4e0b-9d4c-bb5a0f0e2c11@72f988bf-86f1-41af-91ab-2d7cd011db47/\
        IncomingWebhook/5f4e3d2c1b0a49f8a7b6c5d4e3f2a1b0/3c2b1a09-8f7e-4d6c-b5a4-938271605f4e";

    fn parse(raw: &str) -> Result<WebhookKind, WebhookUrlError> {
        WebhookUrl::parse(raw, None).map(|webhook| webhook.kind())
    }

    fn dev_origin() -> Url {
        Url::parse("http://127.0.0.1:8080").unwrap()
    }

    #[test]
    fn accepts_legacy_connector_hosts() {
        let urls = [
            "https://outlook.office.com/webhook/group@tenant/IncomingWebhook/abc/owner",
            "https://outlook.office365.com/webhook/group@tenant/IncomingWebhook/abc/owner",
            "https://OUTLOOK.Office.com/webhook/group@tenant/IncomingWebhook/abc/owner",
        ];
        for url in urls {
            assert_eq!(parse(url), Ok(WebhookKind::LegacyConnector), "{url}");
        }
    }

    #[test]
    fn accepts_tenant_connector() {
        assert_eq!(parse(TENANT_URL), Ok(WebhookKind::TenantConnector));
    }

    #[test]
    fn accepts_tenant_connector_with_v2_segment() {
        let url = format!("{TENANT_URL}/V2mJ4kq0rN1sT2uV3wX4yZ5aB6cD7eF8gH9iJ0kL1mN2o1");

        assert_eq!(parse(&url), Ok(WebhookKind::TenantConnector));
    }

    #[test]
    fn accepts_explicit_port_443() {
        let url =
            "https://contoso.webhook.office.com:443/webhookb2/group@tenant/IncomingWebhook/a/b";

        let webhook = WebhookUrl::parse(url, None).unwrap();

        assert_eq!(webhook.kind(), WebhookKind::TenantConnector);
        assert!(!webhook.as_str().contains(":443"));
    }

    #[test]
    fn accepts_logic_apps_workflows_with_query() {
        let url = "https://prod-27.westeurope.logic.azure.com:443/workflows/\
            4f1d2c3b4a5948e7a6b5c4d3e2f1a0b9/triggers/manual/paths/invoke\
            ?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zm9vYmFyYmF6";

        assert_eq!(parse(url), Ok(WebhookKind::Workflows));
    }

    #[test]
    fn accepts_power_platform_workflows_with_query() {
        let urls = [
            "https://default72f988bf86f141af91ab2d7cd011db.47.environment.api.powerplatform.com:443\
             /powerautomate/automations/direct/workflows/0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5\
             /triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun\
             &sv=1.0&sig=abc",
            "https://contosoenv.environment.api.powerplatform.com/powerautomate/automations/direct\
             /workflows/0a1b2c3d/triggers/manual/paths/invoke?api-version=1&sig=abc",
        ];
        for url in urls {
            assert_eq!(parse(url), Ok(WebhookKind::Workflows), "{url}");
        }
    }

    #[test]
    fn keeps_workflows_signature_in_normalized_url() {
        let url = "https://prod-27.westeurope.logic.azure.com:443/workflows/abc/triggers/manual\
            /paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=a%2Bb";

        let webhook = WebhookUrl::parse(url, None).unwrap();

        assert!(webhook.as_str().ends_with("&sig=a%2Bb"));
    }

    #[test]
    fn rejects_missing_and_malformed() {
        assert_eq!(parse(""), Err(WebhookUrlError::Missing));
        assert_eq!(parse("   "), Err(WebhookUrlError::Missing));
        assert_eq!(parse("not a url"), Err(WebhookUrlError::Malformed));
        assert_eq!(
            parse("contoso.webhook.office.com/webhookb2/x"),
            Err(WebhookUrlError::Malformed)
        );
    }

    #[test]
    fn rejects_overlong_url() {
        let url = format!("{TENANT_URL}/{}", "a".repeat(MAX_WEBHOOK_URL_LENGTH));

        assert_eq!(parse(&url), Err(WebhookUrlError::TooLong));
    }

    #[test]
    fn rejects_other_schemes() {
        let urls = [
            "http://contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "ftp://contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "javascript:alert(1)",
            "data:text/plain,hello",
        ];
        for url in urls {
            assert_eq!(parse(url), Err(WebhookUrlError::NotHttps), "{url}");
        }
    }

    #[test]
    fn rejects_user_info() {
        let urls = [
            "https://user@contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "https://user:password@contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "https://:password@outlook.office.com/webhook/a/IncomingWebhook/b/c",
        ];
        for url in urls {
            assert_eq!(parse(url), Err(WebhookUrlError::Credentials), "{url}");
        }
    }

    #[test]
    fn rejects_user_info_hiding_host() {
        // The host of this URL is `evil.example`, and `outlook.office.com` is its user name.
        let url = "https://outlook.office.com@evil.example/webhook/a/IncomingWebhook/b/c";

        assert_eq!(parse(url), Err(WebhookUrlError::Credentials));
    }

    #[test]
    fn rejects_fragment() {
        let url = format!("{TENANT_URL}#section");

        assert_eq!(parse(&url), Err(WebhookUrlError::Fragment));
    }

    #[test]
    fn rejects_ip_literals() {
        let urls = [
            "https://52.96.0.1/webhookb2/a/IncomingWebhook/b/c",
            "https://[2603:1030::1]/webhookb2/a/IncomingWebhook/b/c",
            "https://0x7f.1/webhook/a",
        ];
        for url in urls {
            assert_eq!(parse(url), Err(WebhookUrlError::IpAddress), "{url}");
        }
    }

    #[test]
    fn rejects_other_ports() {
        let urls = [
            "https://contoso.webhook.office.com:8443/webhookb2/a/IncomingWebhook/b/c",
            "https://outlook.office.com:80/webhook/a/IncomingWebhook/b/c",
        ];
        for url in urls {
            assert_eq!(parse(url), Err(WebhookUrlError::Port), "{url}");
        }
    }

    #[test]
    fn rejects_look_alike_hosts() {
        let urls = [
            "https://webhook.office.com.evil.example/webhookb2/a/IncomingWebhook/b/c",
            "https://evilwebhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "https://webhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "https://a.b.webhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "https://-contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "https://outlook.office.com.evil.example/webhook/a",
            "https://outlook.office.co/webhook/a",
            "https://office.com/webhook/a",
            "https://prod-27.westeurope.logic.azure.com.evil.example/workflows/a",
            "https://staging-27.westeurope.logic.azure.com/workflows/a",
            "https://prod-27.logic.azure.com/workflows/a",
            "https://a.b.c.environment.api.powerplatform.com\
             /powerautomate/automations/direct/workflows/a",
            "https://environment.api.powerplatform.com\
             /powerautomate/automations/direct/workflows/a",
            "https://example.com/webhookb2/a",
        ];
        for url in urls {
            assert_eq!(parse(url), Err(WebhookUrlError::UnknownHost), "{url}");
        }
    }

    #[test]
    fn rejects_trailing_dot_hosts() {
        let urls = [
            "https://contoso.webhook.office.com./webhookb2/a/IncomingWebhook/b/c",
            "https://outlook.office.com./webhook/a/IncomingWebhook/b/c",
        ];
        for url in urls {
            assert_eq!(parse(url), Err(WebhookUrlError::UnknownHost), "{url}");
        }
    }

    #[test]
    fn rejects_wrong_path_for_host() {
        let urls = [
            "https://contoso.webhook.office.com/webhook/a/IncomingWebhook/b/c",
            "https://contoso.webhook.office.com/webhookb2/",
            "https://contoso.webhook.office.com/webhookb2",
            "https://contoso.webhook.office.com/",
            "https://contoso.webhook.office.com/webhookb2/../admin",
            "https://contoso.webhook.office.com/webhookb2/%2e%2e/admin",
            "https://outlook.office.com/webhookb2/a/IncomingWebhook/b/c",
            "https://prod-27.westeurope.logic.azure.com/powerautomate/a",
            "https://env.environment.api.powerplatform.com/workflows/a",
        ];
        for url in urls {
            assert_eq!(parse(url), Err(WebhookUrlError::WrongPath), "{url}");
        }
    }

    #[test]
    fn rejects_local_origin_without_dev_option() {
        let url = "http://127.0.0.1:8080/webhooks/4f1d2c3b4a5948e7a6b5c4d3e2f1a0b9";

        assert_eq!(parse(url), Err(WebhookUrlError::NotHttps));
    }

    #[test]
    fn accepts_local_origin_with_dev_option() {
        let url = "http://127.0.0.1:8080/webhooks/4f1d2c3b4a5948e7a6b5c4d3e2f1a0b9";

        let webhook = WebhookUrl::parse(url, Some(&dev_origin())).unwrap();

        assert_eq!(webhook.kind(), WebhookKind::LocalDevelopment);
        assert_eq!(webhook.as_str(), url);
    }

    #[test]
    fn dev_option_still_accepts_microsoft_hosts() {
        let webhook = WebhookUrl::parse(TENANT_URL, Some(&dev_origin())).unwrap();

        assert_eq!(webhook.kind(), WebhookKind::TenantConnector);
    }

    #[test]
    fn dev_option_matches_origin_exactly() {
        let origin = dev_origin();
        let urls = [
            (
                "http://127.0.0.1:8081/webhooks/abc",
                WebhookUrlError::NotHttps,
            ),
            (
                "http://localhost:8080/webhooks/abc",
                WebhookUrlError::NotHttps,
            ),
            (
                "https://127.0.0.1:8080/webhooks/abc",
                WebhookUrlError::IpAddress,
            ),
            (
                "http://127.0.0.2:8080/webhooks/abc",
                WebhookUrlError::NotHttps,
            ),
        ];
        for (url, expected) in urls {
            assert_eq!(
                WebhookUrl::parse(url, Some(&origin)).map(|w| w.kind()),
                Err(expected),
                "{url}"
            );
        }
    }

    #[test]
    fn dev_option_checks_path_and_parts() {
        let origin = dev_origin();
        let urls = [
            (
                "http://127.0.0.1:8080/other/abc",
                WebhookUrlError::WrongPath,
            ),
            (
                "http://127.0.0.1:8080/webhooks/",
                WebhookUrlError::WrongPath,
            ),
            (
                "http://127.0.0.1:8080/webhooks/../config/",
                WebhookUrlError::WrongPath,
            ),
            (
                "http://user@127.0.0.1:8080/webhooks/abc",
                WebhookUrlError::Credentials,
            ),
            (
                "http://127.0.0.1:8080/webhooks/abc#x",
                WebhookUrlError::Fragment,
            ),
        ];
        for (url, expected) in urls {
            assert_eq!(
                WebhookUrl::parse(url, Some(&origin)).map(|w| w.kind()),
                Err(expected),
                "{url}"
            );
        }
    }

    #[test]
    fn error_messages_never_contain_url() {
        let secret = "s3cr3t-signature";
        let urls = [
            format!("http://contoso.webhook.office.com/webhookb2/{secret}"),
            format!("https://{secret}@contoso.webhook.office.com/webhookb2/x"),
            format!("https://contoso.webhook.office.com/webhookb2/x#{secret}"),
            format!("https://{secret}.example/webhookb2/x"),
            format!("https://contoso.webhook.office.com/{secret}"),
            format!("not a url {secret}"),
        ];
        for url in urls {
            let error = parse(&url).unwrap_err();
            let message = error.to_string();

            assert!(!message.contains(secret), "{message}");
            assert!(message.ends_with('.'), "{message}");
        }
    }

    #[test]
    fn debug_output_hides_url() {
        let webhook = WebhookUrl::parse(TENANT_URL, None).unwrap();

        let debug = format!("{webhook:?}");

        assert!(!debug.contains("contoso"), "{debug}");
        assert!(debug.contains("TenantConnector"), "{debug}");
    }
}

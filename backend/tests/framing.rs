//! The `Content-Security-Policy: frame-ancestors` header on the configuration page.

mod common;

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, client, temp_database};
use connector_backend::{DEFAULT_FRAME_ANCESTORS, FrameAncestors, Settings};
use reqwest::StatusCode;
use url::Url;

/// Paths that serve the page: the index, the index by name, a static asset and a path
/// of the page that falls back to the index.
const PAGE_PATHS: [&str; 4] = [
    "/config/",
    "/config/index.html",
    "/config/assets/app.js",
    "/config/remove",
];

/// Starts the backend with a small page directory and the given framing settings.
async fn start_with_page(
    frame_ancestors: FrameAncestors,
    dev_webhook_origin: Option<Url>,
) -> (tempfile::TempDir, TestServer) {
    let (directory, database) = temp_database();
    let page_dir = directory.path().join("dist");
    write_page(&page_dir);

    let server = TestServer::start(Settings {
        page_dir: Some(page_dir),
        dev_webhook_origin,
        frame_ancestors,
        ..common::settings(&database)
    })
    .await;
    (directory, server)
}

fn write_page(page_dir: &Path) {
    std::fs::create_dir_all(page_dir.join("assets")).unwrap();
    std::fs::write(
        page_dir.join("index.html"),
        "<!DOCTYPE html><title>Page</title>",
    )
    .unwrap();
    std::fs::write(page_dir.join("assets/app.js"), "console.log('page');").unwrap();
}

/// Requests `path` and returns the status and the `Content-Security-Policy` value,
/// after checking that no `X-Frame-Options` header forbids the framing.
async fn policy_of(server: &TestServer, path: &str) -> (StatusCode, Option<String>) {
    let response = client().get(server.url(path)).send().await.unwrap();

    assert!(
        response.headers().get("x-frame-options").is_none(),
        "{path} has X-Frame-Options"
    );
    let policy = response
        .headers()
        .get("content-security-policy")
        .map(|value| value.to_str().unwrap().to_owned());
    (response.status(), policy)
}

/// Domains under which every default frame ancestor must lie.
const MICROSOFT_DOMAINS: [&str; 6] = [
    "cloud.microsoft",
    "microsoft.com",
    "microsoft.us",
    "microsoft365.com",
    "office.com",
    "office365.com",
];

fn default_policy() -> String {
    format!("frame-ancestors {}", DEFAULT_FRAME_ANCESTORS.join(" "))
}

#[tokio::test]
async fn page_carries_default_policy() {
    let (_directory, server) = start_with_page(FrameAncestors::default(), None).await;

    for path in PAGE_PATHS {
        let (status, policy) = policy_of(&server, path).await;

        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(policy.as_deref(), Some(default_policy().as_str()), "{path}");
    }
    server.stop().await;
}

#[test]
fn default_list_names_microsoft_hosts_only() {
    let policy = default_policy();

    for host in [
        "https://teams.microsoft.com",
        "https://*.teams.microsoft.com",
        "https://*.cloud.microsoft",
        "https://outlook.office.com",
        "https://outlook.office365.com",
        "https://*.office.com",
        "https://*.microsoft365.com",
    ] {
        assert!(
            policy.contains(&format!(" {host}")),
            "{policy} lacks {host}"
        );
    }
    for source in DEFAULT_FRAME_ANCESTORS {
        assert!(source.starts_with("https://"), "{source}");
        let host = source
            .trim_start_matches("https://")
            .trim_start_matches("*.");
        let microsoft = MICROSOFT_DOMAINS
            .iter()
            .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")));
        assert!(microsoft, "{source} is not a Microsoft host");
    }
}

#[tokio::test]
async fn redirect_and_missing_asset_carry_policy() {
    let (_directory, server) = start_with_page(FrameAncestors::default(), None).await;

    let (redirect_status, redirect_policy) = policy_of(&server, "/config").await;
    let (missing_status, missing_policy) = policy_of(&server, "/config/missing.js").await;

    assert_eq!(redirect_status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(redirect_policy, Some(default_policy()));
    assert_eq!(missing_status, StatusCode::NOT_FOUND);
    assert_eq!(missing_policy, Some(default_policy()));
    server.stop().await;
}

#[tokio::test]
async fn configured_list_replaces_default() {
    let configured: FrameAncestors = "https://teams.microsoft.example https://*.gov.example"
        .parse()
        .unwrap();
    let (_directory, server) = start_with_page(configured, None).await;

    for path in PAGE_PATHS {
        let (_, policy) = policy_of(&server, path).await;

        assert_eq!(
            policy.as_deref(),
            Some("frame-ancestors https://teams.microsoft.example https://*.gov.example"),
            "{path}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn dev_origin_added_when_set() {
    let dev_origin = Url::parse("http://127.0.0.1:8080").unwrap();
    let (_directory, server) = start_with_page(FrameAncestors::default(), Some(dev_origin)).await;

    for path in PAGE_PATHS {
        let (_, policy) = policy_of(&server, path).await;

        let expected = format!("{} http://127.0.0.1:8080", default_policy());
        assert_eq!(policy.as_deref(), Some(expected.as_str()), "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn dev_origin_absent_when_unset() {
    let (_directory, server) = start_with_page(FrameAncestors::default(), None).await;

    let (_, policy) = policy_of(&server, "/config/").await;

    let policy = policy.unwrap();
    assert!(!policy.contains("127.0.0.1"), "{policy}");
    server.stop().await;
}

#[tokio::test]
async fn api_has_no_frame_policy() {
    let (_directory, server) = start_with_page(FrameAncestors::default(), None).await;

    let (status, policy) = policy_of(&server, "/api/health").await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy, None);
    server.stop().await;
}

#[test]
fn bad_entries_rejected() {
    let cases = [
        "http://teams.microsoft.com",
        "teams.microsoft.com",
        "'self'",
        "*",
        "https://teams.microsoft.com/",
        "https://teams.microsoft.com:8443",
        "https://*.*.microsoft.com",
        "https://teams.*.microsoft.com",
        "https://*.com",
        "https://127.0.0.1",
    ];
    for entry in cases {
        let list = format!("https://teams.microsoft.com {entry}");

        let error = list.parse::<FrameAncestors>().unwrap_err().to_string();

        assert!(error.contains(&format!("{entry:?}")), "{entry}: {error}");
        assert!(error.contains("is invalid"), "{entry}: {error}");
    }
    assert!("".parse::<FrameAncestors>().is_err());
}

/// Runs the backend binary with `args` and `CONNECTOR_FRAME_ANCESTORS` set to
/// `environment`, and returns its exit status and standard error. A binary that starts
/// serving instead of exiting is killed after 20 seconds, and the test fails.
fn run_backend(args: &[&str], environment: Option<&str>) -> (ExitStatus, String) {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("connector.sqlite3");
    let mut command = Command::new(env!("CARGO_BIN_EXE_connector-backend"));
    command
        .args(["--listen", "127.0.0.1:0", "--database"])
        .arg(&database)
        .args(args)
        .env_remove("CONNECTOR_FRAME_ANCESTORS")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(value) = environment {
        command.env("CONNECTOR_FRAME_ANCESTORS", value);
    }

    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the backend started instead of rejecting its frame ancestors");
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status, stderr)
}

#[test]
fn binary_rejects_bad_flag() {
    let (status, stderr) = run_backend(
        &[
            "--frame-ancestors",
            "https://teams.microsoft.com http://evil.example",
        ],
        None,
    );

    assert!(!status.success());
    assert!(stderr.contains("--frame-ancestors"), "{stderr}");
    assert!(
        stderr.contains("\"http://evil.example\" is invalid"),
        "{stderr}"
    );
}

#[test]
fn binary_rejects_bad_environment_value() {
    let (status, stderr) = run_backend(&[], Some("https://teams.microsoft.com/tab"));

    assert!(!status.success());
    assert!(stderr.contains("has a path"), "{stderr}");
}

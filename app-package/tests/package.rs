//! The app package against the official Teams manifest schema from node_modules.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::{Value, json};
use teams_app_package::{Icons, Manifest, PackageError, Problem, Settings};

/// Returns the schema directory of @microsoft/app-manifest, and fails the test when
/// `npm ci` has not installed it.
fn schema_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate sits in the workspace root");
    let directory = root.join("node_modules/@microsoft/app-manifest/build/json-schemas/teams");

    assert!(
        directory.is_dir(),
        "{} is missing; run `npm ci` in {} to install @microsoft/app-manifest",
        directory.display(),
        root.display()
    );
    directory
}

/// Settings with every value given, so that TEAMS_APP_* variables cannot change them.
fn settings(output: &Path, configuration_url: &str) -> Settings {
    let output = output.to_str().expect("temporary paths are UTF-8");
    let schema_dir = schema_dir();
    let schema_dir = schema_dir.to_str().expect("the workspace path is UTF-8");

    Settings::try_parse_from([
        "teams-app-package",
        "--app-id",
        "5f0e8d2a-3b7c-4a19-8e6d-2c4b6a8f0e13",
        "--connector-id",
        "c3a1e5b7-9d2f-4c6e-8a0b-1d3f5e7a9c2b",
        "--configuration-url",
        configuration_url,
        "--valid-domain",
        "*.contoso.com",
        "--developer-name",
        "Contoso",
        "--website-url",
        "https://tasks.contoso.com/",
        "--privacy-url",
        "https://tasks.contoso.com/privacy",
        "--terms-of-use-url",
        "https://tasks.contoso.com/terms",
        "--app-version",
        "1.2.3",
        "--output",
        output,
        "--schema-dir",
        schema_dir,
    ])
    .expect("test settings parse")
}

fn valid_manifest() -> Value {
    let output = Path::new("unused.zip");
    Manifest::new(&settings(output, "https://tasks.contoso.com/config/")).to_value()
}

fn problems_of(manifest: &Value) -> Vec<Problem> {
    let icons = Icons::render().expect("icons render");

    match teams_app_package::validate(manifest, &icons, &schema_dir()) {
        Ok(()) => Vec::new(),
        Err(PackageError::Invalid(problems)) => problems,
        Err(other) => panic!("validation failed without a problem list: {other}"),
    }
}

fn set(manifest: &mut Value, pointer: &str, value: Value) {
    *manifest.pointer_mut(pointer).expect("the field exists") = value;
}

#[test]
fn generated_manifest_validates() {
    let problems = problems_of(&valid_manifest());

    assert_eq!(problems, []);
}

#[test]
fn declared_schema_defines_connectors() {
    let manifest = valid_manifest();
    let version = manifest["manifestVersion"]
        .as_str()
        .expect("manifestVersion is a string");
    let path = teams_app_package::schema_path(&schema_dir(), version);

    let text = std::fs::read_to_string(&path).expect("the declared schema exists");
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");

    assert_eq!(version, "1.30");
    assert!(
        schema.pointer("/properties/connectors/items").is_some(),
        "{} has no connectors",
        path.display()
    );
}

/// Each case breaks one field of a valid manifest, and names the path and a word that
/// the resulting problem must contain.
#[test]
fn broken_manifests_name_the_path() {
    type Break = fn(&mut Value);
    let cases: [(&str, Break, &str, &str); 9] = [
        (
            "missing scopes",
            |manifest| {
                let connector = manifest["connectors"][0].as_object_mut().expect("object");
                connector.remove("scopes");
            },
            "/connectors/0",
            "scopes",
        ),
        (
            "connector id not a GUID",
            |manifest| set(manifest, "/connectors/0/connectorId", json!("not-a-guid")),
            "/connectors/0/connectorId",
            "GUID",
        ),
        (
            "http configuration URL",
            |manifest| {
                let url = json!("http://tasks.contoso.com/config/");
                set(manifest, "/connectors/0/configurationUrl", url);
            },
            "/connectors/0/configurationUrl",
            "https",
        ),
        (
            "unknown root property",
            |manifest| {
                let root = manifest.as_object_mut().expect("object");
                root.insert(
                    "webhookUrl".to_string(),
                    json!("https://tasks.contoso.com/"),
                );
            },
            "",
            "webhookUrl",
        ),
        (
            "unknown connector property",
            |manifest| {
                let connector = manifest["connectors"][0].as_object_mut().expect("object");
                connector.insert("events".to_string(), json!(["created"]));
            },
            "/connectors/0",
            "events",
        ),
        (
            "manifestVersion a number",
            |manifest| set(manifest, "/manifestVersion", json!(1.3)),
            "/manifestVersion",
            "string",
        ),
        (
            "manifestVersion without schema",
            |manifest| set(manifest, "/manifestVersion", json!("9.99")),
            "/manifestVersion",
            "no schema",
        ),
        (
            "app id not a GUID",
            |manifest| set(manifest, "/id", json!("task-notifications")),
            "/id",
            "task-notifications",
        ),
        (
            "configuration host not a valid domain",
            |manifest| set(manifest, "/validDomains", json!(["other.fabrikam.com"])),
            "/validDomains",
            "tasks.contoso.com",
        ),
    ];

    for (name, break_manifest, path, word) in cases {
        let mut manifest = valid_manifest();
        break_manifest(&mut manifest);

        let problems = problems_of(&manifest);

        assert!(
            problems
                .iter()
                .any(|problem| problem.path == path && problem.message.contains(word)),
            "{name}: expected a problem at {path:?} containing {word:?}, got {problems:#?}"
        );
    }
}

#[test]
fn wrong_scope_fails_schema() {
    let mut manifest = valid_manifest();
    set(&mut manifest, "/connectors/0/scopes", json!(["personal"]));

    let problems = problems_of(&manifest);

    assert!(
        problems
            .iter()
            .any(|problem| problem.path == "/connectors/0/scopes/0"),
        "{problems:#?}"
    );
}

#[test]
fn package_holds_manifest_and_icons() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let output = directory.path().join("nested/task-notifications.zip");
    let settings = settings(&output, "https://tasks.contoso.com/config/");

    let path = teams_app_package::build(&settings).expect("the package builds");

    assert_eq!(path, output);
    let mut archive =
        zip::ZipArchive::new(File::open(&path).expect("zip exists")).expect("the package is a zip");
    let mut names: Vec<String> = archive
        .file_names()
        .map(|name| name.expect("entry names are UTF-8").into_owned())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["color.png", "manifest.json", "outline.png"]);

    let mut manifest_json = String::new();
    archive
        .by_name("manifest.json")
        .expect("manifest entry")
        .read_to_string(&mut manifest_json)
        .expect("manifest is UTF-8");
    let manifest: Value = serde_json::from_str(&manifest_json).expect("manifest is JSON");
    assert_eq!(manifest, Manifest::new(&settings).to_value());
    assert_eq!(
        manifest["connectors"][0]["configurationUrl"],
        "https://tasks.contoso.com/config/"
    );
    assert_eq!(
        manifest["validDomains"],
        json!(["tasks.contoso.com", "*.contoso.com"])
    );

    let mut color = Vec::new();
    archive
        .by_name("color.png")
        .expect("color entry")
        .read_to_end(&mut color)
        .expect("color.png reads");
    let mut outline = Vec::new();
    archive
        .by_name("outline.png")
        .expect("outline entry")
        .read_to_end(&mut outline)
        .expect("outline.png reads");
    assert_eq!(Icons { color, outline }.check(), []);
}

#[test]
fn invalid_package_writes_no_zip() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let output = directory.path().join("task-notifications.zip");
    let settings = settings(&output, "http://tasks.contoso.com/config/");

    let error = teams_app_package::build(&settings).expect_err("http is rejected");

    let message = error.to_string();
    assert!(
        message.contains("/connectors/0/configurationUrl: "),
        "{message}"
    );
    assert!(!output.exists(), "{} was written", output.display());
    let leftovers: Vec<_> = std::fs::read_dir(directory.path())
        .expect("directory lists")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn missing_schemas_fail_with_npm_hint() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let output = directory.path().join("task-notifications.zip");
    let mut settings = settings(&output, "https://tasks.contoso.com/config/");
    settings.schema_dir = directory.path().join("node_modules/missing");

    let error = teams_app_package::build(&settings).expect_err("no schemas");

    assert!(error.to_string().contains("npm ci"), "{error}");
    assert!(!output.exists(), "{} was written", output.display());
}

//! Validation against the official Teams manifest JSON schema from the npm package
//! @microsoft/app-manifest, offline.

use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::{Draft, Retrieve, Uri};
use serde_json::Value;

use crate::error::{PackageError, Problem};
use crate::manifest::MANIFEST_VERSION;

/// Returns the path of the schema for manifest `version` inside `schema_dir`.
pub fn schema_path(schema_dir: &Path, version: &str) -> PathBuf {
    schema_dir
        .join(format!("v{version}"))
        .join("MicrosoftTeams.schema.json")
}

/// Validates `manifest` against the schema of the version it declares in
/// `manifestVersion`, and returns every problem found.
///
/// A manifest without a string `manifestVersion` is checked against the schema of
/// [`MANIFEST_VERSION`], so that its other problems are listed too.
pub fn check(manifest: &Value, schema_dir: &Path) -> Result<Vec<Problem>, PackageError> {
    if !schema_dir.is_dir() {
        return Err(PackageError::SchemasNotFound {
            dir: schema_dir.to_path_buf(),
        });
    }

    let mut problems = Vec::new();
    let version = match manifest.get("manifestVersion").and_then(Value::as_str) {
        Some(version) => version,
        None => {
            problems.push(Problem::new(
                "/manifestVersion",
                format!(
                    "is missing or not a string; it names the manifest schema version, \
                     such as \"{MANIFEST_VERSION}\", so the schema of {MANIFEST_VERSION} \
                     was used"
                ),
            ));
            MANIFEST_VERSION
        }
    };

    // The version becomes part of a file path, so only digits and dots are accepted.
    let is_version_number = !version.is_empty()
        && version
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
    let path = schema_path(schema_dir, version);
    if !is_version_number || !path.is_file() {
        problems.push(Problem::new(
            "/manifestVersion",
            format!(
                "\"{version}\" has no schema in {}; use a version that \
                 @microsoft/app-manifest ships, such as \"{MANIFEST_VERSION}\"",
                schema_dir.display()
            ),
        ));
        return Ok(problems);
    }

    let schema = read_schema(&path)?;
    problems.extend(schema_problems(&schema, &path, manifest)?);
    problems.extend(const_version_problem(&schema, version));

    Ok(problems)
}

fn read_schema(path: &Path) -> Result<Value, PackageError> {
    let text = fs::read_to_string(path).map_err(|source| PackageError::SchemaUnreadable {
        path: path.to_path_buf(),
        source,
    })?;

    serde_json::from_str(&text).map_err(|source| PackageError::SchemaNotJson {
        path: path.to_path_buf(),
        source,
    })
}

fn schema_problems(
    schema: &Value,
    path: &Path,
    manifest: &Value,
) -> Result<Vec<Problem>, PackageError> {
    // The Teams schemas declare JSON Schema draft 4, whose meta-schema jsonschema
    // bundles. Every `$ref` in them points inside the same file.
    let validator = jsonschema::options()
        .with_draft(Draft::Draft4)
        .with_retriever(OfflineRetriever)
        .build(schema)
        .map_err(|error| PackageError::SchemaNotCompiled {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;

    let problems = validator
        .iter_errors(manifest)
        .map(|error| Problem::new(error.instance_path().as_str(), error.to_string()))
        .collect();
    Ok(problems)
}

/// Checks the schema's `"const"` on `manifestVersion`.
///
/// The Teams schemas use `const`, a draft 6 keyword, inside a draft 4 schema. Microsoft's
/// validator (Ajv's draft 4 mode) applies it, but jsonschema follows draft 4 and skips it.
fn const_version_problem(schema: &Value, version: &str) -> Option<Problem> {
    let expected = schema
        .pointer("/properties/manifestVersion/const")
        .and_then(Value::as_str)?;

    (expected != version).then(|| {
        Problem::new(
            "/manifestVersion",
            format!("\"{version}\" differs from the schema's version \"{expected}\""),
        )
    })
}

/// A retriever that fetches nothing, so that validation never leaves the machine
/// even if a schema refers to a remote document.
struct OfflineRetriever;

impl Retrieve for OfflineRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "the schema refers to {uri}, which is not fetched because validation runs \
             offline with the schema file alone"
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn schema_path_names_version_directory() {
        let path = schema_path(Path::new("schemas"), "1.30");

        assert_eq!(path, Path::new("schemas/v1.30/MicrosoftTeams.schema.json"));
    }

    #[test]
    fn missing_schema_dir_asks_for_npm_ci() {
        let directory = Path::new("/nonexistent/json-schemas/teams");

        let error = check(&json!({}), directory).expect_err("the directory is missing");

        assert!(error.to_string().contains("npm ci"), "{error}");
    }

    #[test]
    fn const_version_mismatch_is_reported() {
        let schema = json!({"properties": {"manifestVersion": {"const": "1.30"}}});

        let problem = const_version_problem(&schema, "1.29").expect("versions differ");

        assert_eq!(problem.path, "/manifestVersion");
    }

    #[test]
    fn remote_reference_is_not_fetched() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-04/schema#",
            "properties": {"a": {"$ref": "https://schemas.example.com/other.json"}}
        });

        let error = schema_problems(&schema, Path::new("remote.json"), &json!({"a": 1}))
            .expect_err("the remote reference cannot be resolved");

        assert!(error.to_string().contains("offline"), "{error}");
    }
}

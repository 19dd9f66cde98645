//! Building the app package: manifest, icons, validation, zip.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::PackageError;
use crate::icons::Icons;
use crate::manifest::Manifest;
use crate::settings::Settings;
use crate::{archive, rules, schema};

/// Validates the manifest against the schema of its declared version, the rules the
/// schema cannot express, and the icons, and returns every problem at once.
pub fn validate(manifest: &Value, icons: &Icons, schema_dir: &Path) -> Result<(), PackageError> {
    let mut problems = schema::check(manifest, schema_dir)?;
    problems.extend(rules::check(manifest));
    problems.extend(icons.check());

    if problems.is_empty() {
        Ok(())
    } else {
        Err(PackageError::Invalid(problems))
    }
}

/// Builds the manifest and icons from `settings`, validates them, and writes the zip to
/// `settings.output`. It returns the zip's path, and writes nothing when validation
/// fails.
pub fn build(settings: &Settings) -> Result<PathBuf, PackageError> {
    let manifest = Manifest::new(settings).to_value();
    let icons = Icons::render()?;

    validate(&manifest, &icons, &settings.schema_dir)?;
    archive::write(&settings.output, &manifest, &icons)?;

    Ok(settings.output.clone())
}

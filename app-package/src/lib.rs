//! The Microsoft Teams app package of the task notifications connector.
//!
//! A tenant admin uploads the package, a zip of `manifest.json`, `color.png` and
//! `outline.png`, to Teams. [`build`] makes it from [`Settings`] and writes it only
//! after [`validate`] found no problem.
//!
//! Validation checks the manifest against the official JSON schema of its declared
//! version, read offline from the npm package @microsoft/app-manifest. It also checks
//! the rules that the schema cannot express, and the icons' sizes and transparency.

mod archive;
mod error;
mod icons;
mod manifest;
mod package;
mod rules;
mod schema;
mod settings;

pub use archive::MANIFEST_FILE;
pub use error::{PackageError, Problem};
pub use icons::{COLOR_FILE, COLOR_SIZE, Icons, OUTLINE_FILE, OUTLINE_SIZE};
pub use manifest::{MANIFEST_VERSION, Manifest, schema_url};
pub use package::{build, validate};
pub use schema::schema_path;
pub use settings::{EXAMPLE_CONFIGURATION_URL, ExampleValue, Settings};

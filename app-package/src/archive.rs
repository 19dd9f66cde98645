//! Writes the app package zip: manifest.json and the two icons, deflated.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::error::PackageError;
use crate::icons::{COLOR_FILE, Icons, OUTLINE_FILE};

/// File name of the manifest inside the package.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Writes the zip to `output`, creating its directory when missing.
///
/// The zip is written to a temporary file beside `output` and renamed into place, so a
/// failed write never leaves a partial package at `output`.
pub fn write(output: &Path, manifest: &Value, icons: &Icons) -> Result<(), PackageError> {
    let write_error = |source| PackageError::Write {
        path: output.to_path_buf(),
        source,
    };

    let directory = output
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(directory).map_err(write_error)?;

    let partial = partial_path(output);
    let result = write_zip(&partial, manifest, icons)
        .and_then(|()| fs::rename(&partial, output).map_err(write_error));
    if result.is_err() {
        // The write already failed; a leftover temporary file is only clutter.
        let _ = fs::remove_file(&partial);
    }

    result
}

fn write_zip(path: &Path, manifest: &Value, icons: &Icons) -> Result<(), PackageError> {
    let write_error = |source| PackageError::Write {
        path: path.to_path_buf(),
        source,
    };
    let zip_error = |source| PackageError::Zip {
        path: path.to_path_buf(),
        source,
    };

    let manifest_json =
        serde_json::to_vec_pretty(manifest).expect("a JSON value always serializes");
    let entries: [(&str, &[u8]); 3] = [
        (MANIFEST_FILE, &manifest_json),
        (COLOR_FILE, &icons.color),
        (OUTLINE_FILE, &icons.outline),
    ];

    let file = File::create(path).map_err(write_error)?;
    let mut zip = ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, contents) in entries {
        zip.start_file(name, options).map_err(zip_error)?;
        zip.write_all(contents).map_err(write_error)?;
    }

    let file = zip.finish().map_err(zip_error)?;
    file.sync_all().map_err(write_error)
}

/// Returns a hidden temporary path in the same directory as `output`, so that the final
/// rename stays on one file system.
fn partial_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app-package.zip".to_string());
    output.with_file_name(format!(".{name}.partial"))
}

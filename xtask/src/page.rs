//! Builds the configuration page into dist/ with trunk.

use std::path::Path;

use anyhow::{Result, bail};

use crate::process;

/// Runs `trunk build --release --offline` in the workspace root.
///
/// `--offline` keeps trunk from downloading wasm-bindgen and wasm-opt, so it uses the
/// ones on `PATH` that `cargo xtask setup` installed: wasm-bindgen from crates.io, and
/// wasm-opt from the npm package binaryen in node_modules/.bin.
pub fn build(root: &Path) -> Result<()> {
    let npm_bin = root.join("node_modules").join(".bin");
    let mut command = process::command_with_path_first("trunk", &npm_bin);
    command
        .args(["build", "--release", "--offline"])
        .current_dir(root);
    process::run(&mut command)?;

    let index = root.join("dist").join("index.html");
    if !index.is_file() {
        bail!("trunk build succeeded but {} is missing", index.display());
    }

    Ok(())
}

//! `cargo xtask lint`: formatting and clippy, natively and for the wasm target.

use std::path::Path;

use anyhow::Result;

use crate::{process, tools};

/// Checks formatting, then runs clippy with warnings denied on the whole workspace and
/// on the page for wasm32.
pub fn lint(root: &Path) -> Result<()> {
    // Only the Rust toolchain is needed here, so the slow tool installs are skipped.
    tools::setup_rust_toolchain()?;

    let steps: [&[&str]; 3] = [
        &["fmt", "--all", "--check"],
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[
            "clippy",
            "-p",
            "connector-config-page",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ];
    for args in steps {
        let mut command = process::command("cargo");
        command.args(args).current_dir(root);
        process::run(&mut command)?;
    }

    Ok(())
}

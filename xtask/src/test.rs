//! `cargo xtask test`: native tests, browser tests of the page, the page build and the
//! end-to-end tests, in that order.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{page, process, tools};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Runs setup, then every test step, and stops at the first failure.
pub fn test(root: &Path) -> Result<()> {
    tools::setup(root)?;

    let step_count = 4;

    step(1, step_count, "native tests", || {
        let mut command = cargo(root);
        command.args(["test", "--workspace", "--exclude", "e2e"]);
        process::run(&mut command)
    })?;

    step(2, step_count, "browser tests of the page", || {
        let mut command = process::command("wasm-pack");
        command
            .args(["test", "--headless", "--chrome"])
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .current_dir(root);
        process::run(&mut command)
    })?;

    step(3, step_count, "page build", || page::build(root))?;

    step(4, step_count, "end-to-end tests", || {
        let mut command = end_to_end_tests(root);
        command.args(["--", "--test-threads=1"]);
        process::run(&mut command)
    })?;

    println!("All {step_count} test steps passed.");
    Ok(())
}

/// Builds the page and runs the end-to-end tests that take the README's
/// screenshots, writing them to docs/screenshots/.
pub fn screenshots(root: &Path) -> Result<()> {
    tools::setup(root)?;
    page::build(root)?;

    let dir = root.join("docs").join("screenshots");
    let mut command = end_to_end_tests(root);
    command
        .args(["--test", "look_and_feel", "--", "--test-threads=1"])
        .env("E2E_SCREENSHOTS_DIR", &dir);
    process::run(&mut command)?;
    println!("Screenshots written to {}", dir.display());
    Ok(())
}

/// Returns `cargo test -p e2e` with the environment the end-to-end tests read.
fn end_to_end_tests(root: &Path) -> Command {
    let mut command = cargo(root);
    command
        .args(["test", "-p", "e2e"])
        .env("E2E_PAGE_DIR", root.join("dist"))
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("CHROMIUM", CHROMIUM);
    command
}

fn cargo(root: &Path) -> Command {
    let mut command = process::command("cargo");
    command.current_dir(root);
    command
}

/// Prints a header for step `number`, runs it, and names the step when it fails.
fn step(
    number: usize,
    count: usize,
    name: &str,
    action: impl FnOnce() -> Result<()>,
) -> Result<()> {
    println!("==> step {number} of {count}: {name}");
    action().with_context(|| format!("test step {number} of {count} ({name}) failed"))
}

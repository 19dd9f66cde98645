//! Child processes: every command searches `PATH` with Cargo's bin directory first, and
//! every failure names the command line.

use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

/// Returns the directory that `cargo install` writes binaries to.
pub fn cargo_bin_dir() -> Option<PathBuf> {
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        return Some(PathBuf::from(cargo_home).join("bin"));
    }

    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo").join("bin"))
}

/// Returns the directories to search for programs: Cargo's bin directory, then `PATH`.
fn search_dirs() -> Vec<PathBuf> {
    // A new machine may have rustup's cargo on PATH through a proxy without
    // ~/.cargo/bin, where `cargo install` puts trunk, wasm-bindgen and wasm-pack.
    let mut dirs: Vec<PathBuf> = cargo_bin_dir().into_iter().collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs
}

fn search_path() -> OsString {
    std::env::join_paths(search_dirs())
        .unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

/// Returns the first file named `program` in the search directories.
pub fn find_program(program: &str) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Creates a command for `program` whose `PATH`, also used to find `program`, starts
/// with Cargo's bin directory.
pub fn command(program: impl AsRef<OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env("PATH", search_path());
    command
}

/// Creates a command like [`command`] whose `PATH` starts with `dir`, then
/// Cargo's bin directory.
pub fn command_with_path_first(program: impl AsRef<OsStr>, dir: &Path) -> Command {
    let mut dirs = vec![dir.to_owned()];
    dirs.extend(search_dirs());
    let path = std::env::join_paths(dirs).unwrap_or_else(|_| search_path());

    let mut command = Command::new(program);
    command.env("PATH", path);
    command
}

/// Formats a command as a shell line, with the environment it sets except `PATH`.
pub fn describe(command: &Command) -> String {
    let mut words = Vec::new();

    for (key, value) in command.get_envs() {
        if key == "PATH" {
            continue;
        }
        if let Some(value) = value {
            words.push(format!(
                "{}={}",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }

    words.push(command.get_program().to_string_lossy().into_owned());
    words.extend(
        command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned()),
    );
    words.join(" ")
}

/// Converts an error from starting `command` into one that names the command. When the
/// program was not found, the message points to `cargo xtask setup`.
pub fn start_error(command: &Command, error: std::io::Error) -> anyhow::Error {
    let line = describe(command);

    if error.kind() == ErrorKind::NotFound {
        let program = command.get_program().to_string_lossy();
        return anyhow!(
            "could not start `{line}`: `{program}` was not found on PATH. \
             `cargo xtask setup` installs the project's tools"
        );
    }

    anyhow!("could not start `{line}`: {error}")
}

/// Prints and runs `command` with inherited standard streams, and fails unless it exits
/// successfully.
pub fn run(command: &mut Command) -> Result<()> {
    let line = describe(command);
    println!("$ {line}");

    let status = command
        .status()
        .map_err(|error| start_error(command, error))?;
    if !status.success() {
        bail!("`{line}` failed with {status}");
    }

    Ok(())
}

/// Runs `command` quietly and returns its standard output, failing unless it exits
/// successfully.
pub fn output(command: &mut Command) -> Result<String> {
    let line = describe(command);

    let output = command
        .output()
        .map_err(|error| start_error(command, error))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("`{line}` failed with {}: {}", output.status, stderr.trim());
    }

    String::from_utf8(output.stdout).with_context(|| format!("`{line}` printed invalid UTF-8"))
}

/// Runs `command` quietly and returns its standard output, or `None` when the program is
/// missing or exits with a failure.
pub fn probe(command: &mut Command) -> Result<Option<String>> {
    match command.output() {
        Ok(output) if output.status.success() => {
            Ok(Some(String::from_utf8_lossy(&output.stdout).into_owned()))
        }
        Ok(_) => Ok(None),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(error) => Err(start_error(command, error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_lists_env_program_and_args() {
        let mut command = command("wasm-pack");
        command
            .args(["test", "--headless"])
            .env("CHROMEDRIVER", "/usr/bin/chromedriver");

        assert_eq!(
            describe(&command),
            "CHROMEDRIVER=/usr/bin/chromedriver wasm-pack test --headless"
        );
    }

    #[test]
    fn describe_omits_path() {
        let command = command("trunk");

        assert_eq!(describe(&command), "trunk");
    }

    #[test]
    fn probe_missing_program_is_none() {
        let mut command = command("xtask-test-program-that-does-not-exist");

        let output = probe(&mut command).expect("a missing program is not an error");

        assert_eq!(output, None);
    }

    #[test]
    fn run_failure_names_command() {
        let mut command = command("false");

        let error = run(&mut command).expect_err("`false` exits with status 1");

        assert!(error.to_string().contains("`false` failed"), "{error}");
    }
}

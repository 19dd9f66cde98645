//! `cargo xtask package`: builds and validates the Teams app package with the
//! teams-app-package binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Result, bail};

use crate::{process, tools};

/// Flags passed on to the teams-app-package binary.
#[derive(clap::Args)]
pub struct PackageArgs {
    /// Flags of teams-app-package, such as `--configuration-url
    /// https://tasks.contoso.com/config/`; `cargo xtask package -- --help` lists them.
    /// Relative paths are resolved against the workspace root.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub flags: Vec<String>,
}

/// Installs the npm packages when needed (the manifest schemas come from
/// @microsoft/app-manifest), then runs teams-app-package and prints the zip's path.
pub fn package(root: &Path, args: &PackageArgs) -> Result<()> {
    tools::setup_npm_packages(root)?;

    let mut command = process::command("cargo");
    command
        .args(["run", "--quiet", "-p", "teams-app-package", "--"])
        .current_dir(root);
    command.args(&args.flags);
    if args
        .flags
        .iter()
        .any(|flag| matches!(flag.as_str(), "--help" | "-h"))
    {
        return process::run(&mut command);
    }

    // The binary logs to standard error, which stays visible, and prints only the zip's
    // path on standard output.
    command.stderr(Stdio::inherit());
    let line = process::describe(&command);
    println!("$ {line}");
    let output = command
        .output()
        .map_err(|error| process::start_error(&command, error))?;
    if !output.status.success() {
        bail!(
            "`{line}` failed with {}; its log above lists the problems",
            output.status
        );
    }

    let stdout = String::from_utf8_lossy(&output.stdout);
    let zip = zip_path(root, &stdout)?;
    println!("App package: {}", zip.display());
    println!("Upload it in the Teams admin center or with \"Upload a custom app\" in Teams.");
    Ok(())
}

/// Reads the zip's path from the binary's standard output, relative to `root` when the
/// binary printed a relative path.
fn zip_path(root: &Path, stdout: &str) -> Result<PathBuf> {
    let printed = stdout.trim();
    if printed.is_empty() || printed.contains('\n') {
        bail!("teams-app-package printed {printed:?} instead of the path of the zip");
    }

    Ok(root.join(printed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_zip_path_joins_root() {
        let path = zip_path(Path::new("/repo"), "target/app-package/a.zip\n").expect("one line");

        assert_eq!(path, Path::new("/repo/target/app-package/a.zip"));
    }

    #[test]
    fn absolute_zip_path_stays() {
        let path = zip_path(Path::new("/repo"), "/tmp/a.zip\n").expect("one line");

        assert_eq!(path, Path::new("/tmp/a.zip"));
    }

    #[test]
    fn several_lines_are_rejected() {
        let result = zip_path(Path::new("/repo"), "Usage: x\n  --flag\n");

        assert!(result.is_err());
    }
}

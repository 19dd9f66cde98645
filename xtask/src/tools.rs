//! `cargo xtask setup`: installs each missing tool, and skips tools present at the
//! pinned version.

use std::fs;
use std::path::Path;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};

use crate::process::{self, cargo_bin_dir, find_program};
use crate::versions::{locked_version, tool_version};

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// trunk 0.22 requires rustc 1.96.1, newer than the project's 1.95, so the pin stays
/// on 0.21.
const TRUNK_VERSION: &str = "0.21.14";

const WASM_PACK_VERSION: &str = "0.15.1";

/// A tool installed with `cargo install` at one exact version.
struct CargoTool<'a> {
    crate_name: &'a str,
    program: &'a str,
    version: &'a str,
    lock_policy: LockPolicy,
}

/// Whether `cargo install` uses the tool's own Cargo.lock.
#[derive(Clone, Copy)]
enum LockPolicy {
    Locked,
    Unlocked,
    LockedThenUnlocked,
}

/// A Debian package and the binary whose absence means the package is missing.
pub struct DebianPackage {
    pub package: &'static str,
    /// An absolute path, or a program name looked up on `PATH`.
    pub binary: &'static str,
}

const DEBIAN_PACKAGES: [DebianPackage; 2] = [
    DebianPackage {
        package: "chromium",
        binary: "/usr/bin/chromium",
    },
    DebianPackage {
        package: "chromium-driver",
        binary: "/usr/bin/chromedriver",
    },
];

/// Installs every missing tool, printing one line per tool.
pub fn setup(root: &Path) -> Result<()> {
    setup_rust_toolchain()?;
    install_debian_packages(&DEBIAN_PACKAGES)?;

    let lock = fs::read_to_string(root.join("Cargo.lock"))
        .with_context(|| format!("could not read {}", root.join("Cargo.lock").display()))?;
    let wasm_bindgen_version = locked_version(&lock, "wasm-bindgen")?;

    let cargo_tools = [
        CargoTool {
            crate_name: "trunk",
            program: "trunk",
            version: TRUNK_VERSION,
            lock_policy: LockPolicy::Locked,
        },
        // The wasm-bindgen CLI must match the `wasm-bindgen` crate exactly. With
        // `--locked`, 0.2.130 failed to install because the registry index lacked one
        // version named in its Cargo.lock, so it installs without `--locked`.
        CargoTool {
            crate_name: "wasm-bindgen-cli",
            program: "wasm-bindgen",
            version: &wasm_bindgen_version,
            lock_policy: LockPolicy::Unlocked,
        },
        CargoTool {
            crate_name: "wasm-pack",
            program: "wasm-pack",
            version: WASM_PACK_VERSION,
            lock_policy: LockPolicy::LockedThenUnlocked,
        },
    ];
    for tool in &cargo_tools {
        setup_cargo_tool(tool)?;
    }

    setup_npm_packages(root)
}

/// Adds the wasm target and the rustfmt and clippy components when they are missing.
pub fn setup_rust_toolchain() -> Result<()> {
    let targets =
        process::output(process::command("rustup").args(["target", "list", "--installed"]))
            .context("rustup is required to add the wasm target; install Rust with rustup")?;
    if targets.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("{WASM_TARGET} target: present");
    } else {
        println!("{WASM_TARGET} target: installing");
        process::run(process::command("rustup").args(["target", "add", WASM_TARGET]))?;
    }

    let components =
        process::output(process::command("rustup").args(["component", "list", "--installed"]))?;
    for component in ["rustfmt", "clippy"] {
        // Installed components are listed with the host triple, as in `clippy-x86_64-unknown-linux-gnu`.
        let prefix = format!("{component}-");
        if components.lines().any(|line| line.starts_with(&prefix)) {
            println!("{component}: present");
        } else {
            println!("{component}: installing");
            process::run(process::command("rustup").args(["component", "add", component]))?;
        }
    }

    Ok(())
}

/// Installs the Debian packages whose binaries are missing, with one `apt-get` run.
pub fn install_debian_packages(packages: &[DebianPackage]) -> Result<()> {
    let mut missing = Vec::new();
    for package in packages {
        if is_binary_present(package.binary) {
            println!("{} ({}): present", package.package, package.binary);
        } else {
            println!("{} ({}): installing", package.package, package.binary);
            missing.push(package);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }

    let names: Vec<&str> = missing.iter().map(|package| package.package).collect();
    apt_get(&["update"], &names)?;

    let mut install_args = vec!["install", "-y", "--no-install-recommends"];
    install_args.extend(&names);
    apt_get(&install_args, &names)?;

    for package in missing {
        if !is_binary_present(package.binary) {
            bail!(
                "installed the Debian package `{}` but `{}` is still missing",
                package.package,
                package.binary
            );
        }
    }

    Ok(())
}

fn is_binary_present(binary: &str) -> bool {
    if binary.starts_with('/') {
        Path::new(binary).is_file()
    } else {
        find_program(binary).is_some()
    }
}

/// Runs `apt-get` as root, through `sudo` when this process is not root.
fn apt_get(args: &[&str], packages: &[&str]) -> Result<()> {
    let package_list = packages.join(" ");
    if find_program("apt-get").is_none() {
        bail!(
            "apt-get was not found; install {package_list} with your system's package \
             manager"
        );
    }

    let mut command = if is_root()? {
        let mut command = process::command("apt-get");
        command.env("DEBIAN_FRONTEND", "noninteractive");
        command
    } else if find_program("sudo").is_some() {
        // sudo resets the environment, so the variable goes on its command line.
        let mut command = process::command("sudo");
        command.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
        command
    } else {
        bail!(
            "installing Debian packages needs root and sudo was not found; as root, run \
             `apt-get update && apt-get install -y --no-install-recommends {package_list}`"
        );
    };

    command.args(args);
    process::run(&mut command)
}

fn is_root() -> Result<bool> {
    let user_id = process::output(process::command("id").arg("-u"))?;
    Ok(user_id.trim() == "0")
}

/// Installs `tool` with `cargo install` unless the program on `PATH` reports the pinned
/// version.
fn setup_cargo_tool(tool: &CargoTool) -> Result<()> {
    let label = format!("{} {}", tool.program, tool.version);
    let found = installed_version(tool.program)?;

    match found.as_deref() {
        Some(version) if version == tool.version => {
            println!("{label}: present");
            return Ok(());
        }
        Some(version) => println!("{label}: installing (found {version})"),
        None => println!("{label}: installing"),
    }

    let spec = format!("{}@={}", tool.crate_name, tool.version);
    match tool.lock_policy {
        LockPolicy::Locked => cargo_install(&spec, true)?,
        LockPolicy::Unlocked => cargo_install(&spec, false)?,
        LockPolicy::LockedThenUnlocked => {
            if let Err(error) = cargo_install(&spec, true) {
                println!("{error:#}; retrying without --locked");
                cargo_install(&spec, false)?;
            }
        }
    }

    let installed = installed_version(tool.program)?;
    if installed.as_deref() != Some(tool.version) {
        let cargo_bin = cargo_bin_dir().unwrap_or_default();
        bail!(
            "installed {label} into {}, but `{} --version` reports {}; remove the other \
             {} that comes first on PATH",
            cargo_bin.display(),
            tool.program,
            installed.as_deref().unwrap_or("no version"),
            tool.program
        );
    }

    Ok(())
}

/// Returns the version that `<program> --version` reports, or `None` when the program
/// is missing or prints no version.
fn installed_version(program: &str) -> Result<Option<String>> {
    let output = process::probe(process::command(program).arg("--version"))?;
    Ok(output.and_then(|output| tool_version(&output, program).map(str::to_string)))
}

fn cargo_install(spec: &str, locked: bool) -> Result<()> {
    let mut command = process::command("cargo");
    command.arg("install");
    if locked {
        command.arg("--locked");
    }
    command.arg(spec);
    process::run(&mut command)
}

/// Runs `npm ci` unless node_modules is at least as new as package-lock.json.
pub fn setup_npm_packages(root: &Path) -> Result<()> {
    let lock_path = root.join("package-lock.json");
    let lock_modified = modified(&lock_path).with_context(|| {
        format!(
            "could not read {}; run `npm install` in {} to create it",
            lock_path.display(),
            root.display()
        )
    })?;

    // npm 7 and later write node_modules/.package-lock.json when an install finishes.
    let installed_marker = root.join("node_modules").join(".package-lock.json");
    let is_current = modified(&installed_marker).is_ok_and(|installed| installed >= lock_modified);
    if is_current {
        println!("npm packages (package-lock.json): present");
        return Ok(());
    }

    println!("npm packages (package-lock.json): installing");
    if find_program("npm").is_none() {
        bail!("npm was not found on PATH; install Node.js 20 with npm");
    }
    let mut command = process::command("npm");
    command
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(root);
    process::run(&mut command)
}

fn modified(path: &Path) -> std::io::Result<SystemTime> {
    fs::metadata(path)?.modified()
}

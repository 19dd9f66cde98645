//! `cargo xtask bench`: installs wrk when it is missing, builds the backend and the
//! benchmark in release mode, and runs the fan-out benchmark described in
//! docs/benchmarks.md.

use std::path::Path;

use anyhow::Result;
use clap::Args;

use crate::process;
use crate::run::target_dir;
use crate::tools::{DebianPackage, install_debian_packages};

const WRK: DebianPackage = DebianPackage {
    package: "wrk",
    binary: "wrk",
};

/// Options of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Options passed to the `fanout` benchmark, such as `--configurations 10000
    /// --runs 3`; `cargo xtask bench -- --help` lists them.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    fanout_args: Vec<String>,
}

/// Installs wrk, builds the release binaries and runs the benchmark.
pub fn bench(root: &Path, args: &BenchArgs) -> Result<()> {
    install_debian_packages(&[WRK])?;

    let mut build = process::command("cargo");
    build
        .args([
            "build",
            "--release",
            "-p",
            "connector-backend",
            "-p",
            "benchmarks",
        ])
        .current_dir(root);
    process::run(&mut build)?;

    let binaries = target_dir(root).join("release");
    let mut fanout = process::command(binaries.join("fanout"));
    fanout
        .arg("--backend")
        .arg(binaries.join("connector-backend"))
        .args(&args.fanout_args)
        .current_dir(root);
    process::run(&mut fanout)
}

//! Developer commands of the connector: `cargo xtask setup | build | run | test | lint |
//! package | bench` and the others below.

mod bench;
mod lint;
mod package;
mod page;
mod process;
mod run;
mod server;
mod test;
mod tools;
mod versions;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Developer commands of the connector, run with `cargo xtask <command>`.
#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Installs the missing tools: the wasm target, rustfmt, clippy, Chromium,
    /// chromedriver, trunk, wasm-bindgen, wasm-pack and the npm packages (TeamsJS and
    /// binaryen, whose wasm-opt trunk uses).
    Setup,
    /// Runs setup, then builds the configuration page into dist/ with trunk.
    Build,
    /// Builds everything and runs the backend and the local Teams host until Ctrl-C.
    Run(run::RunArgs),
    /// Runs setup, then the native, browser and end-to-end tests.
    Test,
    /// Takes the README's screenshots of the page in each theme and in Arabic, with the
    /// end-to-end tests, into docs/screenshots/.
    Screenshots,
    /// Checks formatting and runs clippy natively and for wasm32.
    Lint,
    /// Installs wrk when missing, builds release binaries and runs the fan-out delivery
    /// benchmark (docs/benchmarks.md). Options after `--` go to the benchmark.
    Bench(bench::BenchArgs),
    /// Installs the npm packages when needed, then builds and validates the Teams app
    /// package (manifest.json and icons in a zip) and prints the path of the zip.
    Package(package::PackageArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();

    match run_command(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The causes name the failed command, so a backtrace of xtask adds nothing.
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run_command(command: Command) -> anyhow::Result<()> {
    let root = workspace_root();

    match command {
        Command::Setup => tools::setup(&root),
        Command::Build => {
            tools::setup(&root)?;
            page::build(&root)
        }
        Command::Run(args) => run::run(&root, &args),
        Command::Test => test::test(&root),
        Command::Screenshots => test::screenshots(&root),
        Command::Lint => lint::lint(&root),
        Command::Bench(args) => bench::bench(&root, &args),
        Command::Package(args) => package::package(&root, &args),
    }
}

/// Returns the workspace root, the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in a directory of the workspace root")
        .to_path_buf()
}

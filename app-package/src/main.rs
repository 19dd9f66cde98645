//! Builds and validates the Teams app package, then prints the path of the zip.

use std::process::ExitCode;

use clap::Parser;
use teams_app_package::Settings;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Logs go to standard error, so standard output holds only the zip's path.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();

    let settings = Settings::parse();
    for example in settings.example_values() {
        warn!(
            "{} is the example value {}, which works only for trying the package; for a \
             real deployment set {} (or {}) to {}",
            example.flag, example.value, example.flag, example.env, example.replacement
        );
    }

    info!(
        app_id = %settings.app_id,
        connector_id = %settings.connector_id,
        output = %settings.output.display(),
        "building the app package"
    );
    match teams_app_package::build(&settings) {
        Ok(path) => {
            info!(path = %path.display(), "wrote the app package");
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(build_error) => {
            error!("{build_error}");
            ExitCode::FAILURE
        }
    }
}

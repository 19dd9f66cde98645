//! `cargo xtask run`: builds everything and runs the backend and the local Teams host.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::server::{Server, wait_until_healthy};
use crate::{page, process, tools};

/// Maximum time the two servers get to respond to their first health check.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Ports of `cargo xtask run`, both on 127.0.0.1.
#[derive(Args)]
pub struct RunArgs {
    /// Port of the local Teams host, the address to open in a browser.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Port of the backend that stores configurations and serves the page.
    #[arg(long, default_value_t = 8081)]
    backend_port: u16,
}

/// Builds the page and both servers and runs them until either exits.
///
/// Ctrl-C in the terminal reaches the servers directly because they share xtask's
/// process group. Each server shuts down on its own SIGINT and exits with success, and
/// then xtask returns `Ok`. A server that fails makes xtask stop the other and return
/// an error.
///
/// NOTE: A signal sent to xtask alone, such as `kill <pid>`, ends it without stopping
/// the servers, because std offers no signal handler that could run the guards.
pub fn run(root: &Path, args: &RunArgs) -> Result<()> {
    if args.port == args.backend_port {
        bail!(
            "--port and --backend-port are both {}; choose two different ports",
            args.port
        );
    }
    let host_address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let backend_address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.backend_port));

    tools::setup(root)?;
    page::build(root)?;
    let mut command = process::command("cargo");
    command
        .args(["build", "-p", "connector-backend", "-p", "local-teams-host"])
        .current_dir(root);
    process::run(&mut command)?;

    // A server already listening on a port would respond to the health checks in place
    // of the new one.
    check_port_free(host_address, "--port")?;
    check_port_free(backend_address, "--backend-port")?;
    fs::create_dir_all(root.join("data")).context("could not create the data directory")?;

    let binaries = target_dir(root).join("debug");
    // The host sends sample task events to the backend with this key. It goes
    // through the environment, because arguments are visible to every user in `ps`.
    let events_api_key = random_key()?;
    let host_origin = format!("http://{host_address}");
    let backend_url = format!("http://{backend_address}");

    let backend = Server::start(
        "connector-backend",
        process::command(binaries.join("connector-backend"))
            .args(["--listen", &backend_address.to_string()])
            .args(["--database", "data/connector.sqlite3"])
            .args(["--page-dir", "dist"])
            .args(["--dev-webhook-origin", &host_origin])
            .env("CONNECTOR_EVENTS_API_KEY", &events_api_key)
            .current_dir(root),
    )?;
    let host = Server::start(
        "local-teams-host",
        process::command(binaries.join("local-teams-host"))
            .args(["--listen", &host_address.to_string()])
            .args(["--backend-url", &backend_url])
            .env("TEAMS_HOST_EVENTS_API_KEY", &events_api_key)
            .current_dir(root),
    )?;
    let mut servers = [backend, host];

    // The host proxies /api/ to the backend, so its health check covers the proxy too.
    wait_until_healthy(
        &mut servers,
        &[backend_address, host_address],
        STARTUP_TIMEOUT,
    )?;
    println!("Open http://{host_address}/ in a browser. Press Ctrl-C to stop.");

    // Dropping `servers` on return stops the server that is still running.
    loop {
        for server in servers.iter_mut() {
            match server.exit_status()? {
                None => {}
                Some(status) if status.success() => {
                    println!("{} stopped; stopping the other server", server.name);
                    return Ok(());
                }
                Some(status) => bail!(
                    "{} exited with {status}; stopping the other server",
                    server.name
                ),
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Returns 32 random hex digits from the kernel's random source.
fn random_key() -> Result<String> {
    let mut bytes = [0_u8; 16];
    let mut random = fs::File::open("/dev/urandom").context("could not open /dev/urandom")?;
    std::io::Read::read_exact(&mut random, &mut bytes).context("could not read /dev/urandom")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}

fn check_port_free(address: SocketAddr, flag: &str) -> Result<()> {
    TcpListener::bind(address).map(drop).with_context(|| {
        format!("cannot listen on {address}; stop the process using it or choose another {flag}")
    })
}

/// Returns Cargo's target directory: `CARGO_TARGET_DIR` when set, else target/ in the
/// workspace root.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        // Cargo resolves a relative CARGO_TARGET_DIR against the working directory,
        // and `join` keeps an absolute one unchanged.
        Some(dir) => std::env::current_dir()
            .unwrap_or_else(|_| root.to_path_buf())
            .join(dir),
        None => root.join("target"),
    }
}

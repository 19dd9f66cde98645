//! The benchmark run: the sink process, the fan-out runs at each size, then wrk against
//! the same sink, and the table.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use clap::Args;

use crate::child::ChildProcess;
use crate::fanout::{self, FanoutOptions};
use crate::report::WrkReference;
use crate::sink::PORT_LINE_PREFIX;
use crate::wrk::{self, WrkOptions, WrkResult};
use crate::{event, report};

/// Options of the benchmark run.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Numbers of configurations (webhooks) to fan out to, one run each, separated by
    /// commas.
    #[arg(
        long,
        value_delimiter = ',',
        default_values_t = [1_000, 10_000, 20_000, 50_000]
    )]
    configurations: Vec<usize>,

    /// Runs at each number of configurations, each with a new database and backend.
    #[arg(long, default_value_t = 1)]
    runs: usize,

    /// The backend binary. Default: `connector-backend` in the directory of this binary,
    /// where a release build of the workspace puts both.
    #[arg(long)]
    backend: Option<PathBuf>,

    /// Maximum number of webhook requests that the backend has in flight at once
    /// (`--delivery-concurrency`), and wrk's connection count.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,

    /// Maximum time, in seconds, that one fan-out may take before the run fails.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,

    /// The wrk program.
    #[arg(long, default_value = "wrk")]
    wrk: String,

    /// wrk's thread count.
    #[arg(long, default_value_t = 2)]
    wrk_threads: usize,

    /// wrk's run time, in seconds.
    #[arg(long, default_value_t = 10)]
    wrk_duration_secs: u64,

    /// The wrk script that posts the card.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/wrk-post.lua"))]
    wrk_script: PathBuf,

    /// Skips the wrk comparison.
    #[arg(long)]
    skip_wrk: bool,
}

/// Runs the benchmark and prints the table. Fails on errors, not on a missed target.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if args.configurations.is_empty() || args.configurations.contains(&0) {
        bail!("--configurations needs one or more numbers above 0, such as 1000,10000");
    }
    let backend = match &args.backend {
        Some(path) => path.clone(),
        None => default_backend()?,
    };
    if !backend.is_file() {
        bail!(
            "the backend binary {} does not exist; build it with \
             `cargo build --release -p connector-backend` or pass --backend",
            backend.display()
        );
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime failed")?;
    runtime.block_on(run_all(args, &backend))
}

async fn run_all(args: &BenchArgs, backend: &Path) -> anyhow::Result<()> {
    let work_dir = tempfile::Builder::new()
        .prefix("fanout-")
        .tempdir()
        .context("creating a temporary directory failed")?;
    let (_sink, sink_port) = start_sink()?;
    let sink_origin = format!("http://127.0.0.1:{sink_port}");
    eprintln!(
        "sink listening on {sink_origin}, backend {}",
        backend.display()
    );

    let options = FanoutOptions {
        backend_binary: backend,
        sink_origin: &sink_origin,
        concurrency: args.concurrency,
        timeout: Duration::from_secs(args.timeout_secs),
    };
    // wrk runs before and after the fan-outs, because the machine's speed drifts.
    let wrk_before = run_wrk(args, &sink_origin, work_dir.path(), "before")?;
    let mut results = Vec::new();
    for &configurations in &args.configurations {
        for run in 1..=args.runs {
            let label = format!("{configurations}-{run}");
            let result = fanout::run(&options, configurations, &label, work_dir.path()).await?;
            eprintln!(
                "fan-out to {configurations} webhooks, run {run} of {}: {:.0} deliveries/s",
                args.runs,
                result.deliveries_per_second()
            );
            results.push(result);
        }
    }
    let wrk_after = run_wrk(args, &sink_origin, work_dir.path(), "after")?;
    let wrk_reference = wrk_before
        .zip(wrk_after)
        .map(|(before, after)| WrkReference { before, after });

    println!(
        "\nBackend concurrency {}, wrk {} threads, {} connections, {} s.\n",
        args.concurrency, args.wrk_threads, args.concurrency, args.wrk_duration_secs
    );
    print!("{}", report::render(&results, wrk_reference.as_ref()));
    Ok(())
}

/// Runs wrk against the sink with the backend's card, unless `--skip-wrk` is given.
/// `when` names the run in the progress line.
fn run_wrk(
    args: &BenchArgs,
    sink_origin: &str,
    work_dir: &Path,
    when: &str,
) -> anyhow::Result<Option<WrkResult>> {
    if args.skip_wrk {
        return Ok(None);
    }

    let body_file = work_dir.join("card.json");
    std::fs::write(&body_file, event::card_body()?)
        .with_context(|| format!("writing {} failed", body_file.display()))?;
    let url = format!("{sink_origin}/webhooks/0");
    let result = wrk::run(&WrkOptions {
        program: &args.wrk,
        script: &args.wrk_script,
        body_file: &body_file,
        url: &url,
        threads: args.wrk_threads,
        connections: args.concurrency,
        duration: Duration::from_secs(args.wrk_duration_secs),
    })?;
    eprintln!(
        "wrk {when} the fan-outs: {:.0} requests/s",
        result.requests_per_second
    );
    Ok(Some(result))
}

/// Starts this binary's `sink` subcommand and returns it with its port.
fn start_sink() -> anyhow::Result<(ChildProcess, u16)> {
    let exe = std::env::current_exe().context("finding the fanout binary failed")?;
    let mut command = Command::new(exe);
    command
        .arg("sink")
        // The sink stops when this pipe closes, even if this process is killed.
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut sink = ChildProcess::spawn("sink", &mut command)?;

    let stdout = sink
        .child_mut()
        .stdout
        .take()
        .ok_or_else(|| anyhow!("the sink's standard output is not captured"))?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the sink's port failed")?;
    let port = line
        .trim()
        .strip_prefix(PORT_LINE_PREFIX)
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| anyhow!("the sink printed {line:?} instead of its port"))?;
    Ok((sink, port))
}

fn default_backend() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the fanout binary failed")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("the fanout binary {} has no directory", exe.display()))?;
    Ok(dir.join("connector-backend"))
}

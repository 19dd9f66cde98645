//! `fanout store-cycles`: the database work of a fan-out without any HTTP. It runs the
//! worker's store cycles against a new database, each recording the previous claim as
//! delivered and claiming the next batch, and reports the time per delivery.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use connector_backend::TEAMS_RATE_WINDOWS;
use connector_backend::delivery::RateLimits;
use connector_backend::delivery::claim::ClaimRequest;
use connector_backend::delivery::outbox::{OutcomeRecord, unix_millis};
use connector_backend::store::Store;

use crate::database;
use crate::event::task_event;

#[derive(Args)]
pub struct StoreCyclesArgs {
    /// Number of configurations, and so of deliveries of the one event
    #[arg(long, default_value_t = 20_000)]
    configurations: usize,
    /// Deliveries claimed per cycle
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// Runs, each with a new database
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

/// Runs the store cycles `args.runs` times and prints a line per run.
pub fn run(args: &StoreCyclesArgs) -> anyhow::Result<()> {
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime failed")?;
    let work_dir = tempfile::Builder::new()
        .prefix("store-cycles-")
        .tempdir()
        .context("creating a temporary directory failed")?;

    println!("| configurations | batch | cycles | time (ms) | µs per delivery |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for run in 1..=args.runs {
        let path = work_dir.path().join(format!("store-cycles-{run}.sqlite3"));
        let (cycles, elapsed) = runtime.block_on(run_once(&path, args))?;
        let per_delivery = elapsed.as_secs_f64() * 1e6 / args.configurations as f64;
        println!(
            "| {} | {} | {cycles} | {:.1} | {per_delivery:.2} |",
            args.configurations,
            args.batch,
            elapsed.as_secs_f64() * 1e3,
        );
    }
    Ok(())
}

/// Fans one event out to a new database's configurations and times the cycles that
/// claim and record all its deliveries.
async fn run_once(path: &Path, args: &StoreCyclesArgs) -> anyhow::Result<(usize, Duration)> {
    // The URLs are only stored: nothing is sent.
    database::create(path, args.configurations, "http://127.0.0.1:9")?;
    let store = Store::open(path).await?;
    store.insert_event(task_event()).await?;
    let limits = Arc::new(RateLimits::new(&TEAMS_RATE_WINDOWS));

    let started = Instant::now();
    let mut outcomes: Vec<OutcomeRecord> = Vec::new();
    let mut claimed = 0;
    let mut cycles = 0;
    loop {
        let request = ClaimRequest {
            now_ms: unix_millis()?,
            limit: args.batch,
            // The previous claim's deliveries are recorded in the same transaction
            // before this claim, so none is in progress.
            in_progress: Arc::new([]),
            limits: Arc::clone(&limits),
        };
        let claim = store
            .record_and_claim(std::mem::take(&mut outcomes).into(), Some(request))
            .await?;
        cycles += 1;
        if claim.due.is_empty() {
            break;
        }
        claimed += claim.due.len();
        outcomes = claim
            .due
            .iter()
            .map(|delivery| OutcomeRecord::Delivered { id: delivery.id })
            .collect();
    }
    let elapsed = started.elapsed();

    if claimed != args.configurations {
        bail!(
            "the cycles claimed {claimed} deliveries instead of {}",
            args.configurations
        );
    }
    Ok((cycles, elapsed))
}

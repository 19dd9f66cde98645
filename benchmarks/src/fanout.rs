//! One fan-out run: a new database with `configurations` webhooks, a new backend
//! process, one posted `created` event, and polling until every delivery is recorded.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::backend::{Backend, BackendOptions};
use crate::database;
use crate::event;
use crate::proc_stats;

/// Interval between two counts of the unsent deliveries. The end time comes from the
/// deliveries' `updated_at`, so the interval does not limit the precision.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Settings shared by every fan-out run.
pub struct FanoutOptions<'a> {
    pub backend_binary: &'a Path,
    pub sink_origin: &'a str,
    pub concurrency: usize,
    pub timeout: Duration,
}

/// Measurements of one fan-out run.
#[derive(Debug, Clone)]
pub struct FanoutResult {
    pub configurations: usize,
    /// Time from the `202` to the `updated_at` of the last delivery.
    pub wall_time: Duration,
    /// Time of the `POST /api/events` request, which writes the deliveries.
    pub accept_time: Duration,
    /// Backend CPU time (user plus system) from before the event to the end.
    pub backend_cpu: Duration,
    /// Resident set size of the idle backend before the event, in KiB.
    pub idle_rss_kib: u64,
    /// Peak resident set size of the backend (`VmHWM`) at the end, in KiB.
    pub peak_rss_kib: u64,
}

impl FanoutResult {
    pub fn deliveries_per_second(&self) -> f64 {
        self.configurations as f64 / self.wall_time.as_secs_f64()
    }
}

/// Runs one fan-out to `configurations` webhooks, with its files in `work_dir` named
/// after `label`, which must differ between runs.
pub async fn run(
    options: &FanoutOptions<'_>,
    configurations: usize,
    label: &str,
    work_dir: &Path,
) -> anyhow::Result<FanoutResult> {
    let database_path = work_dir.join(format!("fanout-{label}.sqlite3"));
    database::create(&database_path, configurations, options.sink_origin)?;

    let events_api_key = uuid::Uuid::new_v4().simple().to_string();
    let mut backend = Backend::start(&BackendOptions {
        binary: options.backend_binary,
        database: &database_path,
        log: work_dir.join(format!("backend-{label}.log")),
        sink_origin: options.sink_origin,
        concurrency: options.concurrency,
        events_api_key: &events_api_key,
    })
    .await?;

    let measured = measure(&mut backend, options, configurations, &database_path).await;
    measured.map_err(|error| {
        let log_tail = backend.log_tail();
        error.context(format!(
            "the fan-out to {configurations} webhooks failed; the backend log ends with:\n{log_tail}"
        ))
    })
}

async fn measure(
    backend: &mut Backend,
    options: &FanoutOptions<'_>,
    configurations: usize,
    database_path: &Path,
) -> anyhow::Result<FanoutResult> {
    let pid = backend.pid();
    let idle_rss_kib = proc_stats::status_kib(pid, "VmRSS")?;
    let cpu_before = proc_stats::cpu_ticks(pid)?;

    let accepted = backend.post_event(&event::request_body()).await?;
    if accepted.deliveries != configurations as u64 {
        bail!(
            "the backend queued {} deliveries for {configurations} configurations",
            accepted.deliveries
        );
    }

    let polling = database::open_read_only(database_path)?;
    let start = Instant::now();
    loop {
        backend.ensure_running()?;
        if database::unsent_count(&polling)? == 0 {
            break;
        }
        if start.elapsed() > options.timeout {
            bail!(
                "deliveries were still unsent after {} s",
                options.timeout.as_secs()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }

    let peak_rss_kib = proc_stats::status_kib(pid, "VmHWM")?;
    let cpu_after = proc_stats::cpu_ticks(pid)?;
    let outcome = database::event_outcome(&polling, &accepted.event_id)?;
    if outcome.delivered != configurations as u64 {
        bail!(
            "{} of {configurations} deliveries were delivered, {} failed and {} are unsent",
            outcome.delivered,
            outcome.failed,
            outcome.unsent
        );
    }
    let last_update = outcome
        .last_update
        .context("the delivered deliveries have no updated_at")?;
    let last_update = parse_timestamp(&last_update)?;
    // A delivery may be written before the 202 arrives, but not all of them.
    let wall_time = last_update
        .duration_since(accepted.accepted_at)
        .unwrap_or_default();
    if wall_time.is_zero() {
        bail!("the last delivery was recorded before the event's 202 arrived");
    }

    let ticks_per_second = proc_stats::ticks_per_second();
    let cpu_ticks = cpu_after.saturating_sub(cpu_before);
    Ok(FanoutResult {
        configurations,
        wall_time,
        accept_time: accepted.request_time,
        backend_cpu: Duration::from_secs_f64(cpu_ticks as f64 / ticks_per_second as f64),
        idle_rss_kib,
        peak_rss_kib,
    })
}

fn parse_timestamp(text: &str) -> anyhow::Result<SystemTime> {
    let time = OffsetDateTime::parse(text, &Rfc3339)
        .with_context(|| format!("the stored timestamp {text:?} is not RFC 3339"))?;
    Ok(time.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_timestamp_parses_to_system_time() {
        let time = parse_timestamp("1970-01-01T00:00:01.250Z").unwrap();

        assert_eq!(
            time.duration_since(SystemTime::UNIX_EPOCH).unwrap(),
            Duration::from_millis(1_250)
        );
    }

    #[test]
    fn rate_is_configurations_per_second() {
        let result = FanoutResult {
            configurations: 10_000,
            wall_time: Duration::from_secs(2),
            accept_time: Duration::ZERO,
            backend_cpu: Duration::ZERO,
            idle_rss_kib: 0,
            peak_rss_kib: 0,
        };

        assert_eq!(result.deliveries_per_second(), 5_000.0);
    }
}

//! The results table, in Markdown so that it can be copied into docs/benchmarks.md, and
//! the comparison with the throughput targets.

use crate::fanout::FanoutResult;
use crate::wrk::WrkResult;

/// Deliveries per second that the backend must reach at the reference size.
pub const TARGET_RATE: f64 = 5_000.0;

/// Fraction of wrk's rate that the backend must reach.
pub const TARGET_SHARE_OF_WRK: f64 = 0.5;

/// Number of configurations that the targets apply to.
pub const REFERENCE_CONFIGURATIONS: usize = 10_000;

/// wrk's runs before and after the fan-outs.
pub struct WrkReference {
    pub before: WrkResult,
    pub after: WrkResult,
}

impl WrkReference {
    /// Returns the higher of the two rates, against which the fan-outs are compared, so
    /// that a slow moment of the machine during one wrk run does not flatter them.
    pub fn requests_per_second(&self) -> f64 {
        self.before
            .requests_per_second
            .max(self.after.requests_per_second)
    }
}

/// Returns the table of the fan-out runs and wrk's rate, and the verdict on the targets.
pub fn render(results: &[FanoutResult], wrk: Option<&WrkReference>) -> String {
    let mut text = String::from(
        "| configurations | wall time (s) | deliveries/s | share of wrk | event POST (ms) \
         | backend CPU (s) | idle RSS (MiB) | peak RSS (MiB) |\n\
         | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    for result in results {
        let share = wrk.map_or("n/a".to_owned(), |wrk| {
            format!(
                "{:.0} %",
                100.0 * result.deliveries_per_second() / wrk.requests_per_second()
            )
        });
        text.push_str(&format!(
            "| {} | {:.3} | {:.0} | {share} | {:.0} | {:.2} | {:.1} | {:.1} |\n",
            result.configurations,
            result.wall_time.as_secs_f64(),
            result.deliveries_per_second(),
            result.accept_time.as_secs_f64() * 1_000.0,
            result.backend_cpu.as_secs_f64(),
            mib(result.idle_rss_kib),
            mib(result.peak_rss_kib),
        ));
    }

    match wrk {
        Some(wrk) => text.push_str(&format!(
            "\nwrk against the same sink: {:.0} requests/s before the fan-outs and {:.0} \
             after ({} and {} socket errors). The shares use the higher rate.\n",
            wrk.before.requests_per_second,
            wrk.after.requests_per_second,
            wrk.before.socket_errors,
            wrk.after.socket_errors
        )),
        None => text.push_str("\nwrk was skipped\n"),
    }
    text.push_str(&verdict(results, wrk));
    text
}

/// Compares the median run at the reference size with the targets.
fn verdict(results: &[FanoutResult], wrk: Option<&WrkReference>) -> String {
    let rates: Vec<f64> = results
        .iter()
        .filter(|result| result.configurations == REFERENCE_CONFIGURATIONS)
        .map(FanoutResult::deliveries_per_second)
        .collect();
    let Some(median) = median(rates.clone()) else {
        return format!(
            "targets: not checked, because no run had {REFERENCE_CONFIGURATIONS} configurations\n"
        );
    };

    let runs = rates.len();
    let mut text = format!(
        "target {TARGET_RATE:.0} deliveries/s at {REFERENCE_CONFIGURATIONS} configurations: \
         {} (median {median:.0}/s of {runs} runs)\n",
        met(median >= TARGET_RATE)
    );
    if let Some(wrk) = wrk {
        let needed = TARGET_SHARE_OF_WRK * wrk.requests_per_second();
        text.push_str(&format!(
            "target half of wrk's rate ({needed:.0}/s): {} (median {median:.0}/s)\n",
            met(median >= needed)
        ));
    }
    text
}

/// Returns the median of `values`: the mean of the two middle ones for an even count.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        count if count % 2 == 1 => Some(values[middle]),
        _ => Some((values[middle - 1] + values[middle]) / 2.0),
    }
}

fn met(is_met: bool) -> &'static str {
    if is_met { "met" } else { "NOT met" }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn result(configurations: usize, wall_secs: f64) -> FanoutResult {
        FanoutResult {
            configurations,
            wall_time: Duration::from_secs_f64(wall_secs),
            accept_time: Duration::from_millis(40),
            backend_cpu: Duration::from_secs(1),
            idle_rss_kib: 10 * 1024,
            peak_rss_kib: 20 * 1024,
        }
    }

    #[test]
    fn table_has_row_per_run() {
        let text = render(&[result(1_000, 0.5), result(10_000, 2.0)], None);

        assert!(text.contains("| 1000 | 0.500 | 2000 |"), "{text}");
        assert!(text.contains("| 10000 | 2.000 | 5000 |"), "{text}");
        assert!(text.contains("| 20.0 |"), "{text}");
    }

    fn wrk(before: f64, after: f64) -> WrkReference {
        let result = |requests_per_second| WrkResult {
            requests_per_second,
            socket_errors: 0,
        };
        WrkReference {
            before: result(before),
            after: result(after),
        }
    }

    #[test]
    fn verdict_compares_with_faster_wrk_run() {
        let text = render(&[result(10_000, 2.0)], Some(&wrk(12_000.0, 9_000.0)));

        assert!(
            text.contains("5000 deliveries/s at 10000 configurations: met"),
            "{text}"
        );
        assert!(
            text.contains("half of wrk's rate (6000/s): NOT met"),
            "{text}"
        );
        assert!(text.contains("| 42 % |"), "{text}");
    }

    #[test]
    fn verdict_uses_median_run() {
        // 4,000, 5,000 and 10,000 deliveries/s: the best run alone would meet both.
        let runs = [
            result(10_000, 2.5),
            result(10_000, 2.0),
            result(10_000, 1.0),
        ];

        let text = render(&runs, Some(&wrk(16_000.0, 16_000.0)));

        assert!(text.contains("(median 5000/s of 3 runs)"), "{text}");
        assert!(
            text.contains("half of wrk's rate (8000/s): NOT met"),
            "{text}"
        );
    }

    #[test]
    fn median_of_even_count_is_mean_of_middle() {
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn verdict_needs_reference_size() {
        let text = render(&[result(1_000, 0.5)], None);

        assert!(text.contains("not checked"), "{text}");
    }
}

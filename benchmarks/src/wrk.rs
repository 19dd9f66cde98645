//! The plain HTTP load generator: wrk posting the same card to the same sink, as the
//! rate that the sink and the loopback interface allow on this machine.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};

/// Options for running wrk.
pub struct WrkOptions<'a> {
    pub program: &'a str,
    pub script: &'a Path,
    pub body_file: &'a Path,
    pub url: &'a str,
    pub threads: usize,
    pub connections: usize,
    pub duration: Duration,
}

/// wrk's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct WrkResult {
    pub requests_per_second: f64,
    /// Socket errors (connect, read, write and timeout) that wrk counted.
    pub socket_errors: u64,
}

/// Runs wrk and reads its summary. Fails when wrk fails or when the sink responded to
/// any request with a status other than 2xx or 3xx.
pub fn run(options: &WrkOptions<'_>) -> anyhow::Result<WrkResult> {
    let mut command = Command::new(options.program);
    command
        .arg("--threads")
        .arg(options.threads.to_string())
        .arg("--connections")
        .arg(options.connections.to_string())
        .arg("--duration")
        .arg(format!("{}s", options.duration.as_secs().max(1)))
        .arg("--script")
        .arg(options.script)
        .arg(options.url)
        .arg("--")
        .arg(options.body_file);

    let output = command.output().map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            anyhow!(
                "`{}` was not found; install wrk (Debian: `apt-get install wrk`), which \
                 `cargo xtask bench` does",
                options.program
            )
        } else {
            anyhow!("starting `{}` failed: {error}", options.program)
        }
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "wrk failed with {}: {}{}",
            output.status,
            stdout.trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }

    let summary = parse_summary(&stdout).with_context(|| format!("wrk printed:\n{stdout}"))?;
    if let Some(non_success) = parse_non_success(&stdout)? {
        bail!("the sink responded to {non_success} of wrk's requests with an error status");
    }
    Ok(summary)
}

/// Reads `Requests/sec:` and the optional `Socket errors:` line of wrk's output.
fn parse_summary(output: &str) -> anyhow::Result<WrkResult> {
    let rate = output
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .ok_or_else(|| anyhow!("wrk's output has no Requests/sec line"))?;
    let requests_per_second = rate
        .trim()
        .parse()
        .with_context(|| format!("wrk's Requests/sec is not a number: {rate:?}"))?;

    let mut socket_errors = 0;
    if let Some(errors) = output
        .lines()
        .find_map(|line| line.trim().strip_prefix("Socket errors:"))
    {
        // The form is "connect 0, read 0, write 0, timeout 0".
        for part in errors.split(',') {
            let count = part.split_whitespace().nth(1).unwrap_or("0");
            socket_errors += count
                .parse::<u64>()
                .with_context(|| format!("wrk's socket error count is not a number: {part:?}"))?;
        }
    }

    Ok(WrkResult {
        requests_per_second,
        socket_errors,
    })
}

/// Reads the `Non-2xx or 3xx responses:` count, which wrk prints only when it is not 0.
fn parse_non_success(output: &str) -> anyhow::Result<Option<u64>> {
    let Some(count) = output
        .lines()
        .find_map(|line| line.trim().strip_prefix("Non-2xx or 3xx responses:"))
    else {
        return Ok(None);
    };
    let count = count
        .trim()
        .parse()
        .with_context(|| format!("wrk's non-2xx count is not a number: {count:?}"))?;
    Ok(Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "Running 10s test @ http://127.0.0.1:4000/webhooks/1
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.10ms  512.00us  12.00ms   80.00%
    Req/Sec    29.50k     2.10k   33.00k    70.00%
  587123 requests in 10.00s, 45.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  58712.30
Transfer/sec:      4.51MB
";

    #[test]
    fn summary_rate_and_errors_are_read() {
        let summary = parse_summary(OUTPUT).unwrap();

        assert_eq!(summary.requests_per_second, 58_712.30);
        assert_eq!(summary.socket_errors, 3);
    }

    #[test]
    fn summary_without_rate_is_error() {
        let error = parse_summary("unable to connect").unwrap_err();

        assert!(error.to_string().contains("Requests/sec"), "{error}");
    }

    #[test]
    fn non_success_count_is_read() {
        let output = format!("{OUTPUT}  Non-2xx or 3xx responses: 17\n");

        assert_eq!(parse_non_success(&output).unwrap(), Some(17));
        assert_eq!(parse_non_success(OUTPUT).unwrap(), None);
    }
}

//! Memory and CPU time of a process, read from Linux's /proc.

use std::fs;
use std::process::Command;

use anyhow::{Context as _, anyhow};

/// Reads a `kB` field of /proc/<pid>/status, such as `VmHWM` (peak resident set size)
/// or `VmRSS` (current resident set size), in KiB.
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = fs::read_to_string(&path).with_context(|| format!("reading {path} failed"))?;
    let prefix = format!("{field}:");

    let line = status
        .lines()
        .find(|line| line.starts_with(&prefix))
        .ok_or_else(|| anyhow!("{path} has no {field} line"))?;
    let value = line[prefix.len()..].trim().trim_end_matches("kB").trim();
    value
        .parse()
        .with_context(|| format!("{field} in {path} is not a number: {value:?}"))
}

/// Returns the user plus system CPU time that the process has used, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).with_context(|| format!("reading {path} failed"))?;

    // The command name in brackets may contain spaces, so the fields are counted from
    // the closing bracket: state is field 3, utime field 14 and stime field 15.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("{path} has no closing bracket after the command name"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| -> anyhow::Result<u64> {
        fields
            .get(index)
            .ok_or_else(|| anyhow!("{path} has fewer fields than expected"))?
            .parse()
            .with_context(|| format!("a CPU time field in {path} is not a number"))
    };
    Ok(field(11)? + field(12)?)
}

/// Returns the clock ticks per second of /proc times, from `getconf CLK_TCK`, or 100
/// (the value on Linux x86-64 and arm64) when getconf fails.
pub fn ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_peak_memory_is_read() {
        let peak = status_kib(std::process::id(), "VmHWM").unwrap();

        assert!(peak > 0);
    }

    #[test]
    fn missing_status_field_is_error() {
        let error = status_kib(std::process::id(), "NoSuchField").unwrap_err();

        assert!(error.to_string().contains("NoSuchField"), "{error}");
    }

    #[test]
    fn own_cpu_time_is_read() {
        // Spin briefly so that at least one tick has been counted.
        let start = std::time::Instant::now();
        let mut counter = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(30) {
            counter = counter.wrapping_add(1);
        }

        let ticks = cpu_ticks(std::process::id()).unwrap();

        assert!(counter > 0);
        assert!(ticks > 0);
    }
}

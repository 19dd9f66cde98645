//! Retry delays: exponential backoff with full jitter.

use std::time::Duration;

/// Returns a random delay between zero and `base × 2^(failures − 1)`, capped at `cap`.
/// `failures` counts the failed attempts so far, starting at 1.
///
/// Full jitter spreads the retries of many deliveries that failed at the same moment,
/// such as a fan-out to a webhook host that was down.
pub fn full_jitter(
    failures: u32,
    base: Duration,
    cap: Duration,
    random: &mut fastrand::Rng,
) -> Duration {
    let ceiling = exponential(failures, base, cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(random.u64(0..=nanos))
}

/// Returns `base × 2^(failures − 1)`, capped at `cap`.
pub fn exponential(failures: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = failures.saturating_sub(1).min(31);
    base.saturating_mul(1 << exponent).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(1);
    const CAP: Duration = Duration::from_secs(300);

    #[test]
    fn exponential_doubles_until_cap() {
        let delays: Vec<u64> = (1..=11)
            .map(|failures| exponential(failures, BASE, CAP).as_secs())
            .collect();

        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(exponential(u32::MAX, BASE, CAP), CAP);
    }

    #[test]
    fn jitter_stays_below_ceiling() {
        let mut random = fastrand::Rng::with_seed(3);

        for failures in 1..=12 {
            let ceiling = exponential(failures, BASE, CAP);
            for _ in 0..100 {
                let delay = full_jitter(failures, BASE, CAP, &mut random);

                assert!(delay <= ceiling, "{delay:?} > {ceiling:?}");
            }
        }
    }

    #[test]
    fn jitter_varies() {
        let mut random = fastrand::Rng::with_seed(5);

        let delays: Vec<Duration> = (0..20)
            .map(|_| full_jitter(5, BASE, CAP, &mut random))
            .collect();

        assert!(delays.iter().any(|delay| *delay != delays[0]));
    }
}

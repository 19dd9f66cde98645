//! Per-webhook rate limiter with several sliding windows enforced together.
//!
//! Every method takes the current time as an argument, so tests can drive the limiter
//! with a simulated clock.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher as _;
use std::time::{Duration, Instant};

/// At most `max_requests` requests in any window of length `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    pub window: Duration,
    pub max_requests: usize,
}

impl RateWindow {
    pub const fn new(window: Duration, max_requests: usize) -> Self {
        Self {
            window,
            max_requests,
        }
    }
}

/// Limits of one Teams incoming webhook: 4 requests a second, 60 in 30 seconds, 100 an
/// hour, 150 in two hours and 1,800 a day.
pub const TEAMS_RATE_WINDOWS: [RateWindow; 5] = [
    RateWindow::new(Duration::from_secs(1), 4),
    RateWindow::new(Duration::from_secs(30), 60),
    RateWindow::new(Duration::from_secs(60 * 60), 100),
    RateWindow::new(Duration::from_secs(2 * 60 * 60), 150),
    RateWindow::new(Duration::from_secs(24 * 60 * 60), 1_800),
];

/// Times of the requests admitted for one webhook, oldest first, and a pause that Teams
/// imposed by throttling.
#[derive(Debug, Default)]
struct WebhookHistory {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
}

/// Rate limiter keyed by webhook. A request is admitted only when every window has room,
/// and an admitted request counts in every window from then on.
///
/// Histories are keyed by a 64-bit SipHash of the webhook URL with a random key rather
/// than by the URL, so that the limiter stores no secret and about 100 bytes less per
/// webhook. Two URLs with the same hash would share one history, which only makes the
/// limit stricter, and with a random 64-bit key that is not expected below billions of
/// webhooks.
///
/// TODO: load the recent attempts from the database at start, because the history
/// starts empty after a restart and the worker may then send more than a window allows.
#[derive(Debug)]
pub struct RateLimiter {
    windows: Vec<RateWindow>,
    longest_window: Duration,
    key_hasher: RandomState,
    histories: HashMap<u64, WebhookHistory>,
}

impl RateLimiter {
    /// Creates a limiter that enforces all `windows` at once. Windows with a zero limit
    /// are ignored.
    pub fn new(windows: &[RateWindow]) -> Self {
        let windows: Vec<RateWindow> = windows
            .iter()
            .copied()
            .filter(|window| window.max_requests > 0)
            .collect();
        let longest_window = windows
            .iter()
            .map(|window| window.window)
            .max()
            .unwrap_or_default();

        Self {
            windows,
            longest_window,
            key_hasher: RandomState::new(),
            histories: HashMap::new(),
        }
    }

    /// Admits a request to the webhook `key` at `now` and records it, or returns how long
    /// to wait until every window has room again.
    pub fn try_acquire(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        let history = self
            .histories
            .entry(self.key_hasher.hash_one(key))
            .or_default();
        forget_older_than(history, now, self.longest_window);

        let mut wait = Duration::ZERO;
        if let Some(paused_until) = history.paused_until {
            if paused_until > now {
                wait = paused_until - now;
            } else {
                history.paused_until = None;
            }
        }
        for window in &self.windows {
            wait = wait.max(wait_for_window(&history.sent, *window, now));
        }

        if wait > Duration::ZERO {
            return Err(wait);
        }
        history.sent.push_back(now);
        Ok(())
    }

    /// Admits nothing to the webhook `key` before `until`, after Teams throttled it.
    pub fn pause(&mut self, key: &str, until: Instant) {
        let history = self
            .histories
            .entry(self.key_hasher.hash_one(key))
            .or_default();
        history.paused_until = Some(history.paused_until.map_or(until, |old| old.max(until)));
    }

    /// Drops the histories that no longer affect any decision, so that memory stays
    /// bounded by the webhooks used within the longest window.
    pub fn forget_idle(&mut self, now: Instant) {
        let longest_window = self.longest_window;
        self.histories.retain(|_, history| {
            forget_older_than(history, now, longest_window);
            !history.sent.is_empty() || history.paused_until.is_some_and(|until| until > now)
        });
    }
}

/// Removes the requests that fall outside the longest window.
fn forget_older_than(history: &mut WebhookHistory, now: Instant, longest_window: Duration) {
    while history
        .sent
        .front()
        .is_some_and(|sent| now.duration_since(*sent) >= longest_window)
    {
        history.sent.pop_front();
    }
}

/// Returns how long to wait until `window` admits one more request, or zero when it has
/// room. A request sent at `t` counts in the window until `t + window`.
fn wait_for_window(sent: &VecDeque<Instant>, window: RateWindow, now: Instant) -> Duration {
    // `sent` is sorted, so the requests inside the window form its tail.
    let first_inside = sent.partition_point(|time| now.duration_since(*time) >= window.window);
    let inside = sent.len() - first_inside;
    if inside < window.max_requests {
        return Duration::ZERO;
    }

    // The window has room again once enough of its oldest requests have left it.
    let must_leave = inside - window.max_requests;
    let leaving = sent[first_inside + must_leave];
    (leaving + window.window).saturating_duration_since(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn admits_up_to_limit_then_waits() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(&[RateWindow::new(millis(1_000), 2)]);

        assert_eq!(limiter.try_acquire("a", start), Ok(()));
        assert_eq!(limiter.try_acquire("a", start + millis(100)), Ok(()));
        assert_eq!(
            limiter.try_acquire("a", start + millis(200)),
            Err(millis(800))
        );
        assert_eq!(limiter.try_acquire("a", start + millis(1_000)), Ok(()));
    }

    #[test]
    fn webhooks_have_separate_limits() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(&[RateWindow::new(millis(1_000), 1)]);

        assert_eq!(limiter.try_acquire("a", start), Ok(()));
        assert!(limiter.try_acquire("a", start).is_err());
        assert_eq!(limiter.try_acquire("b", start), Ok(()));
    }

    #[test]
    fn longest_wait_of_all_windows_wins() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(&[
            RateWindow::new(millis(1_000), 2),
            RateWindow::new(millis(10_000), 3),
        ]);
        for offset in [0, 1_000, 2_000] {
            assert_eq!(limiter.try_acquire("a", start + millis(offset)), Ok(()));
        }

        let wait = limiter.try_acquire("a", start + millis(3_000));

        assert_eq!(wait, Err(millis(7_000)));
    }

    #[test]
    fn pause_blocks_until_given_time() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(&TEAMS_RATE_WINDOWS);

        limiter.pause("a", start + millis(500));

        assert_eq!(limiter.try_acquire("a", start), Err(millis(500)));
        assert_eq!(limiter.try_acquire("b", start), Ok(()));
        assert_eq!(limiter.try_acquire("a", start + millis(500)), Ok(()));
    }

    #[test]
    fn forget_idle_drops_old_histories() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(&[RateWindow::new(millis(1_000), 1)]);
        limiter.try_acquire("a", start).unwrap();

        limiter.forget_idle(start + millis(999));
        assert_eq!(limiter.histories.len(), 1);
        limiter.forget_idle(start + millis(1_000));
        assert_eq!(limiter.histories.len(), 0);
    }

    /// Counts, for each admitted request, the admitted requests in the window that ends
    /// with it, and returns the largest count.
    fn max_in_any_window(admitted: &[Instant], window: Duration) -> usize {
        let mut first = 0;
        let mut max = 0;
        for (index, end) in admitted.iter().enumerate() {
            while end.duration_since(admitted[first]) >= window {
                first += 1;
            }
            max = max.max(index + 1 - first);
        }
        max
    }

    #[test]
    fn never_exceeds_any_window_over_long_run() {
        // The Teams windows scaled down 60 times keep their proportions while the
        // simulation stays short enough to check every window exhaustively.
        let windows: Vec<RateWindow> = TEAMS_RATE_WINDOWS
            .iter()
            .map(|window| RateWindow::new(window.window / 60, window.max_requests))
            .collect();
        let mut limiter = RateLimiter::new(&windows);
        let mut random = fastrand::Rng::with_seed(7);
        let start = Instant::now();
        let mut now = start;
        let mut admitted = Vec::new();

        // Bursts and pauses of random length over two simulated (scaled) days.
        while now.duration_since(start) < windows[4].window * 2 {
            let step = if random.u8(..10) == 0 {
                millis(random.u64(0..20_000))
            } else {
                millis(random.u64(0..40))
            };
            now += step;
            if limiter.try_acquire("hook", now).is_ok() {
                admitted.push(now);
            }
            if random.u8(..100) == 0 {
                limiter.forget_idle(now);
            }
        }

        assert!(admitted.len() > 1_800, "{} admitted", admitted.len());
        for window in &windows {
            let max = max_in_any_window(&admitted, window.window);
            assert!(
                max <= window.max_requests,
                "{max} requests in {:?}, limit {}",
                window.window,
                window.max_requests
            );
        }
    }

    #[test]
    fn reported_wait_is_exact() {
        // After waiting the reported time the request is admitted, and a moment earlier
        // it would not have been.
        let windows = [
            RateWindow::new(millis(100), 3),
            RateWindow::new(millis(1_000), 5),
        ];
        let mut limiter = RateLimiter::new(&windows);
        let mut random = fastrand::Rng::with_seed(11);
        let mut now = Instant::now();

        for _ in 0..500 {
            now += millis(random.u64(0..50));
            if let Err(wait) = limiter.try_acquire("hook", now) {
                assert!(wait > Duration::ZERO);
                assert!(
                    limiter
                        .try_acquire("hook", now + wait - Duration::from_nanos(1))
                        .is_err()
                );
                now += wait;
                assert_eq!(limiter.try_acquire("hook", now), Ok(()));
            }
        }
    }
}

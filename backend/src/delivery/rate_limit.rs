//! Per-webhook rate limits: several sliding windows enforced together over a webhook's
//! send history.
//!
//! The rules here are pure. The outbox stores each history in the database, so the
//! limits hold across restarts and the worker keeps no memory per webhook. Times are
//! Unix milliseconds, the unit of the outbox's `next_attempt_at`.

use std::time::Duration;

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

    fn window_millis(self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX)
    }

    /// Returns whether every window of this length contains at most `max_requests`
    /// requests whenever every window of `other` contains at most `other.max_requests`.
    ///
    /// A window of length `w` is covered by `k = ceil(w / other.window)` consecutive
    /// windows of `other`, which together admit at most `k * other.max_requests`.
    fn is_implied_by(self, other: RateWindow) -> bool {
        let other_millis = other.window.as_millis();
        if other_millis == 0 {
            return false;
        }
        let covering = self.window.as_millis().div_ceil(other_millis);
        let covered_max = covering.saturating_mul(other.max_requests as u128);
        self.max_requests as u128 >= covered_max
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

/// The windows that every webhook must stay within. A request is admitted only when
/// every window has room, and an admitted request counts in every window from then on.
///
/// Windows that another window implies are dropped, so that a history only needs the
/// requests of the longest remaining window. Teams' day (1,800) is implied by its two
/// hours (12 × 150), so a Teams webhook's history contains at most 150 times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    windows: Vec<RateWindow>,
    longest_window_ms: i64,
}

impl RateLimits {
    /// Creates the limits of `windows`. Windows with a zero limit are ignored.
    pub fn new(windows: &[RateWindow]) -> Self {
        let candidates: Vec<RateWindow> = windows
            .iter()
            .copied()
            .filter(|window| window.max_requests > 0 && !window.window.is_zero())
            .collect();

        // Implication is transitive, so a window dropped because a kept window implies
        // it stays implied by the windows that are finally kept. Of two equal windows,
        // the first is dropped and the second kept.
        let mut is_kept = vec![true; candidates.len()];
        for (index, window) in candidates.iter().enumerate() {
            is_kept[index] = !candidates.iter().enumerate().any(|(other_index, other)| {
                other_index != index && is_kept[other_index] && window.is_implied_by(*other)
            });
        }
        let windows: Vec<RateWindow> = candidates
            .into_iter()
            .zip(is_kept)
            .filter_map(|(window, is_kept)| is_kept.then_some(window))
            .collect();
        let longest_window_ms = windows
            .iter()
            .map(|window| window.window_millis())
            .max()
            .unwrap_or(0);

        Self {
            windows,
            longest_window_ms,
        }
    }

    /// Creates the limits of `windows` for requests that start up to `delay` after they
    /// are admitted: each window is enforced `delay` longer than its length.
    ///
    /// The requests inside any window of the original length were all admitted within a
    /// window that is longer by the delay, so they stay within the limit.
    pub fn with_start_delay(windows: &[RateWindow], delay: Duration) -> Self {
        let widened: Vec<RateWindow> = windows
            .iter()
            .map(|window| RateWindow::new(window.window + delay, window.max_requests))
            .collect();
        Self::new(&widened)
    }

    /// Returns the windows enforced, without the implied ones.
    pub fn windows(&self) -> &[RateWindow] {
        &self.windows
    }

    /// Admits a request at `now_ms` and records it in `history`, or returns how long to
    /// wait until the pause has ended and every window has room again.
    pub fn try_admit(&self, history: &mut SendHistory, now_ms: i64) -> Result<(), Duration> {
        history.forget_older_than(now_ms.saturating_sub(self.longest_window_ms));

        let mut wait_ms = 0;
        if let Some(paused_until) = history.paused_until {
            if paused_until > now_ms {
                wait_ms = paused_until - now_ms;
            } else {
                history.paused_until = None;
            }
        }
        for window in &self.windows {
            wait_ms = wait_ms.max(wait_for_window(&history.sent, *window, now_ms));
        }

        if wait_ms > 0 {
            return Err(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)));
        }
        if self.windows.is_empty() {
            return Ok(());
        }
        // A clock that stepped back records the latest time again, which keeps the
        // history sorted and can only make the limits stricter.
        let recorded = history.sent.last().map_or(now_ms, |last| now_ms.max(*last));
        history.sent.push(recorded);
        Ok(())
    }
}

/// Returns how many milliseconds to wait until `window` admits one more request, or 0
/// when it has room. A request sent at `t` counts in the window until `t + window`.
fn wait_for_window(sent: &[i64], window: RateWindow, now_ms: i64) -> i64 {
    let window_ms = window.window_millis();
    // `sent` is sorted, so the requests inside the window form its tail.
    let first_inside = sent.partition_point(|time| now_ms.saturating_sub(*time) >= window_ms);
    let inside = sent.len() - first_inside;
    if inside < window.max_requests {
        return 0;
    }

    // The window has room again once enough of its oldest requests have left it.
    let must_leave = inside - window.max_requests;
    let leaving = sent[first_inside + must_leave];
    leaving
        .saturating_add(window_ms)
        .saturating_sub(now_ms)
        .max(0)
}

/// Requests admitted for one webhook, oldest first, and a pause that Teams imposed by
/// throttling. Times are Unix milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendHistory {
    sent: Vec<i64>,
    paused_until: Option<i64>,
}

/// Error raised when a stored send history is not a whole number of 8-byte times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored send history has {0} bytes, which is not a multiple of 8")]
pub struct InvalidSendHistory(pub usize);

/// Bytes of one stored time: a little-endian `i64`.
const STORED_TIME_BYTES: usize = 8;

impl SendHistory {
    /// Reads a history stored by [`SendHistory::sent_bytes`]. Times out of order are
    /// sorted, so a hand-edited row cannot break the window search.
    pub fn from_stored(sent: &[u8], paused_until: Option<i64>) -> Result<Self, InvalidSendHistory> {
        if !sent.len().is_multiple_of(STORED_TIME_BYTES) {
            return Err(InvalidSendHistory(sent.len()));
        }
        let mut times: Vec<i64> = sent
            .chunks_exact(STORED_TIME_BYTES)
            .map(|bytes| {
                let mut time = [0; STORED_TIME_BYTES];
                time.copy_from_slice(bytes);
                i64::from_le_bytes(time)
            })
            .collect();
        if !times.is_sorted() {
            times.sort_unstable();
        }
        Ok(Self {
            sent: times,
            paused_until,
        })
    }

    /// Returns the admitted times as stored: little-endian `i64`s, oldest first.
    pub fn sent_bytes(&self) -> Vec<u8> {
        self.sent
            .iter()
            .flat_map(|time| time.to_le_bytes())
            .collect()
    }

    /// Returns the time of the newest admitted request.
    pub fn newest_request(&self) -> Option<i64> {
        self.sent.last().copied()
    }

    /// Removes one admitted request at `at_ms`, for a request that was given back unsent.
    /// Returns whether the history contained one.
    pub fn forget_request(&mut self, at_ms: i64) -> bool {
        match self.sent.binary_search(&at_ms) {
            Ok(index) => {
                self.sent.remove(index);
                true
            }
            Err(_) => false,
        }
    }

    /// Returns the end of the pause, if one was imposed and has not been seen to end.
    pub fn paused_until(&self) -> Option<i64> {
        self.paused_until
    }

    /// Admits nothing before `until_ms`, after Teams throttled the webhook. A later
    /// pause already in place is kept.
    pub fn pause(&mut self, until_ms: i64) {
        self.paused_until = Some(self.paused_until.map_or(until_ms, |old| old.max(until_ms)));
    }

    fn forget_older_than(&mut self, oldest_kept_ms: i64) {
        let first_kept = self.sent.partition_point(|time| *time <= oldest_kept_ms);
        self.sent.drain(..first_kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn admits_up_to_limit_then_waits() {
        let limits = RateLimits::new(&[RateWindow::new(millis(1_000), 2)]);
        let mut history = SendHistory::default();

        assert_eq!(limits.try_admit(&mut history, 0), Ok(()));
        assert_eq!(limits.try_admit(&mut history, 100), Ok(()));
        assert_eq!(limits.try_admit(&mut history, 200), Err(millis(800)));
        assert_eq!(limits.try_admit(&mut history, 1_000), Ok(()));
    }

    #[test]
    fn longest_wait_of_all_windows_wins() {
        let limits = RateLimits::new(&[
            RateWindow::new(millis(1_000), 2),
            RateWindow::new(millis(10_000), 3),
        ]);
        let mut history = SendHistory::default();
        for now in [0, 1_000, 2_000] {
            assert_eq!(limits.try_admit(&mut history, now), Ok(()));
        }

        let wait = limits.try_admit(&mut history, 3_000);

        assert_eq!(wait, Err(millis(7_000)));
    }

    #[test]
    fn pause_blocks_until_given_time() {
        let limits = RateLimits::new(&TEAMS_RATE_WINDOWS);
        let mut history = SendHistory::default();

        history.pause(500);
        history.pause(200);

        assert_eq!(limits.try_admit(&mut history, 0), Err(millis(500)));
        assert_eq!(limits.try_admit(&mut history, 500), Ok(()));
        assert_eq!(history.paused_until(), None);
    }

    #[test]
    fn teams_day_window_is_implied() {
        let limits = RateLimits::new(&TEAMS_RATE_WINDOWS);

        assert_eq!(limits.windows(), &TEAMS_RATE_WINDOWS[..4]);
    }

    #[test]
    fn implied_windows_are_dropped() {
        let second = RateWindow::new(millis(1_000), 4);
        let loose_minute = RateWindow::new(millis(60_000), 240);
        let tight_minute = RateWindow::new(millis(60_000), 239);
        let covered_by_longer = RateWindow::new(millis(500), 9);
        let narrow = RateWindow::new(millis(30_000), 2);

        assert_eq!(
            RateLimits::new(&[second, loose_minute]).windows(),
            &[second]
        );
        assert_eq!(
            RateLimits::new(&[second, tight_minute]).windows(),
            &[second, tight_minute]
        );
        assert_eq!(
            RateLimits::new(&[covered_by_longer, narrow]).windows(),
            &[narrow]
        );
        assert_eq!(RateLimits::new(&[second, second]).windows(), &[second]);
    }

    #[test]
    fn zero_limits_are_ignored() {
        let limits = RateLimits::new(&[
            RateWindow::new(millis(1_000), 0),
            RateWindow::new(Duration::ZERO, 3),
        ]);
        let mut history = SendHistory::default();

        assert!(limits.windows().is_empty());
        for _ in 0..100 {
            assert_eq!(limits.try_admit(&mut history, 0), Ok(()));
        }
        assert_eq!(history.sent_bytes(), Vec::<u8>::new());
    }

    #[test]
    fn history_keeps_only_longest_window() {
        let limits = RateLimits::new(&[RateWindow::new(millis(1_000), 10)]);
        let mut history = SendHistory::default();
        for now in [0, 400, 800, 1_200] {
            limits.try_admit(&mut history, now).unwrap();
        }

        let stored = SendHistory::from_stored(&history.sent_bytes(), None).unwrap();

        assert_eq!(stored.sent, vec![400, 800, 1_200]);
    }

    #[test]
    fn stored_history_round_trips() {
        let mut history = SendHistory::default();
        let limits = RateLimits::new(&TEAMS_RATE_WINDOWS);
        limits.try_admit(&mut history, 1_764_000_000_000).unwrap();
        history.pause(1_764_000_010_000);

        let stored = SendHistory::from_stored(&history.sent_bytes(), history.paused_until());

        assert_eq!(stored, Ok(history));
    }

    #[test]
    fn start_delay_widens_windows() {
        let limits =
            RateLimits::with_start_delay(&[RateWindow::new(millis(1_000), 4)], millis(250));

        assert_eq!(limits.windows(), &[RateWindow::new(millis(1_250), 4)]);
    }

    #[test]
    fn forgotten_request_frees_window() {
        let limits = RateLimits::new(&[RateWindow::new(millis(1_000), 2)]);
        let mut history = SendHistory::default();
        limits.try_admit(&mut history, 0).unwrap();
        limits.try_admit(&mut history, 100).unwrap();
        assert!(limits.try_admit(&mut history.clone(), 200).is_err());

        assert_eq!(history.newest_request(), Some(100));
        assert!(history.forget_request(100));
        assert!(!history.forget_request(100));

        assert_eq!(limits.try_admit(&mut history, 200), Ok(()));
    }

    #[test]
    fn truncated_history_is_rejected() {
        let stored = SendHistory::from_stored(&[0; 12], None);

        assert_eq!(stored, Err(InvalidSendHistory(12)));
    }

    #[test]
    fn unsorted_history_is_sorted() {
        let bytes: Vec<u8> = [300_i64, 100, 200]
            .iter()
            .flat_map(|time| time.to_le_bytes())
            .collect();

        let stored = SendHistory::from_stored(&bytes, None).unwrap();

        assert_eq!(stored.sent, vec![100, 200, 300]);
    }

    #[test]
    fn clock_step_back_keeps_limit() {
        let limits = RateLimits::new(&[RateWindow::new(millis(1_000), 2)]);
        let mut history = SendHistory::default();
        limits.try_admit(&mut history, 10_000).unwrap();

        limits.try_admit(&mut history, 5_000).unwrap();

        assert_eq!(history.sent, vec![10_000, 10_000]);
        assert_eq!(limits.try_admit(&mut history, 5_000), Err(millis(6_000)));
    }

    /// Counts, for each admitted request, the admitted requests in the window that ends
    /// with it, and returns the largest count.
    fn max_in_any_window(admitted: &[i64], window: Duration) -> usize {
        let window_ms = i64::try_from(window.as_millis()).unwrap();
        let mut first = 0;
        let mut max = 0;
        for (index, end) in admitted.iter().enumerate() {
            while end - admitted[first] >= window_ms {
                first += 1;
            }
            max = max.max(index + 1 - first);
        }
        max
    }

    #[test]
    fn never_exceeds_any_window_over_long_run() {
        // The Teams windows scaled down 60 times keep their proportions while the
        // simulation stays short enough to check every window exhaustively. The day
        // window is checked too, although the limits drop it as implied.
        let windows: Vec<RateWindow> = TEAMS_RATE_WINDOWS
            .iter()
            .map(|window| RateWindow::new(window.window / 60, window.max_requests))
            .collect();
        let limits = RateLimits::new(&windows);
        let mut history = SendHistory::default();
        let mut random = fastrand::Rng::with_seed(7);
        let day_ms = i64::try_from(windows[4].window.as_millis()).unwrap();
        let mut now = 0;
        let mut admitted = Vec::new();

        // Bursts and pauses of random length over two simulated (scaled) days. Each
        // step stores and reloads the history, as the outbox does.
        while now < day_ms * 2 {
            now += if random.u8(..10) == 0 {
                random.i64(0..20_000)
            } else {
                random.i64(0..40)
            };
            if limits.try_admit(&mut history, now).is_ok() {
                admitted.push(now);
            }
            history =
                SendHistory::from_stored(&history.sent_bytes(), history.paused_until()).unwrap();
        }

        assert!(admitted.len() > 1_800, "{} admitted", admitted.len());
        assert!(history.sent.len() <= 150, "{} stored", history.sent.len());
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
        // After waiting the reported time the request is admitted, and a millisecond
        // earlier it would not have been.
        let limits = RateLimits::new(&[
            RateWindow::new(millis(100), 3),
            RateWindow::new(millis(1_000), 5),
        ]);
        let mut history = SendHistory::default();
        let mut random = fastrand::Rng::with_seed(11);
        let mut now = 0;

        for _ in 0..500 {
            now += random.i64(0..50);
            if let Err(wait) = limits.try_admit(&mut history, now) {
                let wait_ms = i64::try_from(wait.as_millis()).unwrap();
                assert!(wait_ms > 0);
                let mut early = history.clone();
                assert!(limits.try_admit(&mut early, now + wait_ms - 1).is_err());
                now += wait_ms;
                assert_eq!(limits.try_admit(&mut history, now), Ok(()));
            }
        }
    }
}

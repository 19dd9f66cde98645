//! Claimed deliveries that wait for a permit, oldest claim first.
//!
//! The worker claims ahead of its free permits, so that a fan-out writes the outbox once
//! per batch of deliveries. The rate limits admitted each delivery at its claim, so a
//! delivery may only be sent within [`MAX_DISPATCH_DELAY`] of it: the limits are widened
//! by that delay to stay exact. A delivery that waited longer is given back unsent.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::outbox::DueDelivery;
use super::payload::WebhookRequest;
use super::rate_limit::RateWindow;

/// Longest time between a delivery's claim and the start of its request.
pub const MAX_DISPATCH_DELAY: Duration = Duration::from_millis(250);

/// Returns `windows` widened by [`MAX_DISPATCH_DELAY`].
///
/// The limits count each request at its claim, and the request starts at most the delay
/// later, so the requests inside any window of the original length were all claimed
/// within a window that is longer by the delay.
pub fn widen_for_dispatch_delay(windows: &[RateWindow]) -> Vec<RateWindow> {
    windows
        .iter()
        .map(|window| RateWindow::new(window.window + MAX_DISPATCH_DELAY, window.max_requests))
        .collect()
}

/// Claimed delivery with the request that sends it, or the reason it cannot be sent.
pub struct ReadyDelivery {
    pub delivery: DueDelivery,
    pub request: Result<WebhookRequest, String>,
    claimed_at: Instant,
}

/// Claimed deliveries waiting for a permit.
pub struct ReadyQueue {
    entries: VecDeque<ReadyDelivery>,
    capacity: usize,
}

impl ReadyQueue {
    /// Creates a queue that holds at most `capacity` deliveries.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: VecDeque::with_capacity(capacity),
            capacity,
        }
    }

    /// Returns how many deliveries wait.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether no delivery waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Returns how many more deliveries the queue takes.
    pub fn room(&self) -> usize {
        self.capacity.saturating_sub(self.entries.len())
    }

    /// Appends a delivery claimed at `claimed_at`.
    pub fn push(
        &mut self,
        delivery: DueDelivery,
        request: Result<WebhookRequest, String>,
        claimed_at: Instant,
    ) {
        self.entries.push_back(ReadyDelivery {
            delivery,
            request,
            claimed_at,
        });
    }

    /// Removes and returns the oldest delivery that may still be sent at `now`. The
    /// deliveries that waited longer than [`MAX_DISPATCH_DELAY`] are removed on the way
    /// and their ids appended to `expired`.
    pub fn pop_sendable(&mut self, now: Instant, expired: &mut Vec<i64>) -> Option<ReadyDelivery> {
        while let Some(entry) = self.entries.pop_front() {
            if now.duration_since(entry.claimed_at) <= MAX_DISPATCH_DELAY {
                return Some(entry);
            }
            expired.push(entry.delivery.id);
        }
        None
    }
}

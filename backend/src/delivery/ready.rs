//! Claimed deliveries that wait for a sender, oldest claim first.
//!
//! The worker claims ahead of its idle senders, so that a fan-out writes the outbox once
//! per batch of deliveries. The rate limits admitted each delivery at its claim, so a
//! delivery may only start within [`MAX_DISPATCH_DELAY`] of it, and the limits are
//! enforced that much longer (`RateLimits::with_start_delay`). A delivery that waited
//! longer is given back unsent, and its request no longer counts.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::claim::DueDelivery;
use super::payload::WebhookRequest;

/// Maximum time between a delivery's claim and the start of its request.
pub const MAX_DISPATCH_DELAY: Duration = Duration::from_millis(250);

/// Claimed delivery with the request that sends it, or the reason it cannot be sent.
pub struct ReadyDelivery {
    pub delivery: DueDelivery,
    pub request: Result<WebhookRequest, String>,
    claimed_at: Instant,
}

/// Claimed deliveries waiting for a sender.
pub struct ReadyQueue {
    entries: VecDeque<ReadyDelivery>,
    capacity: usize,
}

impl ReadyQueue {
    /// Creates a queue for at most `capacity` deliveries.
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

    /// Returns the maximum number of deliveries the queue takes.
    pub fn capacity(&self) -> usize {
        self.capacity
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
    /// and appended to `expired`.
    pub fn pop_sendable(
        &mut self,
        now: Instant,
        expired: &mut Vec<DueDelivery>,
    ) -> Option<ReadyDelivery> {
        while let Some(entry) = self.entries.pop_front() {
            if now.duration_since(entry.claimed_at) <= MAX_DISPATCH_DELAY {
                return Some(entry);
            }
            expired.push(entry.delivery);
        }
        None
    }

    /// Removes every delivery, for a worker that stops.
    pub fn drain(&mut self) -> impl Iterator<Item = DueDelivery> + '_ {
        self.entries.drain(..).map(|entry| entry.delivery)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::delivery::claim::DueCard;

    /// Returns a welcome card delivery with the id `id` and a webhook on port 9.
    pub(in crate::delivery) fn delivery(id: i64) -> DueDelivery {
        DueDelivery {
            id,
            event_id: None,
            configuration_id: format!("configuration-{id}"),
            webhook_url: format!("http://127.0.0.1:9/webhooks/{id}"),
            attempts: 0,
            transient_failures: 0,
            throttled_responses: 0,
            card: DueCard::Welcome {
                config_name: "Tasks".to_owned(),
                event_types: Vec::new(),
            },
            counted_at: None,
        }
    }

    #[test]
    fn pops_in_claim_order() {
        let start = Instant::now();
        let mut queue = ReadyQueue::new(3);
        for id in 1..=3 {
            queue.push(delivery(id), Err("unused".to_owned()), start);
        }
        let mut expired = Vec::new();

        assert_eq!(queue.room(), 0);
        let popped: Vec<i64> = std::iter::from_fn(|| queue.pop_sendable(start, &mut expired))
            .map(|entry| entry.delivery.id)
            .collect();

        assert_eq!(popped, vec![1, 2, 3]);
        assert!(expired.is_empty());
        assert_eq!(queue.room(), 3);
    }

    #[test]
    fn late_deliveries_are_given_back() {
        let start = Instant::now();
        let mut queue = ReadyQueue::new(4);
        queue.push(delivery(1), Err("unused".to_owned()), start);
        queue.push(delivery(2), Err("unused".to_owned()), start);
        queue.push(
            delivery(3),
            Err("unused".to_owned()),
            start + MAX_DISPATCH_DELAY,
        );
        let mut expired = Vec::new();

        let sendable = queue.pop_sendable(start + MAX_DISPATCH_DELAY * 2, &mut expired);

        assert_eq!(sendable.map(|entry| entry.delivery.id), Some(3));
        let expired_ids: Vec<i64> = expired.iter().map(|delivery| delivery.id).collect();
        assert_eq!(expired_ids, vec![1, 2]);
        assert!(queue.is_empty());
    }

    #[test]
    fn delivery_at_max_delay_is_sent() {
        let start = Instant::now();
        let mut queue = ReadyQueue::new(1);
        queue.push(delivery(1), Err("unused".to_owned()), start);
        let mut expired = Vec::new();

        let sendable = queue.pop_sendable(start + MAX_DISPATCH_DELAY, &mut expired);

        assert!(sendable.is_some());
        assert!(expired.is_empty());
    }
}

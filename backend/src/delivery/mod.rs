//! Delivery of cards to channel webhooks: the outbox in SQLite, the worker that sends
//! from it, the classification of webhook responses, the per-webhook rate limiter and
//! the check of the addresses connected to.

pub mod address;
mod attempt;
pub mod backoff;
pub mod claim;
pub mod classify;
pub mod connection;
mod cycle;
pub mod outbox;
pub mod outcome_queue;
pub mod payload;
pub mod rate_limit;
pub mod ready;
pub mod send;
mod sender;
pub mod worker;
pub mod worker_lock;

use std::time::Duration;

pub use rate_limit::{RateLimits, RateWindow, TEAMS_RATE_WINDOWS};
pub use worker::{DeliveryWorker, WakeSignal};

/// Settings of the delivery worker. `Default` gives the production values.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Whether `serve` starts the worker. Without it, deliveries are stored as pending
    /// and sent by the next instance that runs the worker on the same database.
    pub start_worker: bool,
    /// Time limit of one request to a webhook, from connecting to reading the response.
    pub request_timeout: Duration,
    /// Attempts that end in a transient failure (5xx, timeout, connection error) before
    /// a delivery fails for good.
    pub max_attempts: u32,
    /// Throttled responses (429, or `HTTP error 429` in a 200) before a delivery fails
    /// for good. They count apart from `max_attempts`, because throttling means that the
    /// webhook works but is busy.
    pub max_throttled_attempts: u32,
    /// First retry delay of the exponential backoff, before jitter.
    pub backoff_base: Duration,
    /// Maximum retry delay of the exponential backoff, before jitter.
    pub backoff_cap: Duration,
    /// Delay added before the backoff after Teams throttled a webhook without sending
    /// `Retry-After`. Microsoft support suggests waiting 10 to 15 seconds.
    pub throttle_delay: Duration,
    /// Maximum number of requests in flight at once, over all webhooks.
    pub concurrency: usize,
    /// Sliding windows that each webhook must stay within.
    pub rate_windows: Vec<RateWindow>,
    /// Maximum time the worker sleeps before it looks for due deliveries again, in case
    /// another process added some.
    pub idle_poll: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            start_worker: true,
            request_timeout: Duration::from_secs(10),
            max_attempts: 8,
            max_throttled_attempts: 24,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(5 * 60),
            throttle_delay: Duration::from_secs(10),
            concurrency: 64,
            rate_windows: TEAMS_RATE_WINDOWS.to_vec(),
            idle_poll: Duration::from_secs(5),
        }
    }
}

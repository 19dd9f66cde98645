//! The delivery worker: claims due deliveries from the outbox, holds back those whose
//! webhook is at its rate limit, posts the others concurrently and records each outcome.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::Client;
use tokio::sync::{Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::DeliverySettings;
use super::address::LocalDelivery;
use super::backoff::full_jitter;
use super::classify::Outcome;
use super::outbox::{Claim, ClaimRequest, DueDelivery, OutcomeRecord, RetryCause, unix_millis};
use super::outcome_queue::{OutcomeReceiver, OutcomeSender, WorkerStopped, outcome_queue};
use super::payload::{ClaimPayloads, WebhookRequest};
use super::rate_limit::RateLimits;
use super::send::{build_client, post_card};
use crate::store::{Store, StoreError};

/// Longest `Retry-After` that the worker honours. A longer one is cut to this, so that a
/// wrong header cannot park a delivery for weeks.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Time added to the request timeout for a claim's lease. A delivery whose worker died
/// mid-attempt is claimed again after the lease.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// Longest time that an outcome waits in the queue while too few permits are free for a
/// claim. It bounds how long after its response a card stays unrecorded, which is how
/// long a crash could make the worker send it again.
const MAX_OUTCOME_WAIT: Duration = Duration::from_millis(20);

/// Signal that wakes the worker when deliveries were added. Clones share one signal.
#[derive(Clone, Default)]
pub struct WakeSignal(Arc<Notify>);

impl WakeSignal {
    /// Wakes the worker, or makes its next wait return at once when it is busy.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    async fn woken(&self) {
        self.0.notified().await;
    }
}

/// Handle of a running worker.
pub struct DeliveryWorker {
    task: JoinHandle<()>,
}

impl DeliveryWorker {
    /// Builds the HTTP client and starts the worker. It runs until `stop` is cancelled,
    /// then waits for the attempts in flight before it ends.
    pub fn start(
        store: Store,
        settings: DeliverySettings,
        dev_webhook_origin: Option<Url>,
        wake: WakeSignal,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let local = match dev_webhook_origin {
            Some(_) => LocalDelivery::On,
            None => LocalDelivery::Off,
        };
        let client = build_client(settings.request_timeout, local)?;
        let (outcomes, outcome_receiver) = outcome_queue();
        let shared = Arc::new(Shared {
            store,
            client,
            outcomes,
            limits: Arc::new(RateLimits::new(&settings.rate_windows)),
            random: Mutex::new(fastrand::Rng::new()),
            permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            settings,
            dev_webhook_origin,
            wake,
        });

        let task = tokio::spawn(async move {
            run(shared, outcome_receiver, stop).await;
            tracing::info!("delivery worker stopped");
        });
        Ok(Self { task })
    }

    /// Waits until the worker has stopped, after its stop token was cancelled.
    pub async fn stopped(self) {
        if let Err(error) = self.task.await {
            tracing::error!(%error, "the delivery worker panicked");
        }
    }
}

/// State shared by the worker loop and its attempt tasks.
struct Shared {
    store: Store,
    client: Client,
    outcomes: OutcomeSender,
    settings: DeliverySettings,
    dev_webhook_origin: Option<Url>,
    limits: Arc<RateLimits>,
    random: Mutex<fastrand::Rng>,
    permits: Arc<Semaphore>,
    wake: WakeSignal,
}

async fn run(shared: Arc<Shared>, mut outcomes: OutcomeReceiver, stop: CancellationToken) {
    tracing::info!(
        concurrency = shared.permits.available_permits(),
        "delivery worker started"
    );
    let mut attempts = JoinSet::new();
    let claim_batch = claim_batch_size(shared.settings.concurrency);
    let mut pending = Vec::new();
    let mut oldest_pending: Option<Instant> = None;

    while !stop.is_cancelled() {
        reap_finished(&mut attempts);
        if outcomes.drain_into(&mut pending) > 0 && oldest_pending.is_none() {
            oldest_pending = Some(Instant::now());
        }

        // While attempts are in flight, the loop claims only once a batch of permits is
        // free, so that a fan-out takes one transaction per batch rather than one per
        // finished attempt. Each finished attempt wakes the loop.
        let free = shared.permits.available_permits();
        let may_claim = free > 0 && (free >= claim_batch || attempts.is_empty());
        let must_record = oldest_pending.is_some_and(|since| since.elapsed() >= MAX_OUTCOME_WAIT);
        let mut may_have_more = false;
        if may_claim || must_record {
            let records = std::mem::take(&mut pending);
            oldest_pending = None;
            let limit = may_claim.then_some(free);
            match run_cycle(&shared, records, limit, &mut attempts).await {
                Ok(claimed) => may_have_more = limit == Some(claimed),
                Err(error) => log_store_error(&error, "recording outcomes and claiming failed"),
            }
        }
        if may_have_more {
            continue;
        }

        let mut delay = idle_delay(&shared, may_claim).await;
        if let Some(since) = oldest_pending {
            delay = delay.min(MAX_OUTCOME_WAIT.saturating_sub(since.elapsed()));
        }
        tokio::select! {
            () = stop.cancelled() => {}
            () = shared.wake.woken() => {}
            () = tokio::time::sleep(delay) => {}
        }
    }

    tracing::info!(
        in_flight = attempts.len(),
        "delivery worker stopping after the attempts in flight"
    );
    while let Some(result) = attempts.join_next().await {
        log_panic(result);
    }
    outcomes.drain_into(&mut pending);
    if !pending.is_empty()
        && let Err(error) = run_cycle(&shared, pending, None, &mut attempts).await
    {
        log_store_error(&error, "recording the last outcomes failed");
    }
}

/// Returns how many permits must be free before the loop claims while attempts are in
/// flight: a quarter of the concurrency, at least 1.
fn claim_batch_size(concurrency: usize) -> usize {
    (concurrency / 4).max(1)
}

fn reap_finished(attempts: &mut JoinSet<()>) {
    while let Some(result) = attempts.try_join_next() {
        log_panic(result);
    }
}

fn log_panic(result: Result<(), tokio::task::JoinError>) {
    if let Err(error) = result {
        // The delivery keeps its lease and is attempted again when the lease ends.
        tracing::error!(%error, "a delivery attempt panicked");
    }
}

/// Returns how long the loop may sleep: until the next delivery is due, at most the idle
/// poll. When it could not claim, because too few permits are free, it waits for an
/// attempt to finish, which wakes it.
async fn idle_delay(shared: &Shared, could_claim: bool) -> Duration {
    let idle_poll = shared.settings.idle_poll;
    if !could_claim {
        return idle_poll;
    }

    let next_due = match shared.store.next_due_at().await {
        Ok(next_due) => next_due,
        Err(error) => {
            log_store_error(&error, "reading the next due delivery failed");
            return idle_poll;
        }
    };
    let Some(next_due) = next_due else {
        return idle_poll;
    };
    let now = unix_millis().unwrap_or(next_due);
    let until_due = Duration::from_millis(u64::try_from(next_due - now).unwrap_or(0));
    until_due.min(idle_poll)
}

/// Records `outcomes` and, when `limit` is given, claims up to `limit` due deliveries in
/// the same transaction, then starts an attempt for each claimed delivery that the rate
/// limits admit. Returns how many were claimed, postponed ones included.
///
/// When the transaction fails, the outcomes are lost with it, and their deliveries are
/// attempted again when their lease ends.
async fn run_cycle(
    shared: &Arc<Shared>,
    outcomes: Vec<OutcomeRecord>,
    limit: Option<usize>,
    attempts: &mut JoinSet<()>,
) -> Result<usize, StoreError> {
    let now_ms = unix_millis()?;
    let lease = shared.settings.request_timeout + LEASE_MARGIN;
    let request = limit.map(|limit| ClaimRequest {
        now_ms,
        limit,
        lease_ms: duration_millis(lease),
        limits: Arc::clone(&shared.limits),
    });
    let recorded = outcomes.len();
    let claim = shared.store.record_and_claim(outcomes, request).await;
    let claim = claim.inspect_err(|_| {
        tracing::warn!(
            outcomes = recorded,
            "outcomes not recorded; their deliveries are sent again after their lease"
        );
    })?;
    let claimed = claim.due.len() + claim.dropped.len() + claim.postponed.len();
    log_not_sent(&claim);

    let mut payloads = ClaimPayloads::default();
    let mut unsent = Vec::new();
    for delivery in claim.due {
        let request = payloads.request_for(&delivery, shared.dev_webhook_origin.as_ref());
        let Ok(permit) = Arc::clone(&shared.permits).try_acquire_owned() else {
            // Only this loop takes permits, and it claimed no more than were free.
            unsent.push((delivery.id, now_ms));
            continue;
        };
        let shared = Arc::clone(shared);
        attempts.spawn(async move {
            attempt(&shared, delivery, request).await;
            // The outcome is queued before the permit is released, so the loop finds
            // it when it wakes to hand the permit out again.
            drop(permit);
            shared.wake.wake();
        });
    }

    if !unsent.is_empty() {
        shared.store.postpone(unsent).await?;
    }
    Ok(claimed)
}

/// Logs the deliveries that a claim failed or postponed instead of leasing.
fn log_not_sent(claim: &Claim) {
    for (delivery_id, configuration_id, event_id) in &claim.dropped {
        tracing::warn!(
            delivery_id,
            %configuration_id,
            event_id,
            "delivery failed because its configuration is inactive"
        );
    }
    for postponed in &claim.postponed {
        tracing::info!(
            delivery_id = postponed.id,
            configuration_id = %postponed.configuration_id,
            event_id = postponed.event_id,
            wait_ms = duration_millis(postponed.wait),
            "delivery postponed because its webhook is at its rate limit"
        );
    }
}

/// Sends one delivery and records its outcome. `request` is the error reason when the
/// request could not be built.
async fn attempt(shared: &Shared, delivery: DueDelivery, request: Result<WebhookRequest, String>) {
    let outcome = match request {
        Ok(request) => post_card(&shared.client, request).await,
        Err(reason) => Outcome::Permanent { reason },
    };

    if let Err(error) = record_outcome(shared, &delivery, outcome).await {
        // The delivery keeps its lease and is attempted again when the lease ends.
        tracing::error!(
            delivery_id = delivery.id,
            configuration_id = %delivery.configuration_id,
            event_id = delivery.event_id,
            error = error_chain(&error),
            "recording a delivery outcome failed"
        );
    }
}

/// Error that kept an outcome from being recorded.
#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    WorkerStopped(#[from] WorkerStopped),
}

/// Stores the outcome of an attempt: delivered, retry later or failed through the outcome
/// queue, and a deactivated configuration at once.
async fn record_outcome(
    shared: &Shared,
    delivery: &DueDelivery,
    outcome: Outcome,
) -> Result<(), RecordError> {
    let settings = &shared.settings;
    let attempt = delivery.attempts + 1;
    let id = delivery.id;

    match outcome {
        Outcome::Delivered => {
            shared.outcomes.send(OutcomeRecord::Delivered { id })?;
            tracing::debug!(
                delivery_id = delivery.id,
                configuration_id = %delivery.configuration_id,
                event_id = delivery.event_id,
                attempt,
                "card delivered"
            );
        }
        Outcome::Throttled {
            reason,
            retry_after,
        } => {
            let throttled = delivery.throttled_responses + 1;
            if throttled >= settings.max_throttled_attempts {
                let reason = format!("{reason}; gave up after {throttled} throttled attempts");
                record_failed(shared, delivery, attempt, reason).await?;
                return Ok(());
            }

            let delay = match retry_after {
                Some(retry_after) => retry_after.min(MAX_RETRY_AFTER),
                None => settings.throttle_delay + jitter(shared, throttled),
            };
            // Recording the retry also pauses the webhook until the same time.
            let next_attempt_at = unix_millis()?.saturating_add(duration_millis(delay));
            shared.outcomes.send(OutcomeRecord::Retry {
                id,
                cause: RetryCause::Throttled,
                reason: reason.clone(),
                next_attempt_at,
            })?;
            tracing::warn!(
                delivery_id = delivery.id,
                configuration_id = %delivery.configuration_id,
                event_id = delivery.event_id,
                attempt,
                retry_in_ms = duration_millis(delay),
                reason,
                "webhook throttled the delivery; retrying later"
            );
        }
        Outcome::Transient {
            reason,
            retry_after,
        } => {
            let failures = delivery.transient_failures + 1;
            if failures >= settings.max_attempts {
                let reason = format!("{reason}; gave up after {failures} failed attempts");
                record_failed(shared, delivery, attempt, reason).await?;
                return Ok(());
            }

            let delay =
                jitter(shared, failures).max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
            let next_attempt_at = unix_millis()?.saturating_add(duration_millis(delay));
            shared.outcomes.send(OutcomeRecord::Retry {
                id,
                cause: RetryCause::Transient,
                reason: reason.clone(),
                next_attempt_at,
            })?;
            tracing::warn!(
                delivery_id = delivery.id,
                configuration_id = %delivery.configuration_id,
                event_id = delivery.event_id,
                attempt,
                retry_in_ms = duration_millis(delay),
                reason,
                "delivery attempt failed; retrying later"
            );
        }
        Outcome::Permanent { reason } => {
            record_failed(shared, delivery, attempt, reason).await?;
        }
        Outcome::Gone { reason } => {
            let others = shared
                .store
                .deactivate_configuration(
                    delivery.id,
                    delivery.configuration_id.clone(),
                    reason.clone(),
                )
                .await?;
            tracing::warn!(
                delivery_id = delivery.id,
                configuration_id = %delivery.configuration_id,
                event_id = delivery.event_id,
                other_deliveries_failed = others,
                reason,
                "webhook removed; configuration deactivated"
            );
        }
    }
    Ok(())
}

async fn record_failed(
    shared: &Shared,
    delivery: &DueDelivery,
    attempt: u32,
    reason: String,
) -> Result<(), RecordError> {
    log_failed(delivery, attempt, &reason);
    shared.outcomes.send(OutcomeRecord::Failed {
        id: delivery.id,
        reason,
    })?;
    Ok(())
}

fn log_failed(delivery: &DueDelivery, attempt: u32, reason: &str) {
    tracing::error!(
        delivery_id = delivery.id,
        configuration_id = %delivery.configuration_id,
        event_id = delivery.event_id,
        attempt,
        reason,
        "delivery failed"
    );
}

fn jitter(shared: &Shared, failures: u32) -> Duration {
    let settings = &shared.settings;
    let mut random = shared.random.lock().unwrap_or_else(PoisonError::into_inner);
    full_jitter(
        failures,
        settings.backoff_base,
        settings.backoff_cap,
        &mut random,
    )
}

fn log_store_error(error: &StoreError, message: &'static str) {
    tracing::error!(error = error_chain(error), "{message}");
}

/// Returns the error's message followed by its sources, like anyhow's `{:#}`.
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(error) = source {
        text.push_str(": ");
        text.push_str(&error.to_string());
        source = error.source();
    }
    text
}

fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

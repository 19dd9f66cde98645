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
use super::ready::{MAX_DISPATCH_DELAY, ReadyQueue, widen_for_dispatch_delay};
use super::send::{build_client, post_card};
use crate::store::{Store, StoreError};

/// Longest `Retry-After` that the worker honours. A longer one is cut to this, so that a
/// wrong header cannot park a delivery for weeks.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Time added to the request timeout for a claim's lease. A delivery whose worker died
/// mid-attempt is claimed again after the lease.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// Longest time that an outcome waits for the next claim before it is recorded alone. It
/// bounds how long after its response a card stays unrecorded, which is how long a crash
/// could make the worker send it again.
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
            limits: Arc::new(RateLimits::new(&widen_for_dispatch_delay(
                &settings.rate_windows,
            ))),
            attempt_ended: Notify::new(),
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
    /// Wakes the loop when an attempt has queued its outcome and released its permit.
    attempt_ended: Notify,
    /// Wakes the loop when deliveries were added.
    wake: WakeSignal,
}

async fn run(shared: Arc<Shared>, mut outcomes: OutcomeReceiver, stop: CancellationToken) {
    let concurrency = shared.settings.concurrency.max(1);
    tracing::info!(concurrency, "delivery worker started");
    let mut attempts = JoinSet::new();
    let capacity = READY_PER_PERMIT * concurrency;
    let mut ready = ReadyQueue::new(capacity);
    // Deliveries per claim: halved when queued deliveries wait too long, because the
    // webhooks answer slowly, and doubled again after each full claim without that.
    let mut claim_size = capacity;
    let mut expired_since_claim = false;
    let mut pending = Vec::new();
    let mut oldest_pending: Option<Instant> = None;
    let mut cycle: Option<JoinHandle<Result<CycleResult, StoreError>>> = None;
    // Time from which a claim may find due deliveries again, after one found fewer
    // than it could take.
    let mut claim_after: Option<Instant> = None;

    while !stop.is_cancelled() {
        reap_finished(&mut attempts);
        if outcomes.drain_into(&mut pending) > 0 && oldest_pending.is_none() {
            oldest_pending = Some(Instant::now());
        }
        let expired = dispatch_ready(&shared, &mut ready, &mut pending, &mut attempts);
        if expired > 0 {
            claim_size = (claim_size / 2).max(concurrency);
            expired_since_claim = true;
            oldest_pending.get_or_insert_with(Instant::now);
        }

        if cycle.is_none() {
            let now = Instant::now();
            // Claiming while two rounds of permits are still queued keeps the queue
            // from running dry while the claim runs.
            let may_claim = ready.len() <= 2 * concurrency
                && ready.room() > 0
                && claim_after.is_none_or(|after| now >= after);
            let must_record =
                oldest_pending.is_some_and(|since| now.duration_since(since) >= MAX_OUTCOME_WAIT);
            if may_claim || must_record {
                let records = std::mem::take(&mut pending);
                oldest_pending = None;
                if let Some(due_at) = earliest_due_at(&records) {
                    // A claim that found nothing due did not see these retries.
                    let due = instant_at(due_at);
                    claim_after = claim_after.map(|after| after.min(due));
                }
                let limit = may_claim.then(|| claim_size.min(ready.room()));
                cycle = Some(tokio::spawn(run_cycle(Arc::clone(&shared), records, limit)));
            }
        }

        let delay = idle_delay(&shared, claim_after, oldest_pending);
        tokio::select! {
            () = stop.cancelled() => {}
            () = shared.wake.woken() => claim_after = None,
            () = shared.attempt_ended.notified() => {}
            () = tokio::time::sleep(delay) => {}
            joined = async { cycle.as_mut().expect("guarded by the branch condition").await },
                if cycle.is_some() =>
            {
                cycle = None;
                let Some(result) = take_cycle_result(joined) else {
                    continue;
                };
                if result.claimed < result.limit {
                    claim_after = Some(next_claim_time(&shared, result.next_due_at));
                } else if !expired_since_claim {
                    claim_size = (claim_size * 2).min(capacity);
                }
                expired_since_claim = false;
                for (delivery, request) in result.due {
                    ready.push(delivery, request, result.claimed_at);
                }
            }
        }
    }

    tracing::info!(
        in_flight = attempts.len(),
        "delivery worker stopping after the attempts in flight"
    );
    if let Some(cycle) = cycle.take()
        && let Some(result) = take_cycle_result(cycle.await)
    {
        for (delivery, request) in result.due {
            ready.push(delivery, request, result.claimed_at);
        }
    }
    // Deliveries claimed but not started are given back rather than sent.
    let mut unsent = Vec::new();
    while let Some(entry) = ready.pop_sendable(Instant::now(), &mut unsent) {
        unsent.push(entry.delivery.id);
    }
    pending.extend(unsent.into_iter().map(|id| OutcomeRecord::Released { id }));
    while let Some(result) = attempts.join_next().await {
        log_panic(result);
    }
    outcomes.drain_into(&mut pending);
    if !pending.is_empty() {
        take_cycle_result(Ok(run_cycle(Arc::clone(&shared), pending, None).await));
    }
}

/// Most deliveries claimed ahead, per permit. A fan-out then commits once per up to this
/// many permits' worth of deliveries rather than once per few finished attempts.
const READY_PER_PERMIT: usize = 4;

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

/// Starts an attempt for each ready delivery that gets a permit, and gives back the
/// deliveries that waited too long. Returns how many were given back.
fn dispatch_ready(
    shared: &Arc<Shared>,
    ready: &mut ReadyQueue,
    pending: &mut Vec<OutcomeRecord>,
    attempts: &mut JoinSet<()>,
) -> usize {
    let mut expired = Vec::new();
    while !ready.is_empty() {
        let Ok(permit) = Arc::clone(&shared.permits).try_acquire_owned() else {
            break;
        };
        let Some(entry) = ready.pop_sendable(Instant::now(), &mut expired) else {
            break;
        };
        let shared = Arc::clone(shared);
        attempts.spawn(async move {
            attempt(&shared, entry.delivery, entry.request).await;
            // The outcome is queued before the permit is released, so the loop finds
            // it when it wakes to hand the permit out again.
            drop(permit);
            shared.attempt_ended.notify_one();
        });
    }
    for id in &expired {
        tracing::debug!(
            delivery_id = id,
            "claimed delivery given back because it waited too long for a permit"
        );
    }
    pending.extend(expired.iter().map(|&id| OutcomeRecord::Released { id }));
    expired.len()
}

/// Result of one store cycle, with the requests of the claimed deliveries built.
struct CycleResult {
    due: Vec<(DueDelivery, Result<WebhookRequest, String>)>,
    /// Deliveries claimed, postponed and failed ones included.
    claimed: usize,
    limit: usize,
    next_due_at: Option<i64>,
    /// Time at which the rate limits counted the claimed deliveries' requests.
    claimed_at: Instant,
}

/// Records `outcomes` and, when `limit` is given, claims up to `limit` due deliveries in
/// the same transaction, and builds the requests of the claimed deliveries.
///
/// When the transaction fails, the outcomes are lost with it, and their deliveries are
/// attempted again when their lease ends.
async fn run_cycle(
    shared: Arc<Shared>,
    outcomes: Vec<OutcomeRecord>,
    limit: Option<usize>,
) -> Result<CycleResult, StoreError> {
    // The claim counts its requests at this time, so the dispatch delay starts here.
    let claimed_at = Instant::now();
    let now_ms = unix_millis()?;
    let request = limit.map(|limit| ClaimRequest {
        now_ms,
        limit,
        lease_ms: duration_millis(lease_duration(&shared.settings)),
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
    let due = claim
        .due
        .into_iter()
        .map(|delivery| {
            let request = payloads.request_for(&delivery, shared.dev_webhook_origin.as_ref());
            (delivery, request)
        })
        .collect();
    Ok(CycleResult {
        due,
        claimed,
        limit: limit.unwrap_or(0),
        next_due_at: claim.next_due_at,
        claimed_at,
    })
}

/// Returns the lease of a claim: the longest wait for a permit, the request timeout and
/// a margin. A delivery whose worker died mid-attempt is claimed again after it.
fn lease_duration(settings: &DeliverySettings) -> Duration {
    MAX_DISPATCH_DELAY + settings.request_timeout + LEASE_MARGIN
}

/// Logs a failed cycle and returns the result of a successful one.
fn take_cycle_result(
    joined: Result<Result<CycleResult, StoreError>, tokio::task::JoinError>,
) -> Option<CycleResult> {
    match joined {
        Ok(Ok(result)) => Some(result),
        Ok(Err(error)) => {
            log_store_error(&error, "recording outcomes and claiming failed");
            None
        }
        Err(error) => {
            tracing::error!(%error, "a store cycle panicked");
            None
        }
    }
}

/// Returns the earliest time at which `records` make a delivery due again, in Unix
/// milliseconds.
fn earliest_due_at(records: &[OutcomeRecord]) -> Option<i64> {
    records
        .iter()
        .filter_map(|record| match record {
            OutcomeRecord::Retry {
                next_attempt_at, ..
            } => Some(*next_attempt_at),
            // A released delivery is due at once.
            OutcomeRecord::Released { .. } => Some(i64::MIN),
            OutcomeRecord::Delivered { .. } | OutcomeRecord::Failed { .. } => None,
        })
        .min()
}

/// Returns the instant of the Unix time `at_ms`, or now when that has passed.
fn instant_at(at_ms: i64) -> Instant {
    let until = unix_millis()
        .map(|now_ms| {
            Duration::from_millis(u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0))
        })
        .unwrap_or_default();
    Instant::now() + until
}

/// Returns when the next claim may find due deliveries: when the earliest is due, at
/// most the idle poll from now, in case another process added some.
fn next_claim_time(shared: &Shared, next_due_at: Option<i64>) -> Instant {
    let latest = Instant::now() + shared.settings.idle_poll;
    next_due_at.map_or(latest, |due_at| instant_at(due_at).min(latest))
}

/// Returns how long the loop may sleep before it has work of its own: claiming again,
/// or recording outcomes that have waited long enough.
fn idle_delay(
    shared: &Shared,
    claim_after: Option<Instant>,
    oldest_pending: Option<Instant>,
) -> Duration {
    let now = Instant::now();
    let mut delay = shared.settings.idle_poll;
    if let Some(after) = claim_after {
        delay = delay.min(after.saturating_duration_since(now));
    }
    if let Some(since) = oldest_pending {
        delay = delay.min((since + MAX_OUTCOME_WAIT).saturating_duration_since(now));
    }
    delay
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

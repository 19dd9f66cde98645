//! One store cycle of the worker: records the queued outcomes and claims due
//! deliveries in one transaction, then builds the claimed deliveries' requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::DeliverySettings;
use super::claim::{Claim, ClaimRequest, DueDelivery};
use super::outbox::{OutcomeRecord, unix_millis};
use super::payload::{ClaimPayloads, WebhookRequest};
use super::ready::MAX_DISPATCH_DELAY;
use super::worker::{Shared, duration_millis, log_store_error};
use crate::store::StoreError;

/// Time added to the request timeout for a claim's lease. A delivery whose worker died
/// mid-attempt is claimed again after the lease.
const LEASE_MARGIN: Duration = Duration::from_secs(60);

/// Result of one store cycle, with the requests of the claimed deliveries built.
pub struct CycleResult {
    pub due: Vec<(DueDelivery, Result<WebhookRequest, String>)>,
    /// Deliveries claimed, postponed and failed ones included.
    pub claimed: usize,
    pub limit: usize,
    pub next_due_at: Option<i64>,
    /// Time at which the rate limits counted the claimed deliveries' requests.
    pub claimed_at: Instant,
}

/// Records `outcomes` and, when `limit` is given, claims up to `limit` due deliveries in
/// the same transaction, and builds the requests of the claimed deliveries.
///
/// When the transaction fails, the outcomes are lost with it, and their deliveries are
/// attempted again when their lease ends.
pub async fn run_cycle(
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

/// Returns the lease of a claim: the longest wait for a sender, the request timeout and
/// a margin. A delivery whose worker died mid-attempt is claimed again after it.
fn lease_duration(settings: &DeliverySettings) -> Duration {
    MAX_DISPATCH_DELAY + settings.request_timeout + LEASE_MARGIN
}

/// Logs a failed cycle and returns the result of a successful one.
pub fn take_cycle_result(
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
pub fn earliest_due_at(records: &[OutcomeRecord]) -> Option<i64> {
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
pub fn instant_at(at_ms: i64) -> Instant {
    let until = unix_millis()
        .map(|now_ms| {
            Duration::from_millis(u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0))
        })
        .unwrap_or_default();
    Instant::now() + until
}

/// Returns when the next claim may find due deliveries: when the earliest is due, at
/// most the idle poll from now, in case another process added some.
pub fn next_claim_time(shared: &Shared, next_due_at: Option<i64>) -> Instant {
    let latest = Instant::now() + shared.settings.idle_poll;
    next_due_at.map_or(latest, |due_at| instant_at(due_at).min(latest))
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

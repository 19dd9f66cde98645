//! One store cycle of the worker: records the queued outcomes and claims due
//! deliveries in one transaction, then builds the claimed deliveries' requests.

use std::sync::Arc;
use std::time::Instant;

use super::claim::{Claim, ClaimRequest, DueDelivery};
use super::outbox::{OutcomeRecord, duration_millis, unix_millis};
use super::payload::{ClaimPayloads, WebhookRequest};
use super::worker::{Shared, log_store_error};
use crate::store::StoreError;

/// Result of one store cycle, with the requests of the claimed deliveries built.
pub struct CycleResult {
    pub due: Vec<(DueDelivery, Result<WebhookRequest, String>)>,
    /// Rows that the claim took: the due deliveries, and the postponed and failed ones.
    pub claimed: usize,
    /// The claim's limit, or `None` when the cycle only recorded outcomes.
    pub limit: Option<usize>,
    pub next_due_at: Option<i64>,
    /// Time at which the rate limits counted the claimed deliveries' requests.
    pub claimed_at: Instant,
}

/// Store cycle that failed, with the outcomes it did not record.
pub struct CycleFailure {
    pub error: StoreError,
    pub outcomes: Vec<OutcomeRecord>,
}

/// Records `outcomes` and, when `limit` is given, claims up to `limit` due deliveries
/// other than the ones in `in_progress` in the same transaction, and builds the requests of the
/// claimed deliveries. When the transaction fails, nothing is written and the outcomes
/// come back in the failure.
pub async fn run_cycle(
    shared: Arc<Shared>,
    outcomes: Vec<OutcomeRecord>,
    limit: Option<usize>,
    in_progress: Arc<[i64]>,
) -> Result<CycleResult, CycleFailure> {
    // The claim counts its requests at this time, so the dispatch delay starts here.
    let claimed_at = Instant::now();
    let now_ms = match unix_millis() {
        Ok(now_ms) => now_ms,
        Err(error) => return Err(CycleFailure { error, outcomes }),
    };
    let request = limit.map(|limit| ClaimRequest {
        now_ms,
        limit,
        in_progress,
        limits: Arc::clone(&shared.limits),
    });
    // Shared with the transaction, so that a failure can return them without a copy
    // made for every cycle.
    let outcomes: Arc<[OutcomeRecord]> = outcomes.into();
    let claim = shared
        .store
        .record_and_claim(Arc::clone(&outcomes), request)
        .await;
    let claim = match claim {
        Ok(claim) => claim,
        Err(error) => {
            return Err(CycleFailure {
                error,
                outcomes: outcomes.to_vec(),
            });
        }
    };
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
        limit,
        next_due_at: claim.next_due_at,
        claimed_at,
    })
}

/// Returns the result of a successful cycle. For a failed one, logs the error and
/// returns the outcomes that it did not record.
pub fn take_cycle_result(
    joined: Result<Result<CycleResult, CycleFailure>, tokio::task::JoinError>,
) -> Result<CycleResult, Vec<OutcomeRecord>> {
    match joined {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(failure)) => {
            log_store_error(&failure.error, "recording outcomes and claiming failed");
            Err(failure.outcomes)
        }
        Err(error) => {
            // A panic in the store closure comes back as a failure with its outcomes, so
            // this one came after the commit: the outcomes are written, and the claimed
            // deliveries are claimed again by a later cycle.
            tracing::error!(
                %error,
                "a store cycle panicked after its commit; its claimed deliveries will be claimed again"
            );
            Err(Vec::new())
        }
    }
}

/// Logs the deliveries that a claim failed or postponed instead of taking them.
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

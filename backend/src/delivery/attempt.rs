//! One attempt: posts a claimed delivery's card and queues its outcome, with the retry
//! delay that the response calls for.

use std::sync::PoisonError;
use std::time::Duration;

use super::backoff::full_jitter;
use super::claim::DueDelivery;
use super::classify::Outcome;
use super::outbox::{OutcomeRecord, RetryCause, duration_millis, unix_millis};
use super::outcome_queue::WorkerStopped;
use super::payload::WebhookRequest;
use super::worker::{Shared, error_chain};
use crate::store::StoreError;

/// Longest `Retry-After` that the worker honours. A longer one is cut to this, so that a
/// wrong header cannot park a delivery for weeks.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Sends one delivery and records its outcome. `request` is the error reason when the
/// request could not be built.
pub async fn attempt(
    shared: &Shared,
    delivery: DueDelivery,
    request: Result<WebhookRequest, String>,
) {
    let outcome = match request {
        Ok(request) => shared.client.post_card(request).await,
        Err(reason) => Outcome::Permanent { reason },
    };

    if let Err(error) = record_outcome(shared, &delivery, outcome).await {
        tracing::error!(
            delivery_id = delivery.id,
            configuration_id = %delivery.configuration_id,
            event_id = delivery.event_id,
            error = error_chain(&error),
            "recording a delivery outcome failed; the delivery will be attempted again"
        );
        // Nothing was written, so the delivery is due again once the worker removes it
        // from its claims in progress.
        finish(shared, delivery.id);
    }
}

/// Tells the worker that the attempt of delivery `id` ended with nothing for its cycle
/// to write.
fn finish(shared: &Shared, id: i64) {
    // A stopped worker keeps no claims.
    let _ = shared.outcomes.send(OutcomeRecord::Finished { id });
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
                record_failed(shared, delivery, attempt, reason)?;
                return Ok(());
            }

            let delay = match retry_after {
                Some(retry_after) => retry_after.min(MAX_RETRY_AFTER),
                None => settings.throttle_delay + jitter(shared, throttled),
            };
            // Recording the retry also pauses the webhook until the same time.
            queue_retry(shared, delivery, RetryCause::Throttled, reason, delay)?;
        }
        Outcome::Transient {
            reason,
            retry_after,
        } => {
            let failures = delivery.transient_failures + 1;
            if failures >= settings.max_attempts {
                let reason = format!("{reason}; gave up after {failures} failed attempts");
                record_failed(shared, delivery, attempt, reason)?;
                return Ok(());
            }

            let delay =
                jitter(shared, failures).max(retry_after.unwrap_or_default().min(MAX_RETRY_AFTER));
            queue_retry(shared, delivery, RetryCause::Transient, reason, delay)?;
        }
        Outcome::Permanent { reason } => {
            record_failed(shared, delivery, attempt, reason)?;
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
            finish(shared, delivery.id);
        }
    }
    Ok(())
}

/// Queues a retry of `delivery` after `delay` and logs it.
fn queue_retry(
    shared: &Shared,
    delivery: &DueDelivery,
    cause: RetryCause,
    reason: String,
    delay: Duration,
) -> Result<(), RecordError> {
    let next_attempt_at = unix_millis()?.saturating_add(duration_millis(delay));
    shared.outcomes.send(OutcomeRecord::Retry {
        id: delivery.id,
        cause,
        reason: reason.clone(),
        next_attempt_at,
    })?;

    let message = match cause {
        RetryCause::Throttled => "webhook throttled the delivery; retrying later",
        RetryCause::Transient => "delivery attempt failed; retrying later",
    };
    tracing::warn!(
        delivery_id = delivery.id,
        configuration_id = %delivery.configuration_id,
        event_id = delivery.event_id,
        attempt = delivery.attempts + 1,
        retry_in_ms = duration_millis(delay),
        reason,
        "{message}"
    );
    Ok(())
}

fn record_failed(
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

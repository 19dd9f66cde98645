//! The senders: one task per unit of concurrency, each taking the oldest ready delivery,
//! attempting it and taking the next, so that a fan-out spawns no task per delivery.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::attempt::attempt;
use super::outbox::OutcomeRecord;
use super::ready::ReadyDelivery;
use super::worker::Shared;

/// Attempts ready deliveries until `stop` is cancelled. An attempt in progress ends
/// first.
pub async fn run_sender(shared: Arc<Shared>, stop: CancellationToken) {
    while let Some(entry) = next_ready(&shared, &stop).await {
        let in_flight = InFlight::taken(&shared, entry.delivery.id);
        attempt(&shared, entry.delivery, entry.request).await;
        in_flight.ended();
    }
}

/// One attempt counted in `Shared::in_flight` until it is dropped, also by a panic.
struct InFlight<'a> {
    shared: &'a Shared,
    delivery_id: i64,
    ended: bool,
}

impl<'a> InFlight<'a> {
    /// Takes over the count that [`pop_ready`] added for delivery `delivery_id`.
    fn taken(shared: &'a Shared, delivery_id: i64) -> Self {
        Self {
            shared,
            delivery_id,
            ended: false,
        }
    }

    /// Marks the attempt as ended normally, after it queued its outcome.
    fn ended(mut self) {
        self.ended = true;
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.ended {
            // The attempt panicked before it queued an outcome, so the worker must drop
            // the claim for the delivery to be attempted again.
            let finished = OutcomeRecord::Finished {
                id: self.delivery_id,
            };
            let _ = self.shared.outcomes.send(finished);
        }
        // Lowered after the outcome is queued, so that a loop that reads no attempt in
        // progress also drains every outcome.
        let was_last = self.shared.in_flight.fetch_sub(1, Ordering::Relaxed) == 1;
        if was_last && self.shared.lock_ready().is_empty() {
            self.shared.attempts_ended.notify_one();
        }
    }
}

/// Waits for the next delivery that may still be sent, or returns `None` once `stop` is
/// cancelled. Deliveries that waited too long are given back on the way.
async fn next_ready(shared: &Shared, stop: &CancellationToken) -> Option<ReadyDelivery> {
    loop {
        // Registered before the queue is read, so that a push between the read and the
        // wait still wakes this sender.
        let added = shared.ready_added.notified();
        tokio::pin!(added);
        added.as_mut().enable();
        if stop.is_cancelled() {
            return None;
        }

        if let Some(entry) = pop_ready(shared) {
            return Some(entry);
        }
        tokio::select! {
            () = added => {}
            () = stop.cancelled() => return None,
        }
    }
}

/// Pops the oldest sendable delivery and counts it in `Shared::in_flight`, queues the
/// expired ones as released, and wakes the loop when the queue has run low.
fn pop_ready(shared: &Shared) -> Option<ReadyDelivery> {
    let mut expired = Vec::new();
    let (entry, remaining) = {
        let mut ready = shared.lock_ready();
        let entry = ready.pop_sendable(Instant::now(), &mut expired);
        if entry.is_some() {
            // Counted under the lock, so that the loop, which reads the queue under it,
            // always finds the delivery either queued or in flight.
            shared.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        (entry, ready.len())
    };

    for delivery in expired {
        tracing::debug!(
            delivery_id = delivery.id,
            "claimed delivery given back because it waited too long for a sender"
        );
        if shared.outcomes.send(delivery.released()).is_err() {
            // The loop has stopped and keeps no claims.
            break;
        }
    }
    if remaining <= shared.ready_low_water() {
        shared.ready_low.notify_one();
    }
    entry
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Waker};

    use tokio::sync::Notify;

    use super::*;
    use crate::delivery::DeliverySettings;
    use crate::delivery::outcome_queue::OutcomeReceiver;
    use crate::delivery::ready::tests::delivery;
    use crate::delivery::worker::WakeSignal;
    use crate::store::Store;

    async fn shared() -> (Shared, OutcomeReceiver, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("connector.sqlite3"))
            .await
            .unwrap();
        let settings = DeliverySettings::default();
        let (shared, outcomes) = Shared::new(store, settings, None, WakeSignal::default()).unwrap();
        (shared, outcomes, dir)
    }

    /// Returns whether `notify` has a stored wake-up, without waiting for one.
    fn has_wake_up(notify: &Notify) -> bool {
        let mut notified = pin!(notify.notified());
        let mut context = Context::from_waker(Waker::noop());
        notified.as_mut().poll(&mut context).is_ready()
    }

    fn queue(shared: &Shared, id: i64) {
        let request = Err("unused".to_owned());
        shared
            .lock_ready()
            .push(delivery(id), request, Instant::now());
    }

    #[tokio::test]
    async fn popped_delivery_counts_as_in_flight() {
        let (shared, _outcomes, _dir) = shared().await;
        queue(&shared, 1);

        let entry = pop_ready(&shared).unwrap();

        assert_eq!(entry.delivery.id, 1);
        assert_eq!(shared.in_flight.load(Ordering::Relaxed), 1);
        assert!(shared.lock_ready().is_empty());
    }

    #[tokio::test]
    async fn last_attempt_wakes_idle_loop() {
        let (shared, _outcomes, _dir) = shared().await;
        queue(&shared, 1);
        let entry = pop_ready(&shared).unwrap();

        InFlight::taken(&shared, entry.delivery.id).ended();

        assert_eq!(shared.in_flight.load(Ordering::Relaxed), 0);
        assert!(has_wake_up(&shared.attempts_ended));
    }

    #[tokio::test]
    async fn attempt_ending_beside_another_wakes_nothing() {
        let (shared, _outcomes, _dir) = shared().await;
        queue(&shared, 1);
        queue(&shared, 2);
        let first = pop_ready(&shared).unwrap();
        let _second = InFlight::taken(&shared, pop_ready(&shared).unwrap().delivery.id);

        InFlight::taken(&shared, first.delivery.id).ended();

        assert_eq!(shared.in_flight.load(Ordering::Relaxed), 1);
        assert!(!has_wake_up(&shared.attempts_ended));
    }

    #[tokio::test]
    async fn last_attempt_with_queued_delivery_wakes_nothing() {
        let (shared, _outcomes, _dir) = shared().await;
        queue(&shared, 1);
        queue(&shared, 2);
        let entry = pop_ready(&shared).unwrap();

        InFlight::taken(&shared, entry.delivery.id).ended();

        assert!(!has_wake_up(&shared.attempts_ended));
    }

    #[tokio::test]
    async fn panicked_attempt_queues_finished_record() {
        let (shared, mut outcomes, _dir) = shared().await;
        queue(&shared, 7);
        let entry = pop_ready(&shared).unwrap();

        // Dropped without `ended`, as when the attempt panics.
        drop(InFlight::taken(&shared, entry.delivery.id));

        let mut records = Vec::new();
        outcomes.drain_into(&mut records);
        assert_eq!(records.len(), 1);
        assert!(matches!(records[0], OutcomeRecord::Finished { id: 7 }));
        assert!(has_wake_up(&shared.attempts_ended));
    }
}

//! The senders: one task per unit of concurrency, each taking the oldest ready delivery,
//! attempting it and taking the next, so that a fan-out spawns no task per delivery.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::attempt::attempt;
use super::ready::ReadyDelivery;
use super::worker::Shared;

/// Attempts ready deliveries until `stop` is cancelled. An attempt in progress ends
/// first.
pub async fn run_sender(shared: Arc<Shared>, stop: CancellationToken) {
    while let Some(entry) = next_ready(&shared, &stop).await {
        let _in_flight = InFlight::count(&shared);
        attempt(&shared, entry.delivery, entry.request).await;
    }
}

/// One attempt counted in `Shared::in_flight` until it is dropped, also by a panic.
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn count(shared: &'a Shared) -> Self {
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
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

/// Pops the oldest sendable delivery, queues the expired ones as released, and wakes the
/// loop when the queue has run low.
fn pop_ready(shared: &Shared) -> Option<ReadyDelivery> {
    let mut expired = Vec::new();
    let (entry, remaining) = {
        let mut ready = shared.lock_ready();
        let entry = ready.pop_sendable(Instant::now(), &mut expired);
        (entry, ready.len())
    };

    for delivery in expired {
        tracing::debug!(
            delivery_id = delivery.id,
            "claimed delivery given back because it waited too long for a sender"
        );
        if shared.outcomes.send(delivery.released()).is_err() {
            // The loop has stopped, and the lease gives the delivery back.
            break;
        }
    }
    if remaining <= shared.ready_low_water() {
        shared.ready_low.notify_one();
    }
    entry
}

//! The queue of attempt outcomes that the worker writes together with its next claim.
//!
//! A fan-out to thousands of webhooks would otherwise commit, and sync the database
//! file, once per delivery, which limits it to the disk's sync rate.

use tokio::sync::mpsc;

use super::outbox::OutcomeRecord;

/// Sending side of the queue, shared by the attempts.
///
/// The queue needs no capacity limit: the senders only attempt deliveries from the
/// ready queue, which the worker refills only in a loop turn that drained this queue
/// first. So at most two ready queues' worth of outcomes wait here.
#[derive(Clone)]
pub struct OutcomeSender(mpsc::UnboundedSender<OutcomeRecord>);

/// Receiving side of the queue, owned by the worker loop.
pub struct OutcomeReceiver(mpsc::UnboundedReceiver<OutcomeRecord>);

/// Error returned when the worker loop has ended, so an outcome cannot be recorded.
#[derive(Debug, thiserror::Error)]
#[error("the delivery worker has stopped, so the outcome was not recorded")]
pub struct WorkerStopped;

/// Creates an empty queue.
pub fn outcome_queue() -> (OutcomeSender, OutcomeReceiver) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (OutcomeSender(sender), OutcomeReceiver(receiver))
}

impl OutcomeSender {
    /// Queues `record` for the worker's next transaction.
    pub fn send(&self, record: OutcomeRecord) -> Result<(), WorkerStopped> {
        self.0.send(record).map_err(|_| WorkerStopped)
    }
}

impl OutcomeReceiver {
    /// Moves every queued outcome to `records` without waiting, and returns how many
    /// were moved.
    pub fn drain_into(&mut self, records: &mut Vec<OutcomeRecord>) -> usize {
        let before = records.len();
        while let Ok(record) = self.0.try_recv() {
            records.push(record);
        }
        records.len() - before
    }
}

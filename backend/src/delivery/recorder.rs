//! The outcome recorder: a task that writes the outcomes of attempts to the outbox in
//! batches, one transaction for all the outcomes that arrived while the previous batch
//! was being written.
//!
//! A fan-out to thousands of webhooks would otherwise commit, and sync the database
//! file, once per delivery, which limits it to the disk's sync rate.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::outbox::OutcomeRecord;
use crate::store::Store;

/// Maximum number of outcomes written in one transaction.
const MAX_BATCH: usize = 512;

/// Maximum number of outcomes waiting for the recorder. A full queue makes attempts wait before they
/// release their permit, so memory stays bounded when the database is slower than the
/// webhooks.
const QUEUE_CAPACITY: usize = 2 * MAX_BATCH;

/// Sending side of the recorder, shared by the attempts.
#[derive(Clone)]
pub struct OutcomeRecorder {
    sender: mpsc::Sender<OutcomeRecord>,
}

/// Error returned when the recorder task has ended, so an outcome cannot be recorded.
#[derive(Debug, thiserror::Error)]
#[error("the outcome recorder has stopped")]
pub struct RecorderStopped;

impl OutcomeRecorder {
    /// Starts the recorder task. It runs until `stop` is cancelled, then writes the
    /// outcomes still queued and ends.
    pub fn start(store: Store, stop: CancellationToken) -> (Self, JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let task = tokio::spawn(record_batches(store, receiver, stop));
        (Self { sender }, task)
    }

    /// Queues `record`, waiting while the queue is full. The outcome is stored once its
    /// batch commits.
    pub async fn record(&self, record: OutcomeRecord) -> Result<(), RecorderStopped> {
        self.sender.send(record).await.map_err(|_| RecorderStopped)
    }
}

async fn record_batches(
    store: Store,
    mut receiver: mpsc::Receiver<OutcomeRecord>,
    stop: CancellationToken,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = tokio::select! {
            received = receiver.recv_many(&mut batch, MAX_BATCH) => received,
            () = stop.cancelled() => {
                // Closing lets the queued outcomes drain, then `recv_many` returns 0.
                receiver.close();
                receiver.recv_many(&mut batch, MAX_BATCH).await
            }
        };
        if received == 0 {
            break;
        }

        let records = std::mem::replace(&mut batch, Vec::with_capacity(MAX_BATCH));
        let delivery_ids: Vec<i64> = records.iter().map(OutcomeRecord::delivery_id).collect();
        if let Err(error) = store.record_outcomes(records).await {
            // The deliveries keep their lease and are attempted again when it ends.
            tracing::error!(
                error = %crate::delivery::worker::error_chain(&error),
                deliveries = delivery_ids.len(),
                ?delivery_ids,
                "recording delivery outcomes failed"
            );
        }
    }
}

//! The delivery worker: claims due deliveries from the outbox, holds back those whose
//! webhook is at its rate limit, posts the others concurrently and records each outcome.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::DeliverySettings;
use super::address::LocalDelivery;
use super::cycle::{CycleFailure, CycleResult, run_cycle, take_cycle_result};
use super::outbox::{OutcomeRecord, unix_millis};
use super::outcome_queue::{OutcomeReceiver, OutcomeSender, outcome_queue};
use super::rate_limit::RateLimits;
use super::ready::{MAX_DISPATCH_DELAY, ReadyQueue};
use super::send::WebhookClient;
use super::sender::run_sender;
use super::worker_lock::WorkerLock;
use crate::store::{Store, StoreError};

/// Maximum time that an outcome waits in the loop for the next claim before it is
/// recorded alone. When no attempt is in progress and no delivery is queued, outcomes
/// are recorded without this wait, after the store cycle in progress if one runs. The
/// loop also looks for new outcomes this often, so a card stays unrecorded at most about
/// twice this after its response, which is how long a crash could make the worker send
/// it again. After a failed cycle, outcomes wait for its retry instead.
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
    /// Builds the HTTP client and starts the worker. It sends once it has the worker
    /// lock of the database at `database`, and runs until `stop` is cancelled, then waits
    /// for the attempts in flight before it ends.
    pub fn start(
        store: Store,
        database: &Path,
        settings: DeliverySettings,
        dev_webhook_origin: Option<Url>,
        wake: WakeSignal,
        stop: CancellationToken,
    ) -> anyhow::Result<Self> {
        let (shared, outcome_receiver) = Shared::new(store, settings, dev_webhook_origin, wake)?;
        let shared = Arc::new(shared);

        // Two paths to one database, such as through a symbolic link, must share a lock.
        let database = database
            .canonicalize()
            .unwrap_or_else(|_| database.to_owned());
        let lock_path = WorkerLock::path_for(&database);
        let task = tokio::spawn(async move {
            let retry_delay = shared.settings.idle_poll;
            let Some(_lock) = acquire_lock(&lock_path, retry_delay, &stop).await else {
                return;
            };
            WorkerLoop::new(shared, outcome_receiver).run(stop).await;
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

/// Takes the worker lock at `path`, trying again every `retry_delay` while another worker
/// has it or the file cannot be opened. Returns `None` when `stop` is cancelled first.
async fn acquire_lock(
    path: &Path,
    retry_delay: Duration,
    stop: &CancellationToken,
) -> Option<WorkerLock> {
    // Each wait is logged when it starts or changes, not at every try.
    let mut logged: Option<LockWait> = None;
    loop {
        let wait = match WorkerLock::try_acquire(path) {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) => LockWait::Taken,
            Err(error) => LockWait::Failed(error.to_string()),
        };
        if logged.as_ref() != Some(&wait) {
            match &wait {
                LockWait::Taken => tracing::warn!(
                    lock = %path.display(),
                    "another delivery worker sends from this database; this one waits until it stops"
                ),
                LockWait::Failed(error) => tracing::error!(
                    lock = %path.display(),
                    error,
                    "opening the worker lock file failed; trying again"
                ),
            }
            logged = Some(wait);
        }

        tokio::select! {
            () = stop.cancelled() => return None,
            () = tokio::time::sleep(retry_delay) => {}
        }
    }
}

/// Reason the worker waits for its lock.
#[derive(PartialEq, Eq)]
enum LockWait {
    /// Another worker has the lock.
    Taken,
    /// The lock file could not be opened or locked, with the error's message.
    Failed(String),
}

/// State shared by the worker loop, its store cycles and its sender tasks.
pub(super) struct Shared {
    pub(super) store: Store,
    pub(super) client: WebhookClient,
    pub(super) outcomes: OutcomeSender,
    pub(super) settings: DeliverySettings,
    pub(super) dev_webhook_origin: Option<Url>,
    pub(super) limits: Arc<RateLimits>,
    pub(super) random: Mutex<fastrand::Rng>,
    /// Claimed deliveries waiting for a sender.
    ready: Mutex<ReadyQueue>,
    /// Wakes the waiting senders when deliveries were queued.
    pub(super) ready_added: Notify,
    /// Wakes the loop when a sender leaves `ready_low_water` deliveries or fewer in the
    /// ready queue, so that the loop claims more.
    pub(super) ready_low: Notify,
    /// Wakes the loop when the last attempt in progress ended and no delivery is
    /// queued, so that it records the outcomes without waiting for more.
    pub(super) attempts_ended: Notify,
    /// Queue length at or below which the loop claims again. The loop adapts it to the
    /// webhooks' speed.
    ready_low_water: AtomicUsize,
    /// Attempts in progress.
    pub(super) in_flight: AtomicUsize,
    /// Wakes the loop when deliveries were added to the outbox.
    wake: WakeSignal,
}

impl Shared {
    /// Builds the state of a worker with an empty ready queue and the HTTP client, and
    /// returns it with the receiving side of its outcome queue.
    pub(super) fn new(
        store: Store,
        settings: DeliverySettings,
        dev_webhook_origin: Option<Url>,
        wake: WakeSignal,
    ) -> Result<(Self, OutcomeReceiver), rustls::Error> {
        let local = match dev_webhook_origin {
            Some(_) => LocalDelivery::On,
            None => LocalDelivery::Off,
        };
        let client = WebhookClient::new(settings.request_timeout, local)?;
        let (outcomes, outcome_receiver) = outcome_queue();
        let capacity = READY_PER_SENDER * settings.concurrency.max(1);
        let shared = Self {
            store,
            client,
            outcomes,
            limits: Arc::new(RateLimits::with_start_delay(
                &settings.rate_windows,
                MAX_DISPATCH_DELAY,
            )),
            random: Mutex::new(fastrand::Rng::new()),
            ready: Mutex::new(ReadyQueue::new(capacity)),
            ready_added: Notify::new(),
            ready_low: Notify::new(),
            attempts_ended: Notify::new(),
            ready_low_water: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            settings,
            dev_webhook_origin,
            wake,
        };
        Ok((shared, outcome_receiver))
    }

    pub(super) fn lock_ready(&self) -> MutexGuard<'_, ReadyQueue> {
        // The queue is consistent after any panic, because every change is one
        // `VecDeque` operation.
        self.ready.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn ready_low_water(&self) -> usize {
        self.ready_low_water.load(Ordering::Relaxed)
    }
}

/// Most deliveries claimed ahead, per sender. A fan-out's store cycle takes a few
/// milliseconds, and the next one starts when half of the queue target is left, so the
/// senders must have several rounds queued to go on sending while it runs.
const READY_PER_SENDER: usize = 16;

/// Queue target per sender before the first full claim. Slow webhooks would leave most
/// of a full queue waiting past its dispatch delay, so the target starts low and doubles
/// with each full claim that gave nothing back.
const FIRST_READY_PER_SENDER: usize = 2;

/// Wait before the next store cycle after one failed, so that a lasting database error
/// is retried once a second rather than in a tight loop.
const CYCLE_RETRY_DELAY: Duration = Duration::from_secs(1);

/// State of the worker loop, which runs the store cycles while the senders attempt the
/// claimed deliveries.
struct WorkerLoop {
    shared: Arc<Shared>,
    outcomes: OutcomeReceiver,
    senders: JoinSet<()>,
    concurrency: usize,
    /// The ready queue's capacity.
    capacity: usize,
    /// Deliveries that the ready queue should hold after a claim. It is halved when
    /// queued deliveries wait too long, because the webhooks respond slowly, and doubled
    /// after each full claim without that, up to `capacity`. The loop claims again when
    /// half of it is left (`Shared::ready_low_water`).
    target_ready: usize,
    expired_since_claim: bool,
    /// Outcomes waiting for the next store cycle, and when the oldest arrived.
    pending: Vec<OutcomeRecord>,
    oldest_pending: Option<Instant>,
    /// Deliveries claimed and not yet recorded: queued, in flight, or with an outcome
    /// not yet written. Claims skip them.
    in_progress: HashSet<i64>,
    /// The store cycle in progress. At most one runs at a time.
    cycle: Option<JoinHandle<Result<CycleResult, CycleFailure>>>,
    /// Deliveries whose outcomes the cycle in progress writes.
    recording: HashSet<i64>,
    /// Whether new deliveries were added while the cycle ran, which its `next_due_at`
    /// does not cover.
    woken_during_cycle: bool,
    /// Time from which a claim may find due deliveries again, after one found fewer
    /// than it could take.
    claim_after: Option<Instant>,
    /// Time before which no cycle starts, after one failed.
    retry_after: Option<Instant>,
}

impl WorkerLoop {
    fn new(shared: Arc<Shared>, outcomes: OutcomeReceiver) -> Self {
        let concurrency = shared.settings.concurrency.max(1);
        let capacity = shared.lock_ready().capacity();
        let mut worker_loop = Self {
            shared,
            outcomes,
            senders: JoinSet::new(),
            concurrency,
            capacity,
            target_ready: 0,
            expired_since_claim: false,
            pending: Vec::new(),
            oldest_pending: None,
            in_progress: HashSet::new(),
            cycle: None,
            recording: HashSet::new(),
            woken_during_cycle: false,
            claim_after: None,
            retry_after: None,
        };
        worker_loop.set_target_ready(FIRST_READY_PER_SENDER * concurrency);
        worker_loop
    }

    /// Sets the queue target, between one delivery and the capacity, and the queue
    /// length at which the senders wake the loop to claim again.
    fn set_target_ready(&mut self, target: usize) {
        self.target_ready = target.clamp(1, self.capacity);
        self.shared
            .ready_low_water
            .store(self.target_ready / 2, Ordering::Relaxed);
    }

    /// Runs until `stop` is cancelled, then waits for the attempts in progress, gives
    /// back the deliveries not started and records the outcomes.
    async fn run(mut self, stop: CancellationToken) {
        tracing::info!(concurrency = self.concurrency, "delivery worker started");
        for _ in 0..self.concurrency {
            self.senders
                .spawn(run_sender(Arc::clone(&self.shared), stop.clone()));
        }

        while !stop.is_cancelled() {
            self.shared.client.close_expired();
            self.collect_outcomes();
            self.replace_failed_senders(&stop);
            if self.cycle.is_none() {
                self.start_cycle_when_due();
            }

            let delay = self.idle_delay();
            tokio::select! {
                () = stop.cancelled() => {}
                () = self.shared.wake.woken() => {
                    self.claim_after = None;
                    self.woken_during_cycle = self.cycle.is_some();
                }
                () = self.shared.ready_low.notified() => {}
                () = self.shared.attempts_ended.notified() => {}
                () = tokio::time::sleep(delay) => {}
                joined = async { self.cycle.as_mut().expect("guarded by the branch condition").await },
                    if self.cycle.is_some() =>
                {
                    self.cycle = None;
                    self.finish_cycle(take_cycle_result(joined));
                }
            }
        }

        self.shut_down().await;
    }

    /// Takes the outcomes that the senders queued. Deliveries given back because they
    /// waited too long make the next claims smaller.
    fn collect_outcomes(&mut self) {
        let before = self.pending.len();
        if self.outcomes.drain_into(&mut self.pending) == 0 {
            return;
        }

        self.oldest_pending.get_or_insert_with(Instant::now);
        let released = self.pending[before..]
            .iter()
            .any(|record| matches!(record, OutcomeRecord::Released { .. }));
        if released {
            self.set_target_ready(self.target_ready / 2);
            self.expired_since_claim = true;
        }
    }

    /// Starts a new sender for each one that panicked, so the concurrency stays whole.
    fn replace_failed_senders(&mut self, stop: &CancellationToken) {
        while let Some(result) = self.senders.try_join_next() {
            if let Err(error) = result {
                tracing::error!(%error, "a delivery sender panicked; starting another");
                self.senders
                    .spawn(run_sender(Arc::clone(&self.shared), stop.clone()));
            }
        }
    }

    /// Starts a store cycle when the ready queue runs low and deliveries may be due, or
    /// when outcomes have waited long enough or the worker has nothing else in progress.
    fn start_cycle_when_due(&mut self) {
        let now = Instant::now();
        if self.retry_after.is_some_and(|after| now < after) {
            return;
        }
        let (queued, room) = {
            let ready = self.shared.lock_ready();
            (ready.len(), ready.room())
        };
        // Claiming while half the target is still queued keeps the queue from running
        // dry while the claim runs.
        let claim_limit = self.target_ready.saturating_sub(queued).min(room);
        let may_claim = queued <= self.target_ready / 2
            && claim_limit > 0
            && self.claim_after.is_none_or(|after| now >= after);
        let idle = queued == 0 && self.shared.in_flight.load(Ordering::Relaxed) == 0;
        let must_record = outcomes_due(self.oldest_pending, now, idle);
        if !may_claim && !must_record {
            return;
        }

        let records = std::mem::take(&mut self.pending);
        self.oldest_pending = None;
        if let Some(due_at) = earliest_due_at(&records) {
            // A claim that found nothing due did not see these retries.
            let due = instant_at(due_at);
            self.claim_after = self.claim_after.map(|after| after.min(due));
        }
        let limit = may_claim.then_some(claim_limit);
        self.recording = records.iter().map(OutcomeRecord::delivery_id).collect();
        // The cycle writes these outcomes before it claims, so the claim may take a
        // recorded delivery that is due again, such as a released one.
        let in_progress: Arc<[i64]> = self
            .in_progress
            .difference(&self.recording)
            .copied()
            .collect();
        let shared = Arc::clone(&self.shared);
        self.woken_during_cycle = false;
        self.cycle = Some(tokio::spawn(run_cycle(shared, records, limit, in_progress)));
    }

    /// Queues the deliveries that a cycle claimed for the senders and adapts the next
    /// claim. After a failed cycle, keeps its outcomes for the next one.
    fn finish_cycle(&mut self, result: Result<CycleResult, Vec<OutcomeRecord>>) {
        let recorded = std::mem::take(&mut self.recording);
        let result = match result {
            Ok(result) => {
                for id in recorded {
                    self.in_progress.remove(&id);
                }
                result
            }
            Err(outcomes) => {
                // A failed cycle returns the outcomes that it did not write. A cycle
                // that panicked after its commit returns none, because it wrote them.
                let returned: HashSet<i64> =
                    outcomes.iter().map(OutcomeRecord::delivery_id).collect();
                for id in recorded.into_iter().filter(|id| !returned.contains(id)) {
                    self.in_progress.remove(&id);
                }
                if !outcomes.is_empty() {
                    self.oldest_pending.get_or_insert_with(Instant::now);
                }
                self.pending.extend(outcomes);
                self.retry_after = Some(Instant::now() + CYCLE_RETRY_DELAY);
                return;
            }
        };
        self.retry_after = None;

        if let Some(limit) = result.limit {
            if result.claimed < limit && !self.woken_during_cycle {
                let idle_poll = self.shared.settings.idle_poll;
                self.claim_after = Some(next_claim_time(idle_poll, result.next_due_at));
            } else if result.claimed == limit && !self.expired_since_claim {
                self.set_target_ready(self.target_ready * 2);
            }
            self.expired_since_claim = false;
        }
        if result.due.is_empty() {
            return;
        }

        {
            let mut ready = self.shared.lock_ready();
            for (delivery, request) in result.due {
                self.in_progress.insert(delivery.id);
                ready.push(delivery, request, result.claimed_at);
            }
        }
        self.shared.ready_added.notify_waiters();
    }

    /// Returns how long the loop may sleep before it has work of its own: claiming again,
    /// recording outcomes that have waited long enough, or retrying a failed cycle.
    fn idle_delay(&self) -> Duration {
        let now = Instant::now();
        let mut delay = self.shared.settings.idle_poll;
        if let Some(after) = self.claim_after {
            delay = delay.min(after.saturating_duration_since(now));
        }
        if let Some(since) = self.oldest_pending {
            delay = delay.min((since + MAX_OUTCOME_WAIT).saturating_duration_since(now));
        }
        if let Some(after) = self.retry_after {
            delay = delay.max(after.saturating_duration_since(now));
        }
        // The senders queue outcomes without waking the loop, except after the last
        // attempt in progress, so it looks for them this often while attempts go on.
        if self.shared.in_flight.load(Ordering::Relaxed) > 0 {
            delay = delay.min(MAX_OUTCOME_WAIT);
        }
        delay
    }

    /// Records the outcomes so far, waits for the attempts in progress, gives back the
    /// deliveries not started and records the rest. The outcomes are written before the
    /// wait, so that a kill during a slow attempt loses as few as possible.
    async fn shut_down(mut self) {
        tracing::info!(
            in_flight = self.shared.in_flight.load(Ordering::Relaxed),
            "delivery worker stopping after the attempts in progress"
        );
        if let Some(cycle) = self.cycle.take() {
            let result = take_cycle_result(cycle.await);
            self.finish_cycle(result);
        }
        self.record_pending().await;

        while let Some(result) = self.senders.join_next().await {
            if let Err(error) = result {
                tracing::error!(%error, "a delivery sender panicked");
            }
        }
        let unsent: Vec<OutcomeRecord> = self
            .shared
            .lock_ready()
            .drain()
            .map(|delivery| delivery.released())
            .collect();
        self.pending.extend(unsent);
        self.record_pending().await;
        if !self.pending.is_empty() {
            tracing::warn!(
                outcomes = self.pending.len(),
                "outcomes not recorded at stop; their deliveries are sent again by the next worker"
            );
        }
    }

    /// Writes the queued outcomes in a cycle without a claim. On failure they stay
    /// queued for the next call.
    async fn record_pending(&mut self) {
        self.outcomes.drain_into(&mut self.pending);
        if self.pending.is_empty() {
            return;
        }
        let records = std::mem::take(&mut self.pending);
        let cycle = run_cycle(Arc::clone(&self.shared), records, None, Arc::new([])).await;
        if let Err(unrecorded) = take_cycle_result(Ok(cycle)) {
            self.pending = unrecorded;
        }
    }
}

/// Returns whether outcomes queued since `oldest_pending` must be recorded now, rather
/// than wait to share a store cycle with a claim. `idle` is true when no attempt is in
/// progress and no delivery is queued, so no other outcome would join them soon.
fn outcomes_due(oldest_pending: Option<Instant>, now: Instant, idle: bool) -> bool {
    oldest_pending.is_some_and(|since| idle || now.duration_since(since) >= MAX_OUTCOME_WAIT)
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
            // A released delivery, and one whose outcome was not written, is due at once.
            OutcomeRecord::Released { .. } | OutcomeRecord::Finished { .. } => Some(i64::MIN),
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
fn next_claim_time(idle_poll: Duration, next_due_at: Option<i64>) -> Instant {
    let latest = Instant::now() + idle_poll;
    next_due_at.map_or(latest, |due_at| instant_at(due_at).min(latest))
}

pub(super) fn log_store_error(error: &StoreError, message: &'static str) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_outcomes_wait_while_attempts_go_on() {
        let now = Instant::now();

        assert!(!outcomes_due(Some(now), now, false));
        assert!(outcomes_due(Some(now), now + MAX_OUTCOME_WAIT, false));
    }

    #[test]
    fn idle_worker_records_fresh_outcomes() {
        let now = Instant::now();

        assert!(outcomes_due(Some(now), now, true));
    }

    #[test]
    fn nothing_to_record_without_outcomes() {
        let now = Instant::now();

        assert!(!outcomes_due(None, now + MAX_OUTCOME_WAIT, true));
    }
}

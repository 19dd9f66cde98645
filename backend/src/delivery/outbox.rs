//! The outbox: task events and their card deliveries in SQLite.
//!
//! An event and one pending delivery per matching configuration are written in one
//! transaction, so an accepted event is never half stored. The worker keeps the ids of
//! the deliveries that it claimed in memory until their outcomes are written, so a
//! delivery whose worker died is claimed again as soon as a worker starts.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use uuid::Uuid;

use super::claim::{Claim, ClaimRequest, claim_in, uncount_request};
use crate::configuration::EventType;
use crate::events::TaskEvent;
use crate::store::{Store, StoreError, current_timestamp, id_text};

/// Maximum number of deliveries that the configuration delivery list returns.
pub const MAX_LISTED_DELIVERIES: u32 = 100;

/// State of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not attempted yet.
    Pending,
    /// The webhook accepted the card.
    Delivered,
    /// Attempted, and due again at `next_attempt_at`.
    Retrying,
    /// Given up: a permanent rejection, too many failures, or a removed webhook.
    Failed,
}

impl DeliveryState {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "retrying" => Some(Self::Retrying),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Delivery of one event to one configuration, as the API returns it. It never contains
/// the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub configuration_id: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub updated_at: String,
}

/// Delivery to one configuration, as the configuration's delivery list returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationDeliveryView {
    /// Event id, or `None` for the welcome card, which belongs to no event.
    pub event_id: Option<String>,
    /// `created`, `updated` or `welcome`.
    pub kind: String,
    pub configuration_id: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub updated_at: String,
}

/// Result of accepting an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcceptedEvent {
    pub event_id: Uuid,
    pub deliveries: usize,
}

/// How a retried attempt failed, which decides the counter it increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCause {
    Transient,
    Throttled,
}

/// Outcome of one claimed delivery, to be written by [`Store::record_and_claim`]. Every
/// variant but `Released` and `Finished` counts an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeRecord {
    /// The webhook accepted the card.
    Delivered { id: i64 },
    /// The attempt failed and the delivery is due again at `next_attempt_at` (Unix
    /// milliseconds).
    Retry {
        id: i64,
        cause: RetryCause,
        reason: String,
        next_attempt_at: i64,
    },
    /// The delivery is given up.
    Failed { id: i64, reason: String },
    /// The claimed delivery is given back without an attempt. The request counted by
    /// the rate limits at `counted_at` no longer counts, and the delivery stays due.
    Released { id: i64, counted_at: Option<i64> },
    /// The attempt ended with nothing for the cycle to write: its outcome was written
    /// apart, or writing it failed and the delivery stays due. The worker removes the
    /// delivery from its claims in progress.
    Finished { id: i64 },
}

impl OutcomeRecord {
    /// Returns the id of the delivery.
    pub fn delivery_id(&self) -> i64 {
        match self {
            Self::Delivered { id }
            | Self::Retry { id, .. }
            | Self::Failed { id, .. }
            | Self::Released { id, .. }
            | Self::Finished { id } => *id,
        }
    }
}

/// `last_error` of deliveries failed because their configuration became inactive.
pub(super) const INACTIVE_REASON: &str =
    "the configuration is inactive because its webhook was removed; save it again in Teams";

impl Store {
    /// Stores the event and one pending delivery for every active configuration that
    /// subscribes to its kind, in one transaction.
    pub async fn insert_event(&self, event: TaskEvent) -> Result<AcceptedEvent, StoreError> {
        self.run(move |connection| {
            let now = current_timestamp()?;
            let now_ms = unix_millis()?;
            let event_id = Uuid::new_v4();
            let event_id_text = id_text(event_id);
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;

            transaction.execute(
                "INSERT INTO events (
                   id, kind, task_id, title, description, assignee, due_date, link, created_at
                 ) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    event_id_text,
                    event.kind.as_str(),
                    event.task_id,
                    event.title,
                    event.description,
                    event.assignee,
                    event.due_date,
                    event.link,
                    now,
                ],
            )?;
            let deliveries = transaction.execute(
                "INSERT INTO deliveries (
                   event_id, configuration_id, kind, state, next_attempt_at, created_at,
                   updated_at
                 )
                 SELECT ?1, c.id, ?2, 'pending', ?3, ?4, ?4
                 FROM configurations c
                 JOIN configuration_event_types t ON t.configuration_id = c.id
                 WHERE c.active = 1 AND t.event_type = ?2
                 ORDER BY c.id",
                params![event_id_text, event.kind.as_str(), now_ms, now],
            )?;

            transaction.commit()?;
            Ok(AcceptedEvent {
                event_id,
                deliveries,
            })
        })
        .await
    }

    /// Returns the deliveries of an event ordered by configuration id, or `None` when
    /// there is no such event.
    pub async fn event_deliveries(
        &self,
        event_id: Uuid,
    ) -> Result<Option<Vec<DeliveryView>>, StoreError> {
        self.run(move |connection| {
            let event_id = id_text(event_id);
            let transaction = connection.transaction()?;
            if !row_exists(
                &transaction,
                "SELECT 1 FROM events WHERE id = ?1",
                &event_id,
            )? {
                return Ok(None);
            }

            let mut statement = transaction.prepare(
                "SELECT configuration_id, state, attempts, last_error, updated_at
                 FROM deliveries WHERE event_id = ?1 ORDER BY configuration_id",
            )?;
            let rows = statement
                .query_map([&event_id], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, u32>(2)?,
                        row.get::<_, Option<String>>(3)?,
                        row.get::<_, String>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;

            let mut views = Vec::with_capacity(rows.len());
            for (configuration_id, state, attempts, last_error, updated_at) in rows {
                views.push(DeliveryView {
                    configuration_id,
                    state: parse_state(&state)?,
                    attempts,
                    last_error,
                    updated_at,
                });
            }
            Ok(Some(views))
        })
        .await
    }

    /// Returns the newest deliveries of a configuration, newest first, or `None` when
    /// there is no such configuration.
    pub async fn configuration_deliveries(
        &self,
        configuration_id: Uuid,
    ) -> Result<Option<Vec<ConfigurationDeliveryView>>, StoreError> {
        self.run(move |connection| {
            let configuration_id = id_text(configuration_id);
            let transaction = connection.transaction()?;
            let exists_query = "SELECT 1 FROM configurations WHERE id = ?1";
            if !row_exists(&transaction, exists_query, &configuration_id)? {
                return Ok(None);
            }

            let mut statement = transaction.prepare(
                "SELECT event_id, kind, state, attempts, last_error, updated_at
                 FROM deliveries WHERE configuration_id = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = statement
                .query_map(params![configuration_id, MAX_LISTED_DELIVERIES], |row| {
                    Ok((
                        row.get::<_, Option<String>>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, u32>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, String>(5)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;

            let mut views = Vec::with_capacity(rows.len());
            for (event_id, kind, state, attempts, last_error, updated_at) in rows {
                views.push(ConfigurationDeliveryView {
                    event_id,
                    kind,
                    configuration_id: configuration_id.clone(),
                    state: parse_state(&state)?,
                    attempts,
                    last_error,
                    updated_at,
                });
            }
            Ok(Some(views))
        })
        .await
    }

    /// Claims up to `request.limit` due deliveries in one transaction, as
    /// [`Store::record_and_claim`] describes.
    #[cfg(test)]
    pub async fn claim_due(&self, request: ClaimRequest) -> Result<Claim, StoreError> {
        self.record_and_claim(Arc::new([]), Some(request)).await
    }

    /// Records the outcomes of finished attempts, then claims up to `claim.limit`
    /// deliveries due at `claim.now_ms`, oldest due first, all in one transaction. A
    /// fan-out therefore commits once per worker cycle rather than once per delivery.
    /// When it fails, nothing is written. The commit does not wait for the disk: a power
    /// loss can lose the last cycles, whose cards are then sent again, and whose
    /// requests the rate limits then no longer count.
    ///
    /// The claim skips the deliveries in `claim.in_progress`. A delivery whose webhook
    /// `claim.limits` admit is returned, and its request is recorded in the webhook's
    /// send history. A delivery whose webhook is at its limit is moved to the time the
    /// limit allows. Deliveries of inactive configurations are failed.
    pub async fn record_and_claim(
        &self,
        outcomes: Arc<[OutcomeRecord]>,
        claim: Option<ClaimRequest>,
    ) -> Result<Claim, StoreError> {
        self.run(move |connection| {
            // A lost cycle costs at most a resend, so its commit does not wait for the
            // disk. The next commit of the API, such as an accepted event, syncs it.
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            let claimed = record_and_claim_in(connection, &outcomes, claim.as_ref());
            if let Err(error) = connection.pragma_update(None, "synchronous", "FULL") {
                tracing::error!(
                    %error,
                    "restoring synchronous = FULL failed; API writes may not wait for the disk"
                );
            }
            claimed
        })
        .await
    }

    /// Returns the earliest `next_attempt_at` of the deliveries still to send.
    #[cfg(test)]
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        self.run(|connection| super::claim::read_next_due_at(connection, "[]"))
            .await
    }

    /// Records the outcomes of several attempts in one transaction. When it fails, none
    /// of them is recorded.
    #[cfg(test)]
    pub async fn record_outcomes(&self, records: Vec<OutcomeRecord>) -> Result<(), StoreError> {
        self.record_and_claim(records.into(), None).await?;
        Ok(())
    }

    /// Records an attempt whose webhook was removed: fails this delivery with `reason`,
    /// marks the configuration inactive and fails all its other unsent deliveries, in one
    /// transaction. Returns how many other deliveries were failed.
    pub async fn deactivate_configuration(
        &self,
        delivery_id: i64,
        configuration_id: String,
        reason: String,
    ) -> Result<usize, StoreError> {
        self.run(move |connection| {
            let now = current_timestamp()?;
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;

            transaction.execute(
                "UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?1",
                [delivery_id],
            )?;
            fail_delivery(&transaction, delivery_id, &reason, &now)?;
            transaction.execute(
                "UPDATE configurations SET active = 0, updated_at = ?2 WHERE id = ?1",
                params![configuration_id, now],
            )?;
            let others = transaction.execute(
                "UPDATE deliveries SET state = 'failed', last_error = ?2, updated_at = ?3
                 WHERE configuration_id = ?1 AND state IN ('pending', 'retrying')",
                params![configuration_id, INACTIVE_REASON, now],
            )?;

            transaction.commit()?;
            Ok(others)
        })
        .await
    }
}

/// Inserts the pending welcome card delivery of a new configuration inside `transaction`.
pub(crate) fn insert_welcome_delivery(
    transaction: &Transaction<'_>,
    configuration_id: &str,
    now: &str,
) -> Result<(), StoreError> {
    transaction.execute(
        "INSERT INTO deliveries (
           event_id, configuration_id, kind, state, next_attempt_at, created_at, updated_at
         ) VALUES (NULL, ?1, 'welcome', 'pending', ?2, ?3, ?3)",
        params![configuration_id, unix_millis()?, now],
    )?;
    Ok(())
}

/// Returns whether `query`, which selects by the id `?1`, finds a row.
fn row_exists(transaction: &Transaction<'_>, query: &str, id: &str) -> Result<bool, StoreError> {
    let found = transaction.query_row(query, [id], |_| Ok(())).optional()?;
    Ok(found.is_some())
}

/// Returns `duration` in milliseconds, saturated at `i64::MAX`.
pub fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Returns the current time in Unix milliseconds, the unit of `next_attempt_at`.
pub fn unix_millis() -> Result<i64, StoreError> {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| StoreError::Clock)?;
    Ok(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

pub(super) fn read_event_types(
    transaction: &Transaction<'_>,
    configuration_id: &str,
) -> Result<Vec<EventType>, StoreError> {
    let mut statement = transaction.prepare(
        "SELECT event_type FROM configuration_event_types
         WHERE configuration_id = ?1 ORDER BY event_type",
    )?;
    let names = statement
        .query_map([configuration_id], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;

    let mut event_types = Vec::with_capacity(names.len());
    for name in names {
        let event_type =
            EventType::from_name(&name).ok_or_else(|| StoreError::UnknownStoredEventType {
                id: configuration_id.to_owned(),
                event_type: name.clone(),
            })?;
        event_types.push(event_type);
    }
    Ok(event_types)
}

/// Runs the transaction of [`Store::record_and_claim`].
fn record_and_claim_in(
    connection: &mut rusqlite::Connection,
    outcomes: &[OutcomeRecord],
    claim: Option<&ClaimRequest>,
) -> Result<Claim, StoreError> {
    let now = current_timestamp()?;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    write_outcomes(&transaction, outcomes, &now)?;
    let claimed = match claim {
        Some(request) => claim_in(&transaction, request, &now)?,
        None => Claim::default(),
    };
    transaction.commit()?;
    Ok(claimed)
}

/// Writes `records` inside `transaction`. The deliveries that succeeded, nearly all
/// of a fan-out, are marked in one statement.
fn write_outcomes(
    transaction: &Transaction<'_>,
    records: &[OutcomeRecord],
    now: &str,
) -> Result<(), StoreError> {
    let mut delivered = Vec::new();
    for record in records {
        match record {
            OutcomeRecord::Delivered { id } => delivered.push(*id),
            _ => write_outcome(transaction, record, now)?,
        }
    }
    if delivered.is_empty() {
        return Ok(());
    }

    transaction
        .prepare_cached(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
               last_error = NULL, updated_at = ?2
             WHERE id IN (SELECT value FROM json_each(?1))",
        )?
        .execute(params![json_id_list(&delivered), now])?;
    Ok(())
}

/// Returns `ids` as a JSON array, the parameter of a statement that changes many rows
/// through `json_each`. One execution for all the rows of a cycle saves the fixed cost
/// of an execution per row: binding, opening cursors and resetting.
pub(super) fn json_id_list(ids: &[i64]) -> String {
    let mut list = String::with_capacity(ids.len() * 8 + 2);
    list.push('[');
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            list.push(',');
        }
        list.push_str(&id.to_string());
    }
    list.push(']');
    list
}

/// Writes one outcome other than a success.
fn write_outcome(
    transaction: &Transaction<'_>,
    record: &OutcomeRecord,
    now: &str,
) -> Result<(), StoreError> {
    match record {
        OutcomeRecord::Delivered { .. } => {
            unreachable!("write_outcomes marks the delivered ones in one statement")
        }
        OutcomeRecord::Retry {
            id,
            cause,
            reason,
            next_attempt_at,
        } => {
            let (transient, throttled) = match cause {
                RetryCause::Transient => (1, 0),
                RetryCause::Throttled => (0, 1),
            };
            transaction
                .prepare_cached(
                    "UPDATE deliveries SET state = 'retrying', attempts = attempts + 1,
                       transient_failures = transient_failures + ?2,
                       throttled_responses = throttled_responses + ?3,
                       last_error = ?4, next_attempt_at = ?5, updated_at = ?6
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    transient,
                    throttled,
                    reason,
                    next_attempt_at,
                    now
                ])?;
            if *cause == RetryCause::Throttled {
                // The other deliveries to the same webhook wait as well, so that they
                // do not hit the same throttling.
                pause_webhook(transaction, *id, *next_attempt_at)?;
            }
        }
        OutcomeRecord::Released { id, counted_at } => {
            if let Some(counted_at) = counted_at {
                uncount_request(transaction, *id, *counted_at)?;
            }
        }
        OutcomeRecord::Finished { .. } => {}
        OutcomeRecord::Failed { id, reason } => {
            transaction
                .prepare_cached("UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?1")?
                .execute([id])?;
            fail_delivery(transaction, *id, reason, now)?;
        }
    }
    Ok(())
}

/// Pauses the webhook of delivery `id` until `until_ms`, unless a later pause is
/// already stored.
fn pause_webhook(transaction: &Transaction<'_>, id: i64, until_ms: i64) -> Result<(), StoreError> {
    transaction
        .prepare_cached(
            "INSERT INTO webhook_send_history (configuration_id, sent_at, paused_until)
             SELECT configuration_id, X'', ?2 FROM deliveries WHERE id = ?1
             ON CONFLICT (configuration_id) DO UPDATE
             SET paused_until = max(coalesce(paused_until, 0), excluded.paused_until)",
        )?
        .execute(params![id, until_ms])?;
    Ok(())
}

pub(super) fn fail_delivery(
    connection: &rusqlite::Connection,
    id: i64,
    reason: &str,
    now: &str,
) -> Result<(), StoreError> {
    connection.execute(
        "UPDATE deliveries SET state = 'failed', last_error = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, reason, now],
    )?;
    Ok(())
}

fn parse_state(name: &str) -> Result<DeliveryState, StoreError> {
    DeliveryState::from_name(name).ok_or_else(|| StoreError::UnknownDeliveryState(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::configuration::{Configuration, Context};
    use crate::delivery::rate_limit::{RateLimits, RateWindow};
    use crate::webhook_url::WebhookUrl;

    fn configuration() -> Configuration {
        let url =
            "https://contoso.webhook.office.com/webhookb2/group@tenant/IncomingWebhook/abc/owner";
        Configuration {
            id: Uuid::new_v4(),
            webhook_url: WebhookUrl::parse(url, None).unwrap(),
            event_types: BTreeSet::from([EventType::Created]),
            config_name: "Tasks".to_owned(),
            context: Context::default(),
        }
    }

    async fn only_delivery(store: &Store, configuration_id: &str) -> ConfigurationDeliveryView {
        let id = Uuid::parse_str(configuration_id).unwrap();
        let mut views = store.configuration_deliveries(id).await.unwrap().unwrap();
        assert_eq!(views.len(), 1);
        views.remove(0)
    }

    #[tokio::test]
    async fn batch_records_each_outcome() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(&directory.path().join("test.sqlite3"))
            .await
            .unwrap();
        for _ in 0..4 {
            store.upsert(configuration()).await.unwrap();
        }
        let now_ms = unix_millis().unwrap();
        let claim = store
            .claim_due(ClaimRequest {
                now_ms,
                limit: 10,
                in_progress: Arc::new([]),
                limits: Arc::new(RateLimits::new(&[])),
            })
            .await
            .unwrap();
        assert_eq!(claim.due.len(), 4);
        let [delivered, also_delivered, retried, failed] =
            [0, 1, 2, 3].map(|index| &claim.due[index]);

        store
            .record_outcomes(vec![
                OutcomeRecord::Delivered { id: delivered.id },
                OutcomeRecord::Delivered {
                    id: also_delivered.id,
                },
                OutcomeRecord::Retry {
                    id: retried.id,
                    cause: RetryCause::Throttled,
                    reason: "throttled".to_owned(),
                    next_attempt_at: now_ms + 10_000,
                },
                OutcomeRecord::Failed {
                    id: failed.id,
                    reason: "rejected".to_owned(),
                },
            ])
            .await
            .unwrap();

        let delivered = only_delivery(&store, &delivered.configuration_id).await;
        let also_delivered = only_delivery(&store, &also_delivered.configuration_id).await;
        let retried = only_delivery(&store, &retried.configuration_id).await;
        let failed = only_delivery(&store, &failed.configuration_id).await;
        assert_eq!(delivered.state, DeliveryState::Delivered);
        assert_eq!(delivered.attempts, 1);
        assert_eq!(also_delivered.state, DeliveryState::Delivered);
        assert_eq!(also_delivered.attempts, 1);
        assert_eq!(retried.state, DeliveryState::Retrying);
        assert_eq!(retried.attempts, 1);
        assert_eq!(retried.last_error.as_deref(), Some("throttled"));
        assert_eq!(failed.state, DeliveryState::Failed);
        assert_eq!(failed.attempts, 1);
        assert_eq!(failed.last_error.as_deref(), Some("rejected"));
        assert_eq!(store.next_due_at().await.unwrap(), Some(now_ms + 10_000));
    }

    #[tokio::test]
    async fn cycle_leaves_api_writes_synced() {
        let (_directory, store, limits) = store_with_one_delivery().await;

        store.claim_due(claim_now(&limits)).await.unwrap();
        let synchronous: i64 = store
            .run(|connection| {
                Ok(connection.pragma_query_value(None, "synchronous", |row| row.get(0))?)
            })
            .await
            .unwrap();

        // 2 is FULL: every later commit, such as an accepted event, waits for the disk.
        assert_eq!(synchronous, 2);
    }

    #[test]
    fn id_list_is_json_array() {
        assert_eq!(json_id_list(&[]), "[]");
        assert_eq!(json_id_list(&[7]), "[7]");
        assert_eq!(json_id_list(&[1, -2, 30]), "[1,-2,30]");
    }

    /// Stores one configuration, whose welcome card is due, and returns a claim request
    /// that admits one request a minute to each webhook.
    async fn store_with_one_delivery() -> (tempfile::TempDir, Store, Arc<RateLimits>) {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(&directory.path().join("test.sqlite3"))
            .await
            .unwrap();
        store.upsert(configuration()).await.unwrap();
        let limits = Arc::new(RateLimits::new(&[RateWindow::new(
            Duration::from_secs(60),
            1,
        )]));
        (directory, store, limits)
    }

    fn claim_now(limits: &Arc<RateLimits>) -> ClaimRequest {
        ClaimRequest {
            now_ms: unix_millis().unwrap(),
            limit: 10,
            in_progress: Arc::new([]),
            limits: Arc::clone(limits),
        }
    }

    #[tokio::test]
    async fn released_request_stops_counting() {
        let (_directory, store, limits) = store_with_one_delivery().await;
        let first = store.claim_due(claim_now(&limits)).await.unwrap();
        assert_eq!(first.due.len(), 1);
        let delivery = &first.due[0];
        assert!(delivery.counted_at.is_some());

        store
            .record_outcomes(vec![OutcomeRecord::Released {
                id: delivery.id,
                counted_at: delivery.counted_at,
            }])
            .await
            .unwrap();
        let second = store.claim_due(claim_now(&limits)).await.unwrap();

        assert_eq!(second.due.len(), 1);
        assert!(second.postponed.is_empty());
    }

    #[tokio::test]
    async fn retried_request_still_counts() {
        let (_directory, store, limits) = store_with_one_delivery().await;
        let first = store.claim_due(claim_now(&limits)).await.unwrap();
        assert_eq!(first.due.len(), 1);

        store
            .record_outcomes(vec![OutcomeRecord::Retry {
                id: first.due[0].id,
                cause: RetryCause::Transient,
                reason: "server error".to_owned(),
                next_attempt_at: unix_millis().unwrap(),
            }])
            .await
            .unwrap();
        let second = store.claim_due(claim_now(&limits)).await.unwrap();

        assert!(second.due.is_empty());
        assert_eq!(second.postponed.len(), 1);
    }

    #[tokio::test]
    async fn claimed_delivery_is_skipped() {
        let (_directory, store, limits) = store_with_one_delivery().await;
        let first = store.claim_due(claim_now(&limits)).await.unwrap();
        assert_eq!(first.due.len(), 1);
        // The delivery just taken is still due in the database, but not for the worker.
        assert_eq!(first.next_due_at, None);
        let id = first.due[0].id;

        let in_progress = store
            .claim_due(ClaimRequest {
                in_progress: Arc::new([id]),
                ..claim_now(&limits)
            })
            .await
            .unwrap();
        let without_skip = store.claim_due(claim_now(&limits)).await.unwrap();

        assert!(in_progress.due.is_empty());
        assert!(in_progress.postponed.is_empty());
        assert_eq!(in_progress.next_due_at, None);
        assert_eq!(without_skip.postponed.len(), 1);
        assert_eq!(without_skip.postponed[0].id, id);
    }
}

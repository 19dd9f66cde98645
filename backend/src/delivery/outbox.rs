//! The outbox: task events and their card deliveries in SQLite.
//!
//! An event and one pending delivery per matching configuration are written in one
//! transaction, so an accepted event is never half stored. The worker claims due
//! deliveries by moving their `next_attempt_at` past a lease, so that a delivery whose
//! worker died is retried once the lease ends.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;
use uuid::Uuid;

use super::rate_limit::{RateLimits, SendHistory};
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

/// Card that a due delivery sends.
#[derive(Debug, Clone)]
pub enum DueCard {
    /// The card of a task event. Deliveries of one event in one claim share it.
    Event(Arc<TaskEvent>),
    Welcome {
        config_name: String,
        event_types: Vec<EventType>,
    },
}

/// Delivery claimed by the worker, with everything needed to send it.
///
/// It has no `Debug` implementation because it contains the webhook URL.
pub struct DueDelivery {
    pub id: i64,
    pub event_id: Option<String>,
    pub configuration_id: String,
    /// The configuration's webhook URL. It is a secret: never log it.
    pub webhook_url: String,
    pub attempts: u32,
    pub transient_failures: u32,
    pub throttled_responses: u32,
    pub card: DueCard,
}

/// What one claim takes and how.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// The current time, in Unix milliseconds.
    pub now_ms: i64,
    /// Maximum number of deliveries to claim.
    pub limit: usize,
    /// How long a claimed delivery is leased before another claim may take it again.
    pub lease_ms: i64,
    pub limits: Arc<RateLimits>,
}

/// Deliveries taken by one claim.
#[derive(Default)]
pub struct Claim {
    /// Deliveries to send now, leased to the caller and admitted by the rate limits.
    pub due: Vec<DueDelivery>,
    /// Deliveries that were failed instead because their configuration is inactive, as
    /// (delivery id, configuration id, event id).
    pub dropped: Vec<(i64, String, Option<String>)>,
    /// Deliveries moved to a later time because their webhook is at its rate limit.
    pub postponed: Vec<PostponedDelivery>,
    /// When the claim took fewer deliveries than its limit: the earliest
    /// `next_attempt_at` of the deliveries still to send, if any.
    pub next_due_at: Option<i64>,
}

/// Delivery that a claim moved to a later time without counting an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostponedDelivery {
    pub id: i64,
    pub configuration_id: String,
    pub event_id: Option<String>,
    /// Time until the webhook's rate limits admit a request again.
    pub wait: Duration,
}

/// How a retried attempt failed, which decides the counter it increments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCause {
    Transient,
    Throttled,
}

/// Outcome of one claimed delivery, to be written by [`Store::record_outcomes`]. Every
/// variant but `Released` counts an attempt.
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
    /// The claim is given back without an attempt, which is not counted, and the
    /// delivery is due again at once.
    Released { id: i64 },
}

impl OutcomeRecord {
    /// Returns the id of the delivery.
    pub fn delivery_id(&self) -> i64 {
        match self {
            Self::Delivered { id }
            | Self::Retry { id, .. }
            | Self::Failed { id, .. }
            | Self::Released { id } => *id,
        }
    }
}

/// `last_error` of deliveries failed because their configuration became inactive.
const INACTIVE_REASON: &str =
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
            let exists = transaction
                .query_row(
                    "SELECT 1 FROM events WHERE id = ?1",
                    [&event_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !exists {
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
            let exists = transaction
                .query_row(
                    "SELECT 1 FROM configurations WHERE id = ?1",
                    [&configuration_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !exists {
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
    pub async fn claim_due(&self, request: ClaimRequest) -> Result<Claim, StoreError> {
        self.record_and_claim(Vec::new(), Some(request)).await
    }

    /// Records the outcomes of finished attempts, then claims up to `claim.limit`
    /// deliveries due at `claim.now_ms`, oldest due first, all in one transaction. A
    /// fan-out therefore commits, and syncs the database file, once per worker cycle
    /// rather than once per delivery. When it fails, nothing is written, and the
    /// recorded deliveries are attempted again after their lease.
    ///
    /// A delivery whose webhook `claim.limits` admit is leased by moving its
    /// `next_attempt_at` to `now_ms + lease_ms`, and the request is recorded in the
    /// webhook's send history. A delivery whose webhook is at its limit is moved to the
    /// time the limit allows. Deliveries of inactive configurations are failed.
    pub async fn record_and_claim(
        &self,
        outcomes: Vec<OutcomeRecord>,
        claim: Option<ClaimRequest>,
    ) -> Result<Claim, StoreError> {
        self.run(move |connection| {
            let now = current_timestamp()?;
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for outcome in &outcomes {
                write_outcome(&transaction, outcome, &now)?;
            }
            let claimed = match &claim {
                Some(request) => claim_in(&transaction, request, &now)?,
                None => Claim::default(),
            };
            transaction.commit()?;
            Ok(claimed)
        })
        .await
    }

    /// Returns the earliest `next_attempt_at` of the deliveries still to send.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        self.run(|connection| read_next_due_at(connection)).await
    }

    /// Records the outcomes of several attempts in one transaction. When it fails, none
    /// of them is recorded.
    pub async fn record_outcomes(&self, records: Vec<OutcomeRecord>) -> Result<(), StoreError> {
        self.record_and_claim(records, None).await?;
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

/// Returns the current time in Unix milliseconds, the unit of `next_attempt_at`.
pub fn unix_millis() -> Result<i64, StoreError> {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| StoreError::Clock)?;
    Ok(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

/// Claims due deliveries inside `transaction`, as [`Store::record_and_claim`] describes.
fn claim_in(
    transaction: &Transaction<'_>,
    request: &ClaimRequest,
    now: &str,
) -> Result<Claim, StoreError> {
    let rows = select_due(transaction, request.now_ms, request.limit)?;

    let mut claim = Claim {
        due: Vec::with_capacity(rows.len()),
        ..Claim::default()
    };
    let mut histories: HashMap<String, SendHistory> = HashMap::new();
    let mut events: HashMap<String, Arc<TaskEvent>> = HashMap::new();
    for row in rows {
        if !row.active {
            fail_delivery(transaction, row.id, INACTIVE_REASON, now)?;
            claim
                .dropped
                .push((row.id, row.configuration_id, row.event_id));
            continue;
        }

        // Two deliveries to one webhook in the same claim must see each other's
        // request, so the claim keeps the histories it has read.
        let history = match histories.entry(row.configuration_id.clone()) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(row.history()?),
        };
        if let Err(wait) = request.limits.try_admit(history, request.now_ms) {
            let later = request.now_ms.saturating_add(duration_millis(wait));
            set_next_attempt_at(transaction, row.id, later)?;
            claim.postponed.push(PostponedDelivery {
                id: row.id,
                configuration_id: row.configuration_id,
                event_id: row.event_id,
                wait,
            });
            continue;
        }

        set_next_attempt_at(
            transaction,
            row.id,
            request.now_ms.saturating_add(request.lease_ms),
        )?;
        let card = match &row.event_id {
            Some(event_id) => DueCard::Event(read_event(transaction, event_id, &mut events)?),
            None => read_welcome_card(transaction, &row.configuration_id)?,
        };
        claim.due.push(DueDelivery {
            id: row.id,
            event_id: row.event_id,
            configuration_id: row.configuration_id,
            webhook_url: row.webhook_url,
            attempts: row.attempts,
            transient_failures: row.transient_failures,
            throttled_responses: row.throttled_responses,
            card,
        });
    }

    if claim.due.len() + claim.dropped.len() + claim.postponed.len() < request.limit {
        claim.next_due_at = read_next_due_at(transaction)?;
    }

    let admitted: Vec<&str> = claim
        .due
        .iter()
        .map(|delivery| delivery.configuration_id.as_str())
        .collect();
    for configuration_id in admitted {
        if let Some(history) = histories.remove(configuration_id) {
            write_history(transaction, configuration_id, &history)?;
        }
    }

    Ok(claim)
}

/// Due delivery row joined with its configuration and its webhook's send history.
struct DueRow {
    id: i64,
    event_id: Option<String>,
    configuration_id: String,
    attempts: u32,
    transient_failures: u32,
    throttled_responses: u32,
    webhook_url: String,
    active: bool,
    sent_at: Option<Vec<u8>>,
    paused_until: Option<i64>,
}

impl DueRow {
    fn history(&self) -> Result<SendHistory, StoreError> {
        let Some(sent_at) = &self.sent_at else {
            return Ok(SendHistory::default());
        };
        SendHistory::from_stored(sent_at, self.paused_until).map_err(|source| {
            StoreError::InvalidSendHistory {
                configuration_id: self.configuration_id.clone(),
                source,
            }
        })
    }
}

fn select_due(
    transaction: &Transaction<'_>,
    now_ms: i64,
    limit: usize,
) -> Result<Vec<DueRow>, StoreError> {
    let mut statement = transaction.prepare_cached(
        "SELECT d.id, d.event_id, d.configuration_id, d.attempts, d.transient_failures,
           d.throttled_responses, c.webhook_url, c.active, h.sent_at, h.paused_until
         FROM deliveries d
         JOIN configurations c ON c.id = d.configuration_id
         LEFT JOIN webhook_send_history h ON h.configuration_id = d.configuration_id
         WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at <= ?1
         ORDER BY d.next_attempt_at, d.id
         LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement
        .query_map(params![now_ms, limit], |row| {
            Ok(DueRow {
                id: row.get(0)?,
                event_id: row.get(1)?,
                configuration_id: row.get(2)?,
                attempts: row.get(3)?,
                transient_failures: row.get(4)?,
                throttled_responses: row.get(5)?,
                webhook_url: row.get(6)?,
                active: row.get::<_, i64>(7)? != 0,
                sent_at: row.get(8)?,
                paused_until: row.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn read_next_due_at(connection: &rusqlite::Connection) -> Result<Option<i64>, StoreError> {
    let next = connection
        .prepare_cached(
            "SELECT MIN(next_attempt_at) FROM deliveries
             WHERE state IN ('pending', 'retrying')",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(next)
}

fn set_next_attempt_at(
    transaction: &Transaction<'_>,
    id: i64,
    next_attempt_at: i64,
) -> Result<(), StoreError> {
    transaction
        .prepare_cached("UPDATE deliveries SET next_attempt_at = ?2 WHERE id = ?1")?
        .execute(params![id, next_attempt_at])?;
    Ok(())
}

/// Returns the event `event_id`, read once per claim and shared through `events`.
fn read_event(
    transaction: &Transaction<'_>,
    event_id: &str,
    events: &mut HashMap<String, Arc<TaskEvent>>,
) -> Result<Arc<TaskEvent>, StoreError> {
    if let Some(event) = events.get(event_id) {
        return Ok(Arc::clone(event));
    }

    let mut statement = transaction.prepare_cached(
        "SELECT kind, task_id, title, description, assignee, due_date, link
         FROM events WHERE id = ?1",
    )?;
    let mut rows = statement.query([event_id])?;
    let row = rows.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    let kind: String = row.get(0)?;
    let kind = EventType::from_name(&kind).ok_or_else(|| StoreError::UnknownEventKind {
        event_id: event_id.to_owned(),
        kind,
    })?;
    let event = Arc::new(TaskEvent {
        kind,
        task_id: row.get(1)?,
        title: row.get(2)?,
        description: row.get(3)?,
        assignee: row.get(4)?,
        due_date: row.get(5)?,
        link: row.get(6)?,
    });
    events.insert(event_id.to_owned(), Arc::clone(&event));
    Ok(event)
}

fn read_welcome_card(
    transaction: &Transaction<'_>,
    configuration_id: &str,
) -> Result<DueCard, StoreError> {
    let config_name: String = transaction
        .prepare_cached("SELECT config_name FROM configurations WHERE id = ?1")?
        .query_row([configuration_id], |row| row.get(0))?;
    Ok(DueCard::Welcome {
        config_name,
        event_types: read_event_types(transaction, configuration_id)?,
    })
}

/// Stores the send history of a configuration's webhook, keeping nothing of the old one.
fn write_history(
    transaction: &Transaction<'_>,
    configuration_id: &str,
    history: &SendHistory,
) -> Result<(), StoreError> {
    transaction
        .prepare_cached(
            "INSERT INTO webhook_send_history (configuration_id, sent_at, paused_until)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (configuration_id) DO UPDATE
             SET sent_at = excluded.sent_at, paused_until = excluded.paused_until",
        )?
        .execute(params![
            configuration_id,
            history.sent_bytes(),
            history.paused_until()
        ])?;
    Ok(())
}

fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn read_event_types(
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

fn write_outcome(
    transaction: &Transaction<'_>,
    record: &OutcomeRecord,
    now: &str,
) -> Result<(), StoreError> {
    match record {
        OutcomeRecord::Delivered { id } => {
            transaction
                .prepare_cached(
                    "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
                       last_error = NULL, updated_at = ?2
                     WHERE id = ?1",
                )?
                .execute(params![id, now])?;
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
        OutcomeRecord::Released { id } => {
            transaction
                .prepare_cached(
                    "UPDATE deliveries SET next_attempt_at = ?2
                     WHERE id = ?1 AND state IN ('pending', 'retrying')",
                )?
                .execute(params![id, unix_millis()?])?;
        }
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

fn fail_delivery(
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

    use super::*;
    use crate::configuration::{Configuration, Context};
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
        for _ in 0..3 {
            store.upsert(configuration()).await.unwrap();
        }
        let now_ms = unix_millis().unwrap();
        let claim = store
            .claim_due(ClaimRequest {
                now_ms,
                limit: 10,
                lease_ms: 60_000,
                limits: Arc::new(RateLimits::new(&[])),
            })
            .await
            .unwrap();
        assert_eq!(claim.due.len(), 3);
        let [delivered, retried, failed] = [0, 1, 2].map(|index| &claim.due[index]);

        store
            .record_outcomes(vec![
                OutcomeRecord::Delivered { id: delivered.id },
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
        let retried = only_delivery(&store, &retried.configuration_id).await;
        let failed = only_delivery(&store, &failed.configuration_id).await;
        assert_eq!(delivered.state, DeliveryState::Delivered);
        assert_eq!(delivered.attempts, 1);
        assert_eq!(retried.state, DeliveryState::Retrying);
        assert_eq!(retried.attempts, 1);
        assert_eq!(retried.last_error.as_deref(), Some("throttled"));
        assert_eq!(failed.state, DeliveryState::Failed);
        assert_eq!(failed.attempts, 1);
        assert_eq!(failed.last_error.as_deref(), Some("rejected"));
        assert_eq!(store.next_due_at().await.unwrap(), Some(now_ms + 10_000));
    }
}

//! Claims of due deliveries: the rows taken by the worker in one transaction, each
//! admitted by its webhook's rate limits, with the card that it sends.
//!
//! A claim writes nothing to the rows that it takes. The worker keeps their ids in
//! memory until their outcomes are written, and passes them to each later claim, which
//! skips them. The worker lock keeps a second worker from claiming them too.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, Transaction, params};

use super::outbox::{
    INACTIVE_REASON, OutcomeRecord, duration_millis, fail_delivery, json_id_list, read_event_types,
};
use super::rate_limit::{RateLimits, SendHistory};
use crate::configuration::EventType;
use crate::events::TaskEvent;
use crate::store::StoreError;

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
    /// Time at which the rate limits counted this delivery's request, in Unix
    /// milliseconds, or `None` when no limit applies.
    pub counted_at: Option<i64>,
}

impl DueDelivery {
    /// Returns the outcome that gives this claim back unsent.
    pub fn released(&self) -> OutcomeRecord {
        OutcomeRecord::Released {
            id: self.id,
            counted_at: self.counted_at,
        }
    }
}

/// Parameters of one claim.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    /// The current time, in Unix milliseconds.
    pub now_ms: i64,
    /// Maximum number of deliveries to claim.
    pub limit: usize,
    /// Deliveries that the worker claimed earlier and whose outcomes are not written
    /// yet. The claim skips them.
    pub in_progress: Arc<[i64]>,
    pub limits: Arc<RateLimits>,
}

/// Deliveries taken by one claim.
#[derive(Default)]
pub struct Claim {
    /// Deliveries to send now, taken by the caller and admitted by the rate limits.
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

/// Claims due deliveries inside `transaction`, as [`Store::record_and_claim`] describes.
pub(super) fn claim_in(
    transaction: &Transaction<'_>,
    request: &ClaimRequest,
    now: &str,
) -> Result<Claim, StoreError> {
    let in_progress = json_id_list(&request.in_progress);
    let rows = select_due(transaction, request.now_ms, request.limit, &in_progress)?;

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
            Entry::Vacant(entry) => entry.insert(row.history()),
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
            counted_at: history.newest_request(),
        });
    }

    if claim.due.len() + claim.dropped.len() + claim.postponed.len() < request.limit {
        // The rows taken now are still due in the database, so they are skipped too.
        let skipped: Vec<i64> = request
            .in_progress
            .iter()
            .copied()
            .chain(claim.due.iter().map(|delivery| delivery.id))
            .collect();
        claim.next_due_at = read_next_due_at(transaction, &json_id_list(&skipped))?;
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
    fn history(&self) -> SendHistory {
        let Some(sent_at) = &self.sent_at else {
            return SendHistory::default();
        };
        read_history(&self.configuration_id, sent_at, self.paused_until)
    }
}

/// Decodes a stored send history. An invalid one, which only a hand edit of the database
/// can produce, is replaced by an empty history rather than stopping every claim.
fn read_history(configuration_id: &str, sent_at: &[u8], paused_until: Option<i64>) -> SendHistory {
    SendHistory::from_stored(sent_at, paused_until).unwrap_or_else(|error| {
        tracing::error!(
            configuration_id,
            %error,
            "the stored send history is invalid; the rate limits start again from empty"
        );
        // The pause is a column of its own and still valid.
        SendHistory::from_stored(&[], paused_until).unwrap_or_default()
    })
}

/// Selects up to `limit` deliveries due at `now_ms`, oldest due first, except those in
/// `skipped`, a JSON list of ids.
fn select_due(
    transaction: &Transaction<'_>,
    now_ms: i64,
    limit: usize,
    skipped: &str,
) -> Result<Vec<DueRow>, StoreError> {
    let mut statement = transaction.prepare_cached(
        "SELECT d.id, d.event_id, d.configuration_id, d.attempts, d.transient_failures,
           d.throttled_responses, c.webhook_url, c.active, h.sent_at, h.paused_until
         FROM deliveries d
         JOIN configurations c ON c.id = d.configuration_id
         LEFT JOIN webhook_send_history h ON h.configuration_id = d.configuration_id
         WHERE d.state IN ('pending', 'retrying') AND d.next_attempt_at <= ?1
           AND d.id NOT IN (SELECT value FROM json_each(?3))
         ORDER BY d.next_attempt_at, d.id
         LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement
        .query_map(params![now_ms, limit, skipped], |row| {
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

/// Returns the earliest `next_attempt_at` of the deliveries still to send, except those
/// in `skipped`, a JSON list of ids.
pub(super) fn read_next_due_at(
    connection: &rusqlite::Connection,
    skipped: &str,
) -> Result<Option<i64>, StoreError> {
    // Ordered by the partial index, so the query stops at the first delivery not skipped.
    let next = connection
        .prepare_cached(
            "SELECT next_attempt_at FROM deliveries
             WHERE state IN ('pending', 'retrying')
               AND id NOT IN (SELECT value FROM json_each(?1))
             ORDER BY next_attempt_at
             LIMIT 1",
        )?
        .query_row([skipped], |row| row.get(0))
        .optional()?;
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

/// Removes the request counted at `counted_at` from the send history of delivery `id`'s
/// webhook, because the delivery was given back unsent.
pub(super) fn uncount_request(
    transaction: &Transaction<'_>,
    id: i64,
    counted_at: i64,
) -> Result<(), StoreError> {
    let stored = transaction
        .prepare_cached(
            "SELECT h.configuration_id, h.sent_at, h.paused_until
             FROM deliveries d
             JOIN webhook_send_history h ON h.configuration_id = d.configuration_id
             WHERE d.id = ?1",
        )?
        .query_row([id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, Option<i64>>(2)?,
            ))
        })
        .optional()?;
    let Some((configuration_id, sent_at, paused_until)) = stored else {
        return Ok(());
    };

    let mut history = read_history(&configuration_id, &sent_at, paused_until);
    if history.forget_request(counted_at) {
        write_history(transaction, &configuration_id, &history)?;
    }
    Ok(())
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

//! Prepaid credits: the ledger, top-ups, and the debit/refund operations the send pipeline calls.
//! Design and write-rate arithmetic: `docs/billing.md`. In short:
//! - one balance item per tenant holding `balance` and `seq` (entries written so far);
//! - every change reads it, then commits ONE transaction: the balance update conditioned on
//!   `seq` being unchanged + the new entries (each with its exact `balance_after`) + for debits
//!   and refunds a per-message marker put with `attribute_not_exists` (idempotency);
//! - every such transaction is attempted in the tenant's turn ([`gate`]): one at a time per
//!   process and at least an interval apart, which bounds the balance item's writes per second
//!   by construction;
//! - debits and refunds come in batches (what arrived in this process while the gate was
//!   closed, [`group`]; up to [`MAX_DEBIT_BATCH`] messages per transaction), so the balance item
//!   takes one write per batch, not per message;
//! - a conflict (someone else wrote the balance) retries with jittered backoff; a message
//!   already debited is dropped from the batch (the cancellation reasons name it); when the
//!   balance cannot cover the whole batch, the prefix that fits is debited and the rest is
//!   reported [`DebitOutcome::InsufficientCredits`]. The balance never goes below zero.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::analytics::counters as analytics;
use crate::domain::money::{MAX_BALANCE, MAX_UNITS, Money};
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::table::TableError;

pub mod gate;
pub mod group;
pub mod model;
use crate::store::ledger::{BalanceState, DebitMarker, Ledger};
pub use model::{EntryKind, LedgerEntry, Reference, ReferenceType};

/// Messages per debit (refund) transaction: 1 balance update + 2 items (marker, entry) per
/// message + 1 daily analytics counter must fit DynamoDB's 100 operations per transaction.
pub const MAX_DEBIT_BATCH: usize = 45;
/// Optimistic attempts before giving up with [`BillingError::Contended`] (the caller's queue
/// message is then retried later).
const MAX_ATTEMPTS: u32 = 40;
pub const MAX_DESCRIPTION_LEN: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("amounts must be positive")]
    InvalidAmount,
    /// Too many concurrent writers on this tenant's balance; retry later.
    #[error("the balance is contended; retry later")]
    Contended,
    /// The credit would take the balance above [`MAX_BALANCE`].
    #[error("the balance may not exceed {MAX_BALANCE}")]
    BalanceLimit { balance: Money },
    /// An adjustment would take the balance below zero.
    #[error("the balance may not go below zero")]
    InsufficientBalance { balance: Money },
}

impl From<BillingError> for Error {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::Table(t) => t.into(),
            BillingError::InvalidAmount => Error::internal(e),
            BillingError::Contended => Error::unavailable("the balance is busy, retry shortly"),
            BillingError::BalanceLimit { balance } => Error::invalid(
                "balance_limit_exceeded",
                format!("the balance is {balance} and may not exceed {MAX_BALANCE}: this credit would take it above"),
            )
            .with_details(vec![FieldError::new(
                "amount",
                "balance_limit_exceeded",
                format!("at most {} more", Money::from_units(MAX_BALANCE.units() - balance.units()).max(Money::ZERO)),
            )]),
            BillingError::InsufficientBalance { balance } => Error::invalid(
                "insufficient_balance",
                format!("the balance is {balance}: a correction may not take it below zero"),
            )
            .with_details(vec![FieldError::new(
                "amount",
                "insufficient_balance",
                format!("this would take the balance below zero; the most you can remove is {balance}"),
            )]),
        }
    }
}

/// Full-jitter backoff for optimistic conflicts: 0..=min(2 ms × 2^attempt, 200 ms).
async fn backoff(attempt: u32) {
    let ceiling = 2u64.saturating_mul(1 << attempt.min(7)).min(200);
    let ms = rand::thread_rng().gen_range(0..=ceiling);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// A conflict another writer caused (retry), as opposed to a real error.
fn is_conflict(e: &TableError) -> bool {
    matches!(e, TableError::TransactionCanceled { .. } | TableError::Throttled)
}

// --- credits ------------------------------------------------------------------------------------

/// Adds credits (a top-up). Returns the entry.
pub async fn credit(
    ports: &Ports,
    tenant_id: &str,
    amount: Money,
    description: Option<String>,
) -> Result<LedgerEntry, BillingError> {
    manual_entry(ports, tenant_id, EntryKind::Credit, amount, description).await
}

/// Takes `amount` off the balance as a correction, with its reason; never below zero (the
/// check and the write are one conditional transaction on the balance, as for debits).
pub async fn adjust_down(
    ports: &Ports,
    tenant_id: &str,
    amount: Money,
    reason: String,
) -> Result<LedgerEntry, BillingError> {
    manual_entry(ports, tenant_id, EntryKind::Adjustment, amount, Some(reason)).await
}

/// A credit or an adjustment: one entry, `amount` positive, `kind` says which way.
async fn manual_entry(
    ports: &Ports,
    tenant_id: &str,
    kind: EntryKind,
    amount: Money,
    description: Option<String>,
) -> Result<LedgerEntry, BillingError> {
    if !amount.is_positive() {
        return Err(BillingError::InvalidAmount);
    }
    let ledger = Ledger::new(&*ports.table);
    let id = ports.ids.new_id("led");
    for attempt in 0..MAX_ATTEMPTS {
        let turn = gate::turn(tenant_id).await;
        let read = ledger.balance(tenant_id).await?;
        let balance_after = if kind == EntryKind::Adjustment {
            match read.balance.checked_sub(amount) {
                Some(b) if !b.is_negative() => b,
                _ => return Err(BillingError::InsufficientBalance { balance: read.balance }),
            }
        } else {
            let after = read.balance.checked_add(amount).ok_or(BillingError::InvalidAmount)?;
            if after > MAX_BALANCE {
                return Err(BillingError::BalanceLimit { balance: read.balance });
            }
            after
        };
        let entry = LedgerEntry {
            id: id.clone(),
            seq: read.seq + 1,
            kind,
            amount,
            balance_after,
            reference: None,
            description: description.clone(),
            at: ports.clock.now(),
        };
        let ops = vec![Ledger::balance_op(tenant_id, read, balance_after, 1)?, Ledger::entry_op(tenant_id, &entry)?];
        let result = ports.table.transact(ops).await;
        drop(turn);
        match result {
            Ok(()) => return Ok(entry),
            Err(e) if is_conflict(&e) => backoff(attempt).await,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BillingError::Contended)
}

// --- debits -------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebitRequest {
    /// The idempotency key: a message is debited at most once, ever.
    pub message_id: String,
    pub amount: Money,
    /// What the entry shows (the message, or its campaign).
    pub reference: Reference,
    /// Meta's pricing category the price is for (the daily cost counters').
    pub category: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DebitOutcome {
    Debited {
        entry_id: String,
        balance_after: Money,
    },
    /// A previous delivery already paid for this message: send it, do not charge again.
    AlreadyDebited,
    /// Not enough credits: the message must not be sent.
    InsufficientCredits,
}

/// Debits a batch of messages, one outcome per request, in order. Any number of requests; they
/// are committed [`MAX_DEBIT_BATCH`] at a time. A message id given twice is debited once (the
/// second is `AlreadyDebited`).
pub async fn debit(
    ports: &Ports,
    tenant_id: &str,
    requests: &[DebitRequest],
) -> Result<Vec<DebitOutcome>, BillingError> {
    if requests.iter().any(|r| !r.amount.is_positive()) {
        return Err(BillingError::InvalidAmount);
    }
    let mut outcomes: Vec<Option<DebitOutcome>> = vec![None; requests.len()];
    // First occurrence of each message id; later duplicates are answered from it.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut unique = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        if !first_of.contains_key(r.message_id.as_str()) {
            first_of.insert(&r.message_id, i);
            unique.push(i);
        }
    }
    for chunk in unique.chunks(MAX_DEBIT_BATCH) {
        for (i, outcome) in debit_chunk(ports, tenant_id, requests, chunk).await? {
            outcomes[i] = Some(outcome);
        }
    }
    Ok(requests
        .iter()
        .enumerate()
        .map(|(i, r)| match outcomes[i].take() {
            Some(o) => o,
            None => match &outcomes[first_of[r.message_id.as_str()]] {
                Some(DebitOutcome::InsufficientCredits) => DebitOutcome::InsufficientCredits,
                _ => DebitOutcome::AlreadyDebited,
            },
        })
        .collect())
}

/// One transaction's worth (indexes into `requests`, distinct message ids).
async fn debit_chunk(
    ports: &Ports,
    tenant_id: &str,
    requests: &[DebitRequest],
    chunk: &[usize],
) -> Result<Vec<(usize, DebitOutcome)>, BillingError> {
    let ledger = Ledger::new(&*ports.table);
    let zone = analytics::time_zone(ports, tenant_id).await?;
    let mut done = Vec::with_capacity(chunk.len());
    let mut pending: Vec<usize> = chunk.to_vec();
    let mut attempt = 0;
    while !pending.is_empty() {
        if attempt >= MAX_ATTEMPTS {
            return Err(BillingError::Contended);
        }
        let turn = gate::turn(tenant_id).await;
        let read = ledger.balance(tenant_id).await?;
        // The prefix the balance covers (in order: a later message never overtakes an earlier one).
        let mut balance = read.balance;
        let mut fit = 0;
        for &i in &pending {
            match balance.checked_sub(requests[i].amount) {
                Some(b) if !b.is_negative() => {
                    balance = b;
                    fit += 1;
                }
                _ => break,
            }
        }
        if fit == 0 {
            // Nothing fits. Messages already debited by an earlier delivery are not short of
            // credits: find them, and try again without them.
            let mut rest = Vec::new();
            for &i in &pending {
                if ledger.debit_marker(tenant_id, &requests[i].message_id).await?.is_some() {
                    done.push((i, DebitOutcome::AlreadyDebited));
                } else {
                    rest.push(i);
                }
            }
            if rest.len() == pending.len() {
                done.extend(rest.into_iter().map(|i| (i, DebitOutcome::InsufficientCredits)));
                return Ok(done);
            }
            pending = rest;
            continue;
        }

        let batch = &pending[..fit];
        let now = ports.clock.now();
        let mut running = read.balance;
        let mut entries = Vec::with_capacity(fit);
        let mut ops = Vec::with_capacity(1 + 2 * fit);
        ops.push(Ledger::balance_op(tenant_id, read, balance, fit as u64)?);
        for (n, &i) in batch.iter().enumerate() {
            let r = &requests[i];
            running = running.checked_sub(r.amount).ok_or(BillingError::InvalidAmount)?;
            let entry = LedgerEntry {
                id: ports.ids.new_id("led"),
                seq: read.seq + 1 + n as u64,
                kind: EntryKind::Debit,
                amount: r.amount,
                balance_after: running,
                reference: Some(r.reference.clone()),
                description: None,
                at: now,
            };
            let marker = DebitMarker {
                amount: r.amount,
                entry_id: entry.id.clone(),
                seq: entry.seq,
                category: Some(r.category.clone()),
            };
            ops.push(Ledger::debit_marker_op(tenant_id, &r.message_id, &marker)?);
            ops.push(Ledger::entry_op(tenant_id, &entry)?);
            entries.push(entry);
        }
        // The day's cost and debited credits, in the same transaction (after the markers, whose
        // positions the cancellation reasons are read by; it has no condition of its own).
        let costs: Vec<(&str, Money)> =
            batch.iter().map(|&i| (requests[i].category.as_str(), requests[i].amount)).collect();
        ops.extend(analytics::debited_op(tenant_id, &entries[0].id, &analytics::local_date(&zone, now), &costs));
        let result = ports.table.transact(ops).await;
        drop(turn);
        match result {
            Ok(()) => {
                for (&i, e) in batch.iter().zip(entries) {
                    done.push((i, DebitOutcome::Debited { entry_id: e.id, balance_after: e.balance_after }));
                }
                pending.drain(..fit);
            }
            Err(TableError::TransactionCanceled { failed_conditions }) => {
                // Op 1 + 2n is message n's marker: it was debited by an earlier delivery.
                let already: Vec<usize> = failed_conditions
                    .iter()
                    .filter(|&&op| op >= 1 && (op - 1) % 2 == 0)
                    .map(|&op| batch[(op - 1) / 2])
                    .collect();
                if already.is_empty() {
                    // The balance moved under us (or a transaction conflict): re-read, retry.
                    backoff(attempt).await;
                    attempt += 1;
                } else {
                    done.extend(already.iter().map(|&i| (i, DebitOutcome::AlreadyDebited)));
                    pending.retain(|i| !already.contains(i));
                }
            }
            Err(e) if is_conflict(&e) => {
                backoff(attempt).await;
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}

// --- refunds ------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    Refunded {
        entry_id: String,
        balance_after: Money,
    },
    AlreadyRefunded,
    /// The message was never debited (free, or not sent): nothing to give back.
    NotDebited,
}

/// One message's refund, as a batch takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRequest {
    pub message_id: String,
    /// What the entry says (the failure).
    pub description: Option<String>,
}

/// Gives back exactly what the message was debited, once.
pub async fn refund(
    ports: &Ports,
    tenant_id: &str,
    message_id: &str,
    description: Option<String>,
) -> Result<RefundOutcome, BillingError> {
    let request = RefundRequest { message_id: message_id.to_owned(), description };
    let mut outcomes = refund_batch(ports, tenant_id, std::slice::from_ref(&request)).await?;
    Ok(outcomes.pop().expect("one outcome per request"))
}

/// Refunds a batch of messages, one outcome per request, in order: each gives back exactly what
/// its debit marker recorded, once. Committed [`MAX_DEBIT_BATCH`] at a time, each one balance
/// write; a message id given twice is refunded once (the second is `AlreadyRefunded`, or
/// `NotDebited` like the first).
pub async fn refund_batch(
    ports: &Ports,
    tenant_id: &str,
    requests: &[RefundRequest],
) -> Result<Vec<RefundOutcome>, BillingError> {
    let ledger = Ledger::new(&*ports.table);
    let mut outcomes: Vec<Option<RefundOutcome>> = vec![None; requests.len()];
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    // (request index, its debit marker) of the first occurrence of each debited message.
    let mut debited = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        if let Some(&first) = first_of.get(r.message_id.as_str()) {
            outcomes[i] = Some(match outcomes[first] {
                Some(RefundOutcome::NotDebited) => RefundOutcome::NotDebited,
                _ => RefundOutcome::AlreadyRefunded,
            });
            continue;
        }
        first_of.insert(&r.message_id, i);
        match ledger.debit_marker(tenant_id, &r.message_id).await? {
            None => outcomes[i] = Some(RefundOutcome::NotDebited),
            Some(marker) => debited.push((i, marker)),
        }
    }
    for chunk in debited.chunks(MAX_DEBIT_BATCH) {
        for (i, outcome) in refund_chunk(ports, tenant_id, requests, chunk).await? {
            outcomes[i] = Some(outcome);
        }
    }
    Ok(outcomes.into_iter().map(|o| o.expect("every request answered")).collect())
}

/// One transaction's worth of refunds (distinct, debited messages).
async fn refund_chunk(
    ports: &Ports,
    tenant_id: &str,
    requests: &[RefundRequest],
    chunk: &[(usize, DebitMarker)],
) -> Result<Vec<(usize, RefundOutcome)>, BillingError> {
    let ledger = Ledger::new(&*ports.table);
    let zone = analytics::time_zone(ports, tenant_id).await?;
    // Each refund keeps its entry id across attempts.
    let ids: HashMap<usize, String> = chunk.iter().map(|(i, _)| (*i, ports.ids.new_id("led"))).collect();
    let mut done = Vec::with_capacity(chunk.len());
    let mut pending: Vec<&(usize, DebitMarker)> = chunk.iter().collect();
    let mut attempt = 0;
    while !pending.is_empty() {
        if attempt >= MAX_ATTEMPTS {
            return Err(BillingError::Contended);
        }
        let turn = gate::turn(tenant_id).await;
        let mut open = Vec::with_capacity(pending.len());
        for &p in &pending {
            if ledger.is_refunded(tenant_id, &requests[p.0].message_id).await? {
                done.push((p.0, RefundOutcome::AlreadyRefunded));
            } else {
                open.push(p);
            }
        }
        pending = open;
        if pending.is_empty() {
            break;
        }
        let read: BalanceState = ledger.balance(tenant_id).await?;
        let at = ports.clock.now();
        let day = analytics::local_date(&zone, at);
        let mut running = read.balance;
        let mut entries = Vec::with_capacity(pending.len());
        let mut ops = Vec::with_capacity(2 + 2 * pending.len());
        for (n, (i, marker)) in pending.iter().map(|p| (&p.0, &p.1)).enumerate() {
            running = running.checked_add(marker.amount).ok_or(BillingError::InvalidAmount)?;
            if running.units() > MAX_UNITS {
                // Never store an entry that cannot be read back (see `MAX_BALANCE`).
                return Err(BillingError::InvalidAmount);
            }
            let message_id = &requests[*i].message_id;
            let entry = LedgerEntry {
                id: ids[i].clone(),
                seq: read.seq + 1 + n as u64,
                kind: EntryKind::Refund,
                amount: marker.amount,
                balance_after: running,
                reference: Some(Reference::message(message_id)),
                description: requests[*i].description.clone(),
                at,
            };
            ops.push(Ledger::refund_marker_op(tenant_id, message_id, &entry.id));
            ops.push(Ledger::entry_op(tenant_id, &entry)?);
            entries.push(entry);
        }
        ops.insert(0, Ledger::balance_op(tenant_id, read, running, pending.len() as u64)?);
        // The day's refunded credits and costs, after the markers (whose positions the
        // cancellation reasons are read by; it has no condition of its own).
        let refunds: Vec<(Option<&str>, Money)> =
            pending.iter().map(|p| (p.1.category.as_deref(), p.1.amount)).collect();
        ops.push(analytics::refunded_op(tenant_id, &entries[0].id, &day, &refunds));
        let result = ports.table.transact(ops).await;
        drop(turn);
        match result {
            Ok(()) => {
                for (p, e) in pending.iter().zip(entries) {
                    zero_cost(ports, tenant_id, &requests[p.0].message_id).await?;
                    done.push((p.0, RefundOutcome::Refunded { entry_id: e.id, balance_after: e.balance_after }));
                }
                pending.clear();
            }
            Err(TableError::TransactionCanceled { failed_conditions })
                if failed_conditions.iter().any(|&op| op >= 1 && (op - 1) % 2 == 0) =>
            {
                // Op 1 + 2n is message n's refund marker: refunded meanwhile. The next attempt
                // finds it so (and zeroes its cost); the rest is retried at once.
                attempt += 1;
            }
            Err(e) if is_conflict(&e) => {
                backoff(attempt).await;
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    // A message refunded earlier (or meanwhile) costs nothing either: after a crash between the
    // refund and its `cost` write, a redelivery lands here and finishes it.
    for (i, outcome) in &done {
        if *outcome == RefundOutcome::AlreadyRefunded {
            zero_cost(ports, tenant_id, &requests[*i].message_id).await?;
        }
    }
    Ok(done)
}

/// A refunded message costs nothing: its stored `cost` (what lists show) says so. After the
/// refund's transaction, and again on a redelivery that finds it refunded (a crash in between).
async fn zero_cost(ports: &Ports, tenant_id: &str, message_id: &str) -> Result<(), BillingError> {
    Ok(crate::store::messages::Messages::new(&*ports.table).set_cost(tenant_id, message_id, Money::ZERO).await?)
}

// --- reading --------------------------------------------------------------------------------------

pub async fn balance(ports: &Ports, tenant_id: &str) -> Result<Money, Error> {
    Ok(Ledger::new(&*ports.table).balance(tenant_id).await?.balance)
}

/// A page of the ledger, newest first. The cursor is opaque to clients.
pub async fn list(
    ports: &Ports,
    tenant_id: &str,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<LedgerEntry>, Option<String>), Error> {
    let before = cursor.map(|c| decode_cursor(&c)).transpose()?;
    let (entries, next) = Ledger::new(&*ports.table).list(tenant_id, limit, before).await?;
    Ok((entries, next.map(encode_cursor)))
}

fn encode_cursor(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("ledger:{seq}"))
}

fn decode_cursor(cursor: &str) -> Result<u64, Error> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("ledger:").and_then(|n| n.parse().ok()))
        .ok_or_else(Error::invalid_cursor)
}

/// `POST /admin/tenants/{id}/credits` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"amount": "500.00", "description": "Top-up, invoice 2026-118"}))]
#[serde(deny_unknown_fields)]
pub struct CreditInput {
    /// Exact decimal (string or number, up to 4 decimals). Negative: a correction, which needs
    /// its reason in `description` and never takes the balance below zero.
    pub amount: Option<Value>,
    pub description: Option<String>,
}

/// What a valid `POST /admin/tenants/{id}/credits` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum CreditChange {
    TopUp {
        amount: Money,
        description: Option<String>,
    },
    /// `amount` (positive) comes off the balance.
    Correction {
        amount: Money,
        reason: String,
    },
}

/// Validates a top-up (a positive exact amount, an optional description) or a correction (a
/// negative amount with its reason).
pub fn validate_credit(input: CreditInput) -> Result<CreditChange, Error> {
    let mut errors = Vec::new();
    let amount = match input.amount.as_ref().map(Money::from_json) {
        None => {
            errors.push(FieldError::new("amount", "required", "is required"));
            None
        }
        Some(Ok(a)) if a.units().unsigned_abs() > MAX_BALANCE.units().unsigned_abs() => {
            errors.push(FieldError::new("amount", "too_large", format!("must be at most {MAX_BALANCE} either way")));
            None
        }
        Some(Ok(a)) if a == Money::ZERO => {
            errors.push(FieldError::new("amount", "not_positive", "must not be zero"));
            None
        }
        Some(Ok(a)) => Some(a),
        Some(Err(e)) => {
            errors.push(FieldError::new("amount", e.code(), e.to_string()));
            None
        }
    };
    let description = input.description.map(|d| d.trim().to_string()).filter(|d| !d.is_empty());
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_LEN) {
        errors.push(FieldError::new(
            "description",
            "too_long",
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    if amount.is_some_and(Money::is_negative) && description.is_none() {
        errors.push(FieldError::new(
            "description",
            "reason_required",
            "a negative amount is a correction: give its reason",
        ));
    }
    match (amount, description) {
        (Some(a), description) if errors.is_empty() && a.is_positive() => {
            Ok(CreditChange::TopUp { amount: a, description })
        }
        (Some(a), Some(reason)) if errors.is_empty() => {
            Ok(CreditChange::Correction { amount: Money::from_units(-a.units()), reason })
        }
        _ => Err(Error::validation(errors)),
    }
}

/// `POST /admin/tenants/{id}/credits`: a top-up or a correction, as one ledger entry.
pub async fn change_credits(ports: &Ports, tenant_id: &str, input: CreditInput) -> Result<LedgerEntry, Error> {
    Ok(match validate_credit(input)? {
        CreditChange::TopUp { amount, description } => credit(ports, tenant_id, amount, description).await?,
        CreditChange::Correction { amount, reason } => adjust_down(ports, tenant_id, amount, reason).await?,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert_eq!(decode_cursor("nope").unwrap_err().code, "invalid_cursor");
        assert_eq!(decode_cursor(&URL_SAFE_NO_PAD.encode("other:1")).unwrap_err().code, "invalid_cursor");
    }

    #[test]
    fn credit_validation() {
        let ok =
            validate_credit(CreditInput { amount: Some(json!("10.5")), description: Some(" top-up ".into()) }).unwrap();
        assert_eq!(ok, CreditChange::TopUp { amount: Money::from_units(105_000), description: Some("top-up".into()) });
        let fix = validate_credit(CreditInput { amount: Some(json!("-2.5")), description: Some(" dup ".into()) });
        assert_eq!(fix.unwrap(), CreditChange::Correction { amount: Money::from_units(25_000), reason: "dup".into() });
        let e = validate_credit(CreditInput { amount: Some(json!("-1")), description: Some("  ".into()) }).unwrap_err();
        assert_eq!((e.details[0].field.as_str(), e.details[0].code.as_str()), ("description", "reason_required"));
        for (amount, code) in [
            (json!(0), "not_positive"),
            (json!("-10000000000.0001"), "too_large"),
            (json!("1.23456"), "too_many_decimals"),
            (json!([]), "invalid_decimal"),
            (json!("10000000000.0001"), "too_large"),
            (json!("99999999999.9999"), "too_large"),
        ] {
            let e = validate_credit(CreditInput { amount: Some(amount), description: None }).unwrap_err();
            assert_eq!(e.details[0].code, code);
        }
        let e = validate_credit(CreditInput { amount: None, description: None }).unwrap_err();
        assert_eq!(e.details[0].field, "amount");
    }

    #[test]
    fn signed_amounts() {
        let e = LedgerEntry {
            id: "led_1".into(),
            seq: 1,
            kind: EntryKind::Debit,
            amount: Money::from_units(5),
            balance_after: Money::ZERO,
            reference: Some(Reference::message("msg_1")),
            description: None,
            at: Utc::now(),
        };
        assert_eq!(e.signed_amount(), Money::from_units(-5));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["reference"], json!({"type": "message", "id": "msg_1"}));
        assert_eq!(v["amount"], "0.0005");
    }
}

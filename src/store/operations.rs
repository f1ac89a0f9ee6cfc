//! Where captures, voids and refunds live: records of their own beside the payment's
//! session, which is final once authorized and never changes again. Each record is one
//! [`Operation`] with the merchant's idempotency key (unique per payment), a fingerprint
//! of the request (a reused key with another body is told apart), its [`OperationPhase`],
//! a version for compare-and-set and a wake-up time for the reconciler's sweep.
//!
//! [`admit`] is the one rule every store applies atomically with the insert (under its
//! lock, or in its transaction): at most one operation of a payment in flight, and the
//! sums (one capture ≤ authorized, void only before a capture, refunds ≤ captured −
//! refunded, `pending` refunds counted) against the payment's stored final operations.
//!
//! Must not: name a host's IO (see `store`).

use std::future::Future;

use serde::Serialize;

mod stored;

use super::outbox::{self, OutboxEvent};
use super::{MaybeSend, MaybeSync, StoreError};
use crate::payment::CaptureMode;
use crate::provider::lifecycle::{Operation, OperationErrorCode, OperationKind, OperationResult};

/// Where an operation stands. Stored as its derived `Serialize` writes it, read back by
/// hand (`operations/stored.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "phase",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum OperationPhase {
    /// Written before the provider call is sent; the call may be under way.
    Calling,
    /// The answer was lost: looked up at `next_lookup_at_ms` (the `lookups`-th time).
    Unknown {
        lookups: u32,
        next_lookup_at_ms: u64,
    },
    /// Over (a `Pending` result still gets looked up for the provider's word).
    Final { result: OperationResult },
}

impl OperationPhase {
    /// Calling or Unknown: the payment takes no other operation meanwhile.
    pub fn in_flight(&self) -> bool {
        !matches!(self, OperationPhase::Final { .. })
    }

    /// Final `Pending`: the provider took it (and named it) and finishes it later.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            OperationPhase::Final {
                result: OperationResult::Pending { .. }
            }
        )
    }

    /// Final with a result that never changes again (not `Pending`).
    pub fn is_settled(&self) -> bool {
        matches!(
            self,
            OperationPhase::Final { result } if !matches!(result, OperationResult::Pending { .. })
        )
    }
}

/// One stored operation. Stored as its derived `Serialize` writes it, read back by hand
/// (`operations/stored.rs`: from the stored object's members, as its phase is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRecord {
    /// The operation's id: its `operation.reference` (32 hex digits).
    pub id: String,
    /// The payment (session id) it belongs to.
    pub payment_id: String,
    /// The merchant's `Idempotency-Key`, unique per payment.
    pub idempotency_key: String,
    /// What was asked (`capture:1000`, `refund:rest`, …): the same key with another
    /// fingerprint is a reused key.
    pub fingerprint: String,
    pub operation: Operation,
    pub phase: OperationPhase,
    /// Compare-and-set: each write is `version + 1` of the one it replaces.
    pub version: u64,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    /// When the sweep must look at it (a call's lease, a lookup, a pending result).
    pub wake_at_ms: Option<u64>,
    /// Until when the actor that claimed it to look it up has it (`Backend::claimed`): a
    /// merchant's reconcile, which skips the wait between lookups, leaves it to that actor
    /// meanwhile. `None` after any other write (and in records written before it).
    pub claimed_until_ms: Option<u64>,
}

impl OperationRecord {
    /// The record moved to `phase`, one version on.
    pub fn advanced(&self, phase: OperationPhase, now_ms: u64, wake_at_ms: Option<u64>) -> Self {
        OperationRecord {
            phase,
            version: self.version + 1,
            updated_at_ms: now_ms,
            wake_at_ms,
            claimed_until_ms: None,
            ..self.clone()
        }
    }
}

/// What a payment's money stands at, from its final operations (minor units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    pub authorized: u64,
    pub captured: u64,
    pub refunded: u64,
    pub voided: u64,
}

impl Money {
    /// The money of a payment authorized for `authorized` in `mode`, after `records`
    /// (a `Pending` refund counts as refunded; in-flight ones count nothing).
    pub fn of(authorized: u64, mode: CaptureMode, records: &[OperationRecord]) -> Money {
        let mut money = Money {
            authorized,
            captured: if mode == CaptureMode::Automatic {
                authorized
            } else {
                0
            },
            ..Money::default()
        };
        for record in records {
            let moved = match &record.phase {
                OperationPhase::Final {
                    result: OperationResult::Succeeded { amount, .. },
                } => *amount,
                OperationPhase::Final {
                    result: OperationResult::Pending { .. },
                } => record.operation.amount,
                _ => continue,
            };
            match record.operation.kind {
                OperationKind::Capture => money.captured += moved,
                OperationKind::Void => money.voided += moved.max(1),
                OperationKind::Refund => money.refunded += moved,
            }
        }
        money
    }

    /// What a refund may still give back.
    pub fn refundable(&self) -> u64 {
        self.captured.saturating_sub(self.refunded)
    }
}

/// Why [`admit`] refused a new operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Another operation of this payment is in flight (`operation_in_progress`).
    InProgress,
    /// The sums say no.
    Refused(OperationErrorCode),
}

/// Whether `candidate` may start beside the payment's `records`.
pub fn admit(candidate: &Operation, records: &[OperationRecord]) -> Result<(), Refusal> {
    if records.iter().any(|r| r.phase.in_flight()) {
        return Err(Refusal::InProgress);
    }
    let money = Money::of(candidate.authorized_amount, candidate.capture_mode, records);
    let automatic = candidate.capture_mode == CaptureMode::Automatic;
    let refuse = |code| Err(Refusal::Refused(code));
    match candidate.kind {
        OperationKind::Capture | OperationKind::Void if money.voided > 0 => {
            refuse(OperationErrorCode::AlreadyVoided)
        }
        OperationKind::Capture | OperationKind::Void if automatic || money.captured > 0 => {
            refuse(OperationErrorCode::AlreadyCaptured)
        }
        OperationKind::Capture if candidate.amount > money.authorized => {
            refuse(OperationErrorCode::AmountTooLarge)
        }
        OperationKind::Refund if money.voided > 0 => refuse(OperationErrorCode::AlreadyVoided),
        // A capture the provider has not settled yet has no id to refund against (the
        // refund would go to the authorization), and may still fail: not captured yet.
        OperationKind::Refund if money.captured == 0 || records.iter().any(capture_pending) => {
            refuse(OperationErrorCode::NotCaptured)
        }
        OperationKind::Refund if candidate.amount > money.refundable() => {
            refuse(OperationErrorCode::AmountTooLarge)
        }
        _ => Ok(()),
    }
}

/// Whether `record` is a capture the provider answered pending.
fn capture_pending(record: &OperationRecord) -> bool {
    record.operation.kind == OperationKind::Capture && record.phase.is_pending()
}

/// How [`OperationStore::begin_operation`] ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// Stored, in `Calling`: the caller sends the call.
    Created,
    /// The payment has an operation with this idempotency key already: that one.
    Existing(Box<OperationRecord>),
    /// [`admit`] refused it; nothing stored.
    Refused(Refusal),
}

/// Why [`OperationStore::begin_operation`] stored nothing for a payment the store does
/// not hold: an operation with no payment would move money the purge can no longer
/// account for.
pub fn payment_not_stored() -> StoreError {
    StoreError::Unavailable("the payment of this operation is not stored".into())
}

/// The operations of payments. Implemented by every session store; a store that keeps
/// none answers `Unavailable`.
pub trait OperationStore: MaybeSend + MaybeSync {
    /// Stores `record` (in `Calling`, version 1) unless its key is taken for the payment
    /// (`Existing`) or [`admit`] refuses it against the payment's stored operations,
    /// atomically with that check. A payment that is not stored (purged since the caller
    /// read it) takes no operation: [`payment_not_stored`], nothing written.
    fn begin_operation(
        &self,
        record: &OperationRecord,
    ) -> impl Future<Output = Result<Begun, StoreError>> + MaybeSend {
        let _ = record;
        async { Err(no_operations()) }
    }

    /// The payment's operations, oldest first.
    fn operations_of(
        &self,
        payment_id: &str,
    ) -> impl Future<Output = Result<Vec<OperationRecord>, StoreError>> + MaybeSend {
        let _ = payment_id;
        async { Ok(Vec::new()) }
    }

    /// Replaces the stored record with `next` if the stored one has version
    /// `next.version - 1` and is not settled. `Ok(false)`: someone else moved it first.
    fn swap_operation(
        &self,
        next: &OperationRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + MaybeSend {
        let _ = next;
        async { Err(no_operations()) }
    }

    /// [`OperationStore::swap_operation`], and when it changes the record, `events`
    /// enqueued in the webhook outbox in the same write: both or neither (the payment's
    /// `payment.captured`, `payment.voided` or `payment.refunded`). A store without an
    /// outbox refuses events (`Unavailable`) rather than drop them.
    fn swap_operation_with_events(
        &self,
        next: &OperationRecord,
        events: &[OutboxEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + MaybeSend {
        let refused = !events.is_empty();
        async move {
            if refused {
                return Err(outbox::no_outbox());
            }
            self.swap_operation(next).await
        }
    }

    /// Up to `limit` unsettled operations whose `wake_at_ms` is at or before `now_ms`,
    /// soonest first.
    fn due_operations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OperationRecord>, StoreError>> + MaybeSend {
        let _ = (now_ms, limit);
        async { Ok(Vec::new()) }
    }
}

fn no_operations() -> StoreError {
    StoreError::Unavailable("this store keeps no captures, voids or refunds".into())
}

/// The record with `key` among `records`.
pub fn by_key<'a>(records: &'a [OperationRecord], key: &str) -> Option<&'a OperationRecord> {
    records.iter().find(|r| r.idempotency_key == key)
}

/// [`OperationStore::begin_operation`]'s decision, for a store that has read the
/// payment's `records` under its lock or in its transaction.
pub fn decide(record: &OperationRecord, records: &[OperationRecord]) -> Begun {
    if let Some(existing) = by_key(records, &record.idempotency_key) {
        return Begun::Existing(Box::new(existing.clone()));
    }
    match admit(&record.operation, records) {
        Ok(()) => Begun::Created,
        Err(refusal) => Begun::Refused(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::lifecycle::OperationError;

    fn op(kind: OperationKind, amount: u64, mode: CaptureMode) -> Operation {
        Operation {
            kind,
            amount,
            currency: crate::order::Currency::parse("CAD").unwrap(),
            order_id: crate::order::OrderId::parse("order-1").unwrap(),
            authorized_amount: 1000,
            capture_mode: mode,
            provider_payment_id: "1".into(),
            capture_id: None,
            reference: "0".repeat(32),
        }
    }

    fn record(operation: Operation, phase: OperationPhase) -> OperationRecord {
        OperationRecord {
            id: "1".repeat(32),
            payment_id: "p".into(),
            idempotency_key: format!("{:?}", phase),
            fingerprint: String::new(),
            operation,
            phase,
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
            wake_at_ms: None,
            claimed_until_ms: None,
        }
    }

    fn done(amount: u64) -> OperationPhase {
        OperationPhase::Final {
            result: OperationResult::Succeeded {
                provider_operation_id: "x".into(),
                amount,
            },
        }
    }

    use CaptureMode::{Automatic, Manual};
    use OperationKind::{Capture, Refund, Void};

    fn refused(code: OperationErrorCode) -> Result<(), Refusal> {
        Err(Refusal::Refused(code))
    }

    #[test]
    fn a_manual_payment_takes_one_capture_up_to_the_authorization() {
        assert_eq!(admit(&op(Capture, 1000, Manual), &[]), Ok(()));
        assert_eq!(
            admit(&op(Capture, 1001, Manual), &[]),
            refused(OperationErrorCode::AmountTooLarge)
        );
        let captured = [record(op(Capture, 600, Manual), done(600))];
        assert_eq!(
            admit(&op(Capture, 100, Manual), &captured),
            refused(OperationErrorCode::AlreadyCaptured)
        );
        assert_eq!(
            admit(&op(Void, 1000, Manual), &captured),
            refused(OperationErrorCode::AlreadyCaptured)
        );
        assert_eq!(admit(&op(Refund, 600, Manual), &captured), Ok(()));
        assert_eq!(
            admit(&op(Refund, 601, Manual), &captured),
            refused(OperationErrorCode::AmountTooLarge)
        );
    }

    #[test]
    fn refunds_count_pending_ones_and_nothing_in_flight_passes() {
        let pending = OperationPhase::Final {
            result: OperationResult::Pending {
                provider_operation_id: "r".into(),
            },
        };
        let records = [record(op(Refund, 400, Automatic), pending)];
        assert_eq!(admit(&op(Refund, 600, Automatic), &records), Ok(()));
        assert_eq!(
            admit(&op(Refund, 601, Automatic), &records),
            refused(OperationErrorCode::AmountTooLarge)
        );
        let calling = [record(op(Refund, 1, Automatic), OperationPhase::Calling)];
        assert_eq!(
            admit(&op(Refund, 1, Automatic), &calling),
            Err(Refusal::InProgress)
        );
    }

    #[test]
    fn no_refund_goes_against_a_capture_still_pending() {
        let pending = OperationPhase::Final {
            result: OperationResult::Pending {
                provider_operation_id: "c".into(),
            },
        };
        let records = [record(op(Capture, 1000, Manual), pending)];
        assert_eq!(
            admit(&op(Refund, 100, Manual), &records),
            refused(OperationErrorCode::NotCaptured)
        );
        // Once it settled, the refund goes.
        let settled = [record(op(Capture, 1000, Manual), done(1000))];
        assert_eq!(admit(&op(Refund, 100, Manual), &settled), Ok(()));
    }

    #[test]
    fn a_refused_operation_moves_nothing_and_a_void_ends_everything() {
        let refused_capture = OperationPhase::Final {
            result: OperationResult::Refused(OperationError::new(
                OperationErrorCode::ProviderRejected,
            )),
        };
        let records = [record(op(Capture, 1000, Manual), refused_capture)];
        assert_eq!(admit(&op(Capture, 1000, Manual), &records), Ok(()));
        assert_eq!(
            admit(&op(Refund, 1, Manual), &records),
            refused(OperationErrorCode::NotCaptured)
        );
        let voided = [record(op(Void, 1000, Manual), done(1000))];
        for kind in [Capture, Void, Refund] {
            assert_eq!(
                admit(&op(kind, 1, Manual), &voided),
                refused(OperationErrorCode::AlreadyVoided)
            );
        }
        assert_eq!(
            admit(&op(Capture, 1, Automatic), &[]),
            refused(OperationErrorCode::AlreadyCaptured)
        );
    }
}

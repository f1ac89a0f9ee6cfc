//! Capture, void and refund of an authorized payment (`POST /v1/payments/{id}/capture`,
//! `/void`, `/refunds`; merchant key and `Idempotency-Key`), and how each operation is
//! driven: written `Calling` before the provider call (persist before act, like the
//! driver does for sessions), its answer written `Final`, a lost answer `Unknown`, which
//! the reconciler's sweep, a merchant read or `POST /reconcile` looks up with backoff
//! (`Adapter::operation_lookup`). A `Calling` record older than the call lease (a process
//! that stopped mid-call) is looked up the same way. The session itself never changes:
//! the operations are records of their own ([`crate::store::operations`]).

use serde::{Deserialize, Serialize};

use super::api::{parse_body, ApiError, MerchantView};
use super::auth;
use super::host::{Env, Transport};
use super::http::{Request, Response};
use super::providers::ProviderAdapter;
use super::Backend;
use crate::payment::{PaymentStatus, ProviderKind};
use crate::provider::lifecycle::{
    Operation, OperationCall, OperationError, OperationKind, OperationResult, OperationStep,
};
use crate::session::Session;
use crate::store::operations::{
    admit, by_key, Begun, Money, OperationPhase, OperationRecord, Refusal,
};
use crate::store::{SessionStore, StoreError};

/// The header a merchant names each operation request with.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Longest idempotency key accepted (bytes).
pub const MAX_IDEMPOTENCY_KEY: usize = 255;
/// More calls than any operation makes (a lookup and a read): a loop.
const MAX_OPERATION_CALLS: usize = 8;

/// The body of a capture, void or refund: `amount` in minor units, omitted = all (a
/// capture: the authorization; a refund: what is left). A void takes none.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OperationBody {
    #[serde(default, deserialize_with = "given_amount")]
    amount: Option<u64>,
}

/// A member `amount` is a number: `null` is refused rather than read as "all", which only
/// an omitted member means (a merchant's unset variable must not capture or refund all).
fn given_amount<'de, D: serde::Deserializer<'de>>(amount: D) -> Result<Option<u64>, D::Error> {
    u64::deserialize(amount).map(Some)
}

/// An operation as the merchant sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationView<'a> {
    pub id: &'a str,
    pub kind: OperationKind,
    pub status: &'static str,
    pub amount: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_operation_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a OperationError>,
    pub created_at_ms: u64,
}

impl<'a> OperationView<'a> {
    pub fn of(record: &'a OperationRecord) -> OperationView<'a> {
        let requested = record.operation.amount;
        let (status, amount, provider_id, error) = match &record.phase {
            OperationPhase::Calling | OperationPhase::Unknown { .. } => {
                ("unknown", requested, None, None)
            }
            OperationPhase::Final { result } => {
                let (amount, provider_id, error) = match result {
                    OperationResult::Succeeded {
                        provider_operation_id,
                        amount,
                    } => (*amount, Some(provider_operation_id.as_str()), None),
                    OperationResult::Pending {
                        provider_operation_id,
                    } => (requested, Some(provider_operation_id.as_str()), None),
                    OperationResult::Refused(error) => (requested, None, Some(error)),
                };
                (result.status(), amount, provider_id, error)
            }
        };
        OperationView {
            id: &record.id,
            kind: record.operation.kind,
            status,
            amount,
            provider_operation_id: provider_id,
            error,
            created_at_ms: record.created_at_ms,
        }
    }
}

/// The payment's money: authorized only once the payment is.
pub fn money_of(session: &Session, records: &[OperationRecord]) -> Money {
    match session.result() {
        Some(result) if result.status == PaymentStatus::Authorized => {
            Money::of(session.amount, session.merchant.capture_mode, records)
        }
        _ => Money::default(),
    }
}

/// The merchant's view with the money and the operations.
pub fn merchant_payment(session: &Session, records: &[OperationRecord]) -> serde_json::Value {
    let mut view = super::http::to_value(&MerchantView::of(session)).unwrap_or_default();
    if let Some(fields) = view.as_object_mut() {
        fields.insert(
            "money".into(),
            super::http::to_value(&money_of(session, records)).unwrap_or_default(),
        );
        let operations: Vec<OperationView> = records.iter().map(OperationView::of).collect();
        fields.insert(
            "operations".into(),
            super::http::to_value(&operations).unwrap_or_default(),
        );
    }
    view
}

fn fingerprint(kind: OperationKind, amount: Option<u64>) -> String {
    match amount {
        Some(amount) => format!("{}:{amount}", kind.as_str()),
        None => format!("{}:all", kind.as_str()),
    }
}

fn idempotency_key(request: &Request) -> Result<String, ApiError> {
    let Some(key) = request.header(IDEMPOTENCY_KEY_HEADER) else {
        return Err(ApiError::bad_request(
            "missing_idempotency_key",
            "capture, void and refund need an Idempotency-Key header",
        ));
    };
    let printable = key.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !printable {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            format!("Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters"),
        ));
    }
    Ok(key.to_owned())
}

fn operation_body(body: &[u8], kind: OperationKind) -> Result<OperationBody, ApiError> {
    let parsed: OperationBody = if body.iter().all(u8::is_ascii_whitespace) {
        OperationBody::default()
    } else {
        parse_body(body)?
    };
    match (kind, parsed.amount) {
        (OperationKind::Void, Some(_)) => Err(ApiError::bad_request(
            "invalid_request",
            "amount: a void releases the whole authorization and takes no amount",
        )),
        (_, Some(0)) => Err(ApiError::bad_request(
            "invalid_amount",
            "amount: at least 1 (minor units)",
        )),
        (_, Some(amount)) if amount > super::MAX_AMOUNT => Err(ApiError::bad_request(
            "invalid_amount",
            format!("amount: at most {}", super::MAX_AMOUNT),
        )),
        _ => Ok(parsed),
    }
}

fn refusal_error(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::InProgress => ApiError::new(
            409,
            "operation_in_progress",
            "another capture, void or refund of this payment is under way; try again once it is over",
        ),
        Refusal::Refused(code) => ApiError::new(409, code.as_str(), refusal_message(code)),
    }
}

fn refusal_message(code: crate::provider::lifecycle::OperationErrorCode) -> &'static str {
    use crate::provider::lifecycle::OperationErrorCode as Code;
    match code {
        Code::AmountTooLarge => "the amount is more than is left to capture or refund",
        Code::AlreadyCaptured => {
            "this payment is captured already (automatic capture, or a capture before)"
        }
        Code::AlreadyVoided => "this payment's authorization was voided",
        Code::NotCaptured => "nothing of this payment was captured",
        _ => "this operation is not possible for this payment",
    }
}

fn unsupported(provider: ProviderKind, error: &OperationError) -> ApiError {
    let why = error.provider_message.as_deref().unwrap_or("not supported");
    ApiError::bad_request(
        "operation_unsupported",
        format!("{}: {why}", provider.as_str()),
    )
}

fn store_error(error: StoreError) -> ApiError {
    ApiError::store(&error)
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// `POST /v1/payments/{id}/capture|void|refunds` (merchant).
    pub(crate) async fn operate(
        &self,
        id: &str,
        request: &Request,
        kind: OperationKind,
    ) -> Result<Response, ApiError> {
        auth::merchant(request, &self.config.merchant_api_keys)?;
        let key = idempotency_key(request)?;
        let body = operation_body(&request.body, kind)?;
        let session = self.load(id).await?.ok_or_else(ApiError::not_found)?;
        let records = self
            .store
            .operations_of(&session.id)
            .await
            .map_err(store_error)?;
        let fingerprint = fingerprint(kind, body.amount);
        if let Some(existing) = by_key(&records, &key) {
            return self
                .replayed(&session, existing.clone(), &fingerprint)
                .await;
        }
        let operation = self.new_operation(&session, kind, body.amount, &records)?;
        admit(&operation, &records).map_err(refusal_error)?;
        let adapter = self.providers.get(session.provider).ok_or_else(|| {
            ApiError::new(
                409,
                "provider_not_configured",
                "this payment's provider is no longer configured",
            )
        })?;
        let step = adapter
            .operation(&operation, &self.context(&session))
            .map_err(|error| unsupported(session.provider, &error))?;
        let now = self.env.now_ms();
        let record = OperationRecord {
            id: operation.reference.clone(),
            payment_id: session.id.clone(),
            idempotency_key: key,
            fingerprint: fingerprint.clone(),
            operation,
            phase: OperationPhase::Calling,
            version: 1,
            created_at_ms: now,
            updated_at_ms: now,
            wake_at_ms: Some(now.saturating_add(self.config.calls.lease_ms())),
            claimed_until_ms: None,
        };
        match self
            .store
            .begin_operation(&record)
            .await
            .map_err(store_error)?
        {
            Begun::Created => {}
            Begun::Existing(existing) => {
                return self.replayed(&session, *existing, &fingerprint).await
            }
            Begun::Refused(refusal) => return Err(refusal_error(refusal)),
        }
        tracing::info!(session = %session.id, operation = %record.id, kind = kind.as_str(), amount = record.operation.amount, "operation begun");
        let record = self
            .drive_operation(adapter, &session, record, step)
            .await
            .map_err(store_error)?;
        self.operation_answer(&session, &record).await
    }

    /// The operation the merchant asked for, with the payment's terms; refused when the
    /// payment is not authorized.
    fn new_operation(
        &self,
        session: &Session,
        kind: OperationKind,
        asked: Option<u64>,
        records: &[OperationRecord],
    ) -> Result<Operation, ApiError> {
        let provider_payment_id = match session.result() {
            Some(result) if result.status == PaymentStatus::Authorized => {
                result.provider_payment_id.clone().unwrap_or_default()
            }
            _ => {
                return Err(ApiError::new(
                    409,
                    "payment_not_authorized",
                    "only an authorized payment can be captured, voided or refunded",
                ))
            }
        };
        let money = money_of(session, records);
        let amount = match kind {
            OperationKind::Capture => asked.unwrap_or(session.amount),
            OperationKind::Void => session.amount,
            OperationKind::Refund => asked.unwrap_or(money.refundable()),
        };
        if kind == OperationKind::Refund && amount == 0 && money.captured > 0 {
            return Err(ApiError::new(
                409,
                "amount_too_large",
                "everything captured is refunded already",
            ));
        }
        let capture_id = records.iter().rev().find_map(|r| match &r.phase {
            OperationPhase::Final {
                result:
                    OperationResult::Succeeded {
                        provider_operation_id,
                        ..
                    },
            } if r.operation.kind == OperationKind::Capture => Some(provider_operation_id.clone()),
            _ => None,
        });
        Ok(Operation {
            kind,
            amount,
            currency: session.currency,
            order_id: session.order_id.clone(),
            authorized_amount: session.amount,
            capture_mode: session.merchant.capture_mode,
            provider_payment_id,
            capture_id,
            reference: super::host::random_hex(&self.env),
        })
    }

    /// The answer to a request whose key names `existing`: the same operation when the
    /// request is the same (once its call is over), 409 when the key was used for another.
    async fn replayed(
        &self,
        session: &Session,
        existing: OperationRecord,
        fingerprint: &str,
    ) -> Result<Response, ApiError> {
        if existing.fingerprint != fingerprint {
            return Err(ApiError::new(
                409,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request on this payment",
            ));
        }
        let record = self.awaited(existing).await.map_err(store_error)?;
        self.operation_answer(session, &record).await
    }

    /// `record`, once the request sending its call is over (at most one call lease,
    /// polling the store as [`Backend::settled`] does).
    async fn awaited(&self, mut record: OperationRecord) -> Result<OperationRecord, StoreError> {
        let deadline = self.env.now_ms() + self.config.calls.lease_ms();
        let mut waits = super::driver::PollWaits::default();
        while record.phase == OperationPhase::Calling && self.env.now_ms() < deadline {
            self.env.sleep(waits.next()).await;
            record = self.reloaded(record).await?;
        }
        self.settle_operation(record, false).await
    }

    async fn operation_answer(
        &self,
        session: &Session,
        record: &OperationRecord,
    ) -> Result<Response, ApiError> {
        let records = self
            .store
            .operations_of(&session.id)
            .await
            .map_err(store_error)?;
        let mut view = super::http::to_value(&OperationView::of(record)).unwrap_or_default();
        if let Some(fields) = view.as_object_mut() {
            fields.insert("payment".into(), session.id.clone().into());
            fields.insert(
                "money".into(),
                super::http::to_value(&money_of(session, &records)).unwrap_or_default(),
            );
        }
        Ok(Response::json(200, &view))
    }

    /// Carries `record` through the adapter's steps to its result or a doubt. The record
    /// is claimed for one call lease; an operation of several calls (Payroc's token, then
    /// the refund) renews its claim before each call after the first, so that no other
    /// actor takes it for abandoned and sends it too while this one is still under way.
    /// A renewal another actor got to first ends this drive: that actor carries it on.
    pub(super) async fn drive_operation(
        &self,
        adapter: &dyn ProviderAdapter,
        session: &Session,
        mut record: OperationRecord,
        mut step: OperationStep,
    ) -> Result<OperationRecord, StoreError> {
        let mut looked_up = false;
        for calls in 0..MAX_OPERATION_CALLS {
            match step {
                OperationStep::Call { call, request } => {
                    if calls > 0 {
                        let renewed = self.claimed(&record, self.env.now_ms());
                        if !self.store.swap_operation(&renewed).await? {
                            return self.lost_race(record).await;
                        }
                        record = renewed;
                    }
                    let answer = self.call(session, &request).await;
                    looked_up = call == OperationCall::Lookup;
                    step = adapter.on_operation_response(
                        &record.operation,
                        call,
                        answer,
                        &self.context(session),
                    );
                }
                OperationStep::Unknown => return self.operation_in_doubt(record).await,
                OperationStep::Done(result)
                    if self.never_made_not_believed(&record, &result, looked_up) =>
                {
                    return self.operation_in_doubt(record).await
                }
                OperationStep::Done(result) => {
                    return self.operation_over(session, record, result).await
                }
            }
        }
        tracing::warn!(operation = %record.id, "the operation's calls did not settle; it will be looked up");
        self.operation_in_doubt(record).await
    }

    /// Whether `result` is a "never made" ([`OperationResult::is_never_made`]) not to be
    /// believed: of an operation the provider answered `pending` (it took it and named
    /// it; no later lookup un-makes it, and believing one would admit a second capture or
    /// refund), or from a lookup too soon ([`Self::never_made_too_soon`]). The operation
    /// then stays as it was: pending, or in doubt.
    fn never_made_not_believed(
        &self,
        record: &OperationRecord,
        result: &OperationResult,
        looked_up: bool,
    ) -> bool {
        if result.is_never_made() && record.phase.is_pending() {
            tracing::warn!(
                operation = %record.id,
                "the lookup found nothing of an operation the provider took; it stays pending"
            );
            return true;
        }
        looked_up && self.never_made_too_soon(record, result)
    }

    /// Whether `result`, a lookup's answer, is "never made" ([`OperationResult::is_never_made`])
    /// sooner than `reconcile.not_found_after_ms` after the operation's call was last sent:
    /// the provider may still be processing it, or its search not show it yet, and a refund
    /// believed never made would be asked again. Such an answer leaves the operation in
    /// doubt.
    fn never_made_too_soon(&self, record: &OperationRecord, result: &OperationResult) -> bool {
        let believed_from = self
            .last_sent_at(record)
            .saturating_add(self.config.reconcile.not_found_after_ms);
        if !result.is_never_made() || self.env.now_ms() >= believed_from {
            return false;
        }
        tracing::info!(
            operation = %record.id, believed_from_ms = believed_from,
            "the lookup found nothing yet; too soon after the lost call to believe it"
        );
        true
    }

    /// When `record`'s call last went out at the latest: within the call lease of the
    /// record's creation (it is written just before the first attempt).
    fn last_sent_at(&self, record: &OperationRecord) -> u64 {
        record
            .created_at_ms
            .saturating_add(self.config.calls.lease_ms())
    }

    async fn operation_in_doubt(
        &self,
        record: OperationRecord,
    ) -> Result<OperationRecord, StoreError> {
        let now = self.env.now_ms();
        let lookups = match &record.phase {
            OperationPhase::Unknown { lookups, .. } => lookups.saturating_add(1),
            _ => 0,
        };
        // A pending result stays pending (its sums count) until the provider says more.
        let (phase, next_lookup_at_ms) = match &record.phase {
            pending @ OperationPhase::Final { .. } => (
                pending.clone(),
                self.config
                    .reconcile
                    .next_pending_lookup_at(now, record.created_at_ms),
            ),
            _ => {
                let next_lookup_at_ms = self.config.reconcile.next_doubt_lookup_at(
                    now,
                    lookups,
                    self.last_sent_at(&record),
                );
                let phase = OperationPhase::Unknown {
                    lookups,
                    next_lookup_at_ms,
                };
                (phase, next_lookup_at_ms)
            }
        };
        tracing::warn!(operation = %record.id, lookups, "operation in doubt; it will be looked up");
        self.persist_operation(record, phase, Some(next_lookup_at_ms))
            .await
    }

    /// Writes the result; a success (not a `pending` one) with its webhook event, in the
    /// same write. A settled record never changes again, so each operation's event is
    /// written once.
    async fn operation_over(
        &self,
        session: &Session,
        record: OperationRecord,
        result: OperationResult,
    ) -> Result<OperationRecord, StoreError> {
        // A pending result is looked up again, less often the longer it stays pending.
        let wake_at = match result {
            OperationResult::Pending { .. } => Some(
                self.config
                    .reconcile
                    .next_pending_lookup_at(self.env.now_ms(), record.created_at_ms),
            ),
            _ => None,
        };
        // Its status and a refusal's code, as words (the merchant's view has the rest): no
        // `Debug` of the result in the edge worker.
        let code = match &result {
            OperationResult::Refused(error) => error.code.as_str(),
            _ => "",
        };
        tracing::info!(operation = %record.id, status = result.status(), code, "operation over");
        // A pending result a lookup found still pending was counted when it first came.
        let counted = matches!(
            (&record.phase, &result),
            (
                OperationPhase::Final {
                    result: OperationResult::Pending { .. }
                },
                OperationResult::Pending { .. }
            )
        );
        let (kind, ended) = (record.operation.kind, result.clone());
        let next = record.advanced(OperationPhase::Final { result }, self.env.now_ms(), wake_at);
        let events = self.operation_events(session, &next);
        if self
            .store
            .swap_operation_with_events(&next, &events)
            .await?
        {
            if !counted {
                self.observer
                    .operation_ended(session.provider, kind, &ended);
            }
            return Ok(next);
        }
        self.lost_race(record).await
    }

    /// Writes `phase` as the record's next version; the stored record if another actor
    /// moved it first.
    async fn persist_operation(
        &self,
        record: OperationRecord,
        phase: OperationPhase,
        wake_at_ms: Option<u64>,
    ) -> Result<OperationRecord, StoreError> {
        let next = record.advanced(phase, self.env.now_ms(), wake_at_ms);
        if self.store.swap_operation(&next).await? {
            return Ok(next);
        }
        self.lost_race(record).await
    }

    /// The stored record after another actor moved `record` first (nothing was written).
    async fn lost_race(&self, record: OperationRecord) -> Result<OperationRecord, StoreError> {
        tracing::info!(operation = %record.id, "lost the race for this operation; nothing written");
        self.reloaded(record).await
    }

    pub(super) async fn reloaded(
        &self,
        record: OperationRecord,
    ) -> Result<OperationRecord, StoreError> {
        let records = self.store.operations_of(&record.payment_id).await?;
        Ok(records
            .into_iter()
            .find(|r| r.id == record.id)
            .unwrap_or(record))
    }
}

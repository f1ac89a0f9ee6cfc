//! The events the merchant's endpoints receive, and their JSON:
//!
//! ```json
//! {"id": "evt_<32 hex>", "type": "payment.authorized", "created": 1767225600,
//!  "data": {"payment": {"id", "orderId", "provider", "amount", "currency", "status",
//!                       "providerPaymentId", "card": {"brand", "lastFour"}, "result"},
//!           "operation"?: {"id", "kind", "status": "succeeded", "amount",
//!                          "providerOperationId", "createdAtMs"}}}
//! ```
//!
//! The payment is the merchant's view without what the page or the merchant's server
//! alone may hold: no client secret, no BIN, no browser details, no payer.

use serde::Serialize;

use crate::backend::operations::OperationView;
use crate::payment::{CardSummary, PaymentResult, PaymentStatus, ProviderKind};
use crate::provider::lifecycle::{OperationKind, OperationResult};
use crate::session::Session;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum EventType {
    #[serde(rename = "payment.authorized")]
    Authorized,
    /// Declined, failed or error: the result's `error.code` says which.
    #[serde(rename = "payment.failed")]
    Failed,
    #[serde(rename = "payment.cancelled")]
    Cancelled,
    #[serde(rename = "payment.captured")]
    Captured,
    #[serde(rename = "payment.voided")]
    Voided,
    #[serde(rename = "payment.refunded")]
    Refunded,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Authorized => "payment.authorized",
            EventType::Failed => "payment.failed",
            EventType::Cancelled => "payment.cancelled",
            EventType::Captured => "payment.captured",
            EventType::Voided => "payment.voided",
            EventType::Refunded => "payment.refunded",
        }
    }

    /// The event of a payment that reached `status`.
    pub fn of_status(status: PaymentStatus) -> EventType {
        match status {
            PaymentStatus::Authorized => EventType::Authorized,
            PaymentStatus::Cancelled => EventType::Cancelled,
            PaymentStatus::Declined | PaymentStatus::Failed | PaymentStatus::Error => {
                EventType::Failed
            }
        }
    }

    /// The event of an operation that ended `result`: only a success has one. A refusal
    /// moved no money; a `pending` refund (dLocal) has its event when the provider
    /// confirms it, so the merchant hears of each operation once.
    pub fn of_operation(kind: OperationKind, result: &OperationResult) -> Option<EventType> {
        if !matches!(result, OperationResult::Succeeded { .. }) {
            return None;
        }
        Some(match kind {
            OperationKind::Capture => EventType::Captured,
            OperationKind::Void => EventType::Voided,
            OperationKind::Refund => EventType::Refunded,
        })
    }
}

/// One event, as sent.
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Unix seconds.
    pub created: u64,
    pub data: EventData<'a>,
}

#[derive(Debug, Serialize)]
pub struct EventData<'a> {
    pub payment: PaymentData<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// A capture's, void's or refund's event: the operation as the merchant's API shows
    /// it (`GET /v1/payments/{id}`'s `operations[]`).
    pub operation: Option<OperationView<'a>>,
}

/// The payment, as an endpoint sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentData<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub provider: ProviderKind,
    pub amount: u64,
    pub currency: &'a str,
    /// The result's status (`authorized`, `declined`, …); `null` before one.
    pub status: Option<PaymentStatus>,
    pub provider_payment_id: Option<&'a str>,
    pub card: Option<CardData<'a>>,
    pub result: Option<&'a PaymentResult>,
}

/// Brand and last four: never more of the card.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardData<'a> {
    pub brand: crate::emv::CardBrand,
    pub last_four: &'a str,
}

impl<'a> PaymentData<'a> {
    pub fn of(session: &'a Session) -> PaymentData<'a> {
        let result = session.result();
        PaymentData {
            id: &session.id,
            order_id: &session.order_id,
            provider: session.provider,
            amount: session.amount,
            currency: &session.currency,
            status: result.map(|r| r.status),
            provider_payment_id: result.and_then(|r| r.provider_payment_id.as_deref()),
            card: session.card.as_ref().map(CardData::of),
            result,
        }
    }
}

impl<'a> CardData<'a> {
    fn of(card: &'a CardSummary) -> CardData<'a> {
        CardData {
            brand: card.brand,
            last_four: &card.last_four,
        }
    }
}

impl Event<'_> {
    /// The JSON that is signed and sent.
    pub fn body(&self) -> String {
        // Plain structs of strings and numbers: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{Currency, OrderId};
    use crate::payment::{DisplayMode, ResultCode};
    use crate::session::{MerchantTerms, Phase};
    use serde_json::{json, Value};

    fn declined() -> Session {
        Session {
            id: "0123456789abcdef0123456789abcdef".into(),
            nonce: "n".into(),
            client_secret: "0123456789abcdef0123456789abcdef_secret_feedface".into(),
            provider: ProviderKind::Bambora,
            order_id: OrderId::parse("o-1").unwrap(),
            amount: 1000,
            currency: Currency::parse("USD").unwrap(),
            merchant: MerchantTerms::default(),
            checkout_origin: "http://127.0.0.1:8080".into(),
            display: DisplayMode::Iframe,
            return_url: None,
            confirm_attempts: 0,
            return_reference: None,
            card: Some(CardSummary {
                brand: crate::emv::CardBrand::Visa,
                bin: "40000000".into(),
                last_four: "1000".into(),
            }),
            created_at_ms: 0,
            expires_at_ms: 1_000,
            updated_at_ms: 0,
            wake_at_ms: None,
            version: 4,
            phase: Phase::Final {
                result: PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined),
            },
        }
    }

    #[test]
    fn payload_is_id_type_created_and_the_payment_without_secrets() {
        let session = declined();
        let event = Event {
            id: "evt_00000000000000000000000000000001",
            kind: EventType::of_status(PaymentStatus::Declined),
            created: 1_700_000_000,
            data: EventData {
                payment: PaymentData::of(&session),
                operation: None,
            },
        };
        let body = event.body();
        let value: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["id"], "evt_00000000000000000000000000000001");
        assert_eq!(value["type"], "payment.failed");
        assert_eq!(value["created"], 1_700_000_000);
        let payment = &value["data"]["payment"];
        assert_eq!(payment["id"], session.id.as_str());
        assert_eq!(payment["orderId"], "o-1");
        assert_eq!(payment["amount"], 1000);
        assert_eq!(payment["currency"], "USD");
        assert_eq!(payment["status"], "declined");
        assert_eq!(payment["result"]["error"]["code"], "declined");
        assert_eq!(
            payment["card"],
            json!({"brand": "visa", "lastFour": "1000"})
        );
        assert!(value["data"].get("operation").is_none());
        for secret in ["secret", "40000000", "clientSecret", "nonce", "bin"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
    }

    #[test]
    fn each_status_and_operation_has_its_event() {
        let of = EventType::of_status;
        assert_eq!(of(PaymentStatus::Authorized).as_str(), "payment.authorized");
        assert_eq!(of(PaymentStatus::Cancelled).as_str(), "payment.cancelled");
        for failed in [
            PaymentStatus::Declined,
            PaymentStatus::Failed,
            PaymentStatus::Error,
        ] {
            assert_eq!(of(failed), EventType::Failed);
        }
        let done = OperationResult::Succeeded {
            provider_operation_id: "op".into(),
            amount: 5,
        };
        let kinds = [
            (OperationKind::Capture, "payment.captured"),
            (OperationKind::Void, "payment.voided"),
            (OperationKind::Refund, "payment.refunded"),
        ];
        for (kind, name) in kinds {
            assert_eq!(
                EventType::of_operation(kind, &done).map(EventType::as_str),
                Some(name)
            );
            let json = serde_json::to_value(EventType::of_operation(kind, &done)).unwrap();
            assert_eq!(json, name);
        }
        let refused = OperationResult::Refused(crate::provider::lifecycle::OperationError::new(
            crate::provider::lifecycle::OperationErrorCode::AmountTooLarge,
        ));
        assert_eq!(
            EventType::of_operation(OperationKind::Refund, &refused),
            None
        );
        let pending = OperationResult::Pending {
            provider_operation_id: "REF-1".into(),
        };
        assert_eq!(
            EventType::of_operation(OperationKind::Refund, &pending),
            None
        );
    }
}

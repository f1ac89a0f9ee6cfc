//! Payroc's wire shapes, as the adapter sends and reads them: request bodies built from
//! typed values (so a resend is byte-for-byte the same body, which Payroc's idempotency
//! needs), lenient response DTOs that keep only what the adapter acts on, and the RFC 7807
//! problem document. Field names follow payroc/payroc-sdk-python and the seed; see
//! docs/backend/payroc.md.

use serde::{Deserialize, Serialize};

use crate::payment::CardDetails;

/// `POST {identity}/authorize` → 200.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    /// Seconds.
    pub expires_in: u64,
    #[serde(default)]
    pub token_type: Option<String>,
}

/// `POST /processing-terminals/{id}/single-use-tokens` body: a keyed card, plain text.
/// Built only inside the request; it never reaches a state or a log.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest<'a> {
    pub channel: &'static str,
    pub source: TokenSource<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSource<'a> {
    #[serde(rename = "type")]
    pub source_type: &'static str,
    pub card_details: KeyedCardDetails<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyedCardDetails<'a> {
    pub entry_method: &'static str,
    pub cardholder_name: &'a str,
    pub keyed_data: KeyedData<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyedData<'a> {
    pub data_format: &'static str,
    pub card_number: &'a str,
    /// MMYY.
    pub expiry_date: String,
    pub cvv: &'a str,
}

impl<'a> TokenRequest<'a> {
    pub fn keyed(card: &'a CardDetails) -> TokenRequest<'a> {
        TokenRequest {
            channel: "web",
            source: TokenSource {
                source_type: "card",
                card_details: KeyedCardDetails {
                    entry_method: "keyed",
                    cardholder_name: &card.holder_name,
                    keyed_data: KeyedData {
                        data_format: "plainText",
                        card_number: card.number.expose(),
                        expiry_date: format!(
                            "{:02}{:02}",
                            card.expiry_month,
                            card.expiry_year % 100
                        ),
                        cvv: card.cvv.expose(),
                    },
                },
            },
        }
    }
}

/// The single-use token Payroc answered with (201).
#[derive(Debug, Clone, Deserialize)]
pub struct SingleUseToken {
    pub token: String,
}

/// `POST /payments` body (SDK `card_payments/payments`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleRequest<'a> {
    pub channel: &'static str,
    pub processing_terminal_id: &'a str,
    pub order: SaleOrder<'a>,
    pub payment_method: SalePaymentMethod<'a>,
    pub three_d_secure: ThreeDSecure<'a>,
    pub auto_capture: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleOrder<'a> {
    pub order_id: &'a str,
    pub amount: u64,
    pub currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SalePaymentMethod<'a> {
    #[serde(rename = "type")]
    pub method_type: &'static str,
    pub token: &'a str,
}

/// The 3-D Secure evidence of a sale: the gateway MPI's reference, or the merchant's own
/// authentication (`eci` is Payroc's enum word, not the numeric ECI).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "serviceProvider", rename_all = "camelCase")]
pub enum ThreeDSecure<'a> {
    #[serde(rename_all = "camelCase")]
    Gateway { mpi_reference: &'a str },
    #[serde(rename_all = "camelCase")]
    ThirdParty {
        eci: &'static str,
        cavv: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        xid: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ds_transaction_id: Option<&'a str>,
    },
}

/// A created payment (201) or one of the payments list, as far as the result and the
/// lookup need it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: String,
    #[serde(default)]
    pub processing_terminal_id: Option<String>,
    #[serde(default)]
    pub order: Option<PaymentOrder>,
    #[serde(default)]
    pub card: Option<PaymentCard>,
    pub transaction_result: TransactionResult,
    /// The payment's refunds, oldest first (a refund's answer).
    #[serde(default)]
    pub refunds: Vec<RefundSummary>,
}

/// One of a payment's `refunds[]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundSummary {
    pub refund_id: String,
    /// Minor units; Payroc's recordings show it signed either way.
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub response_code: Option<String>,
    #[serde(default)]
    pub response_message: Option<String>,
}

/// `POST /payments/{paymentId}/capture` body (SDK `card_payments.payments.capture`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureRequest<'a> {
    pub processing_terminal_id: &'a str,
    pub amount: u64,
}

/// `POST /payments/{paymentId}/refund` body (SDK `ReferencedRefund`: both required).
#[derive(Debug, Clone, Serialize)]
pub struct RefundRequest {
    pub amount: u64,
    pub description: String,
}

/// What the payment was for.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOrder {
    pub order_id: String,
    /// Minor units.
    pub amount: u64,
    pub currency: String,
}

/// `GET /payments?…` → 200: one page of the payments list (docs.payroc.com/api/pagination).
/// The payments stay JSON until the lookup picks its order's out of them, so that another
/// order's payment this adapter cannot read does not hide its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPage {
    #[serde(default)]
    pub has_more: bool,
    #[serde(default)]
    pub links: Vec<Link>,
    pub data: Vec<serde_json::Value>,
}

/// `{rel: next|previous, method, href}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Link {
    #[serde(default)]
    pub rel: String,
    #[serde(default)]
    pub href: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCard {
    /// `453985******7062`: the BIN tells the brand.
    #[serde(default)]
    pub card_number: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResult {
    /// ready, pending, declined, complete, referral, pickup, reversal, admin, expired,
    /// accepted (kept as text: an unknown word must not make an approval unreadable).
    pub status: String,
    /// A, D, E, P, R, C.
    pub response_code: String,
    #[serde(default)]
    pub response_message: Option<String>,
    /// Minor units (a capture's answer: the amount captured).
    #[serde(default)]
    pub authorized_amount: Option<i64>,
    /// The currency of `authorized_amount`.
    #[serde(default)]
    pub currency: Option<String>,
}

/// RFC 7807 problem details with Payroc's `errors[]` (docs.payroc.com/api/errors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Problem {
    #[serde(rename = "type")]
    pub problem_type: Option<String>,
    pub title: Option<String>,
    pub detail: Option<String>,
    pub errors: Vec<ProblemError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProblemError {
    pub parameter: Option<String>,
    pub message: Option<String>,
    pub detail: Option<String>,
}

impl Problem {
    /// Reads a problem document; `None` when the body is not one.
    pub fn parse(body: &str) -> Option<Problem> {
        crate::json_path::from_text::<Problem>(body)
            .ok()
            .filter(|p| p.problem_type.is_some() || p.title.is_some() || p.detail.is_some())
    }

    /// A stable code: the type's fragment (`bad-request`, `idempotency-key-in-use`), else
    /// the title.
    pub fn code(&self) -> String {
        self.problem_type
            .as_deref()
            .and_then(|t| t.rsplit_once('#').map(|(_, fragment)| fragment))
            .filter(|fragment| !fragment.is_empty())
            .or(self.title.as_deref())
            .unwrap_or("problem")
            .to_owned()
    }

    /// The detail, followed by each `errors[]` entry as `parameter: message`, since the
    /// detail of a validation problem is generic and the entries say what was wrong.
    pub fn message(&self) -> String {
        let mut message = self
            .detail
            .clone()
            .or_else(|| self.title.clone())
            .unwrap_or_default();
        for error in &self.errors {
            let what = error.message.as_deref().or(error.detail.as_deref());
            match (error.parameter.as_deref(), what) {
                (Some(parameter), Some(what)) => {
                    message.push_str(&format!(" ({parameter}: {what})"))
                }
                (None, Some(what)) => message.push_str(&format!(" ({what})")),
                _ => {}
            }
        }
        message
    }
}

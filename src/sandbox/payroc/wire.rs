//! Payroc's response bodies as the sandbox sends them. Field names and types follow the
//! SDK's recorded responses (`payroc-wiremock.json`, `Create single use token`, `Create
//! payment`, `Retrieve payment`); the types deserialize those recordings too (a test
//! proves it), so what the sandbox emits is a subset of what Payroc documents.

use serde::{Deserialize, Serialize};

/// `POST /authorize` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
}

/// `POST /processing-terminals/{id}/single-use-tokens` → 201.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SingleUseToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_terminal_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Payroc echoes the tokenized payload here; the sandbox leaves it out, because for a
    /// keyed card it would carry the card number and CVV back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_method: Option<TokenPaymentMethod>,
    pub token: String,
    /// ISO 8601, e.g. `2024-08-05T17:50:05Z`.
    pub expires_at: String,
    pub source: TokenSource,
}

/// The echoed payment method of a single-use token (recorded responses only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPaymentMethod {
    #[serde(rename = "type")]
    pub method_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_details: Option<TokenCardDetails>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenCardDetails {
    pub entry_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downgrade_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_signature: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub model: String,
    pub serial_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
}

/// What was tokenized (`source` of the response): the card, masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenSource {
    /// `card`.
    #[serde(rename = "type")]
    pub source_type: String,
    pub cardholder_name: String,
    /// `453985******7062`.
    pub card_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debit: Option<bool>,
}

/// `POST /payments` → 201 and `GET /payments/{paymentId}` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub payment_id: String,
    pub processing_terminal_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    pub order: PaymentOrder,
    pub card: PaymentCard,
    pub transaction_result: TransactionResult,
    /// The payment's refunds, oldest first (`POST /payments/{id}/refund` adds one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds: Vec<RefundSummary>,
}

/// One of a payment's `refunds[]`, as the recorded `Refund payment` answer lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundSummary {
    pub refund_id: String,
    /// ISO 8601, UTC, seconds.
    pub date_time: String,
    pub currency: String,
    /// Minor units, positive (the recordings show both signs; see docs/sandbox/payroc.md).
    pub amount: i64,
    pub status: TransactionStatus,
    pub response_code: ResponseCode,
    pub response_message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOrder {
    pub order_id: String,
    /// ISO 8601, UTC, seconds (`2024-07-02T15:30:00Z`).
    pub date_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCard {
    /// Card brand, e.g. `Visa`, `MasterCard`.
    #[serde(rename = "type")]
    pub card_type: String,
    /// `keyed`, `raw`, `icc`, `swiped`, …
    pub entry_method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<String>,
    /// First six and last four digits only.
    pub card_number: String,
    /// MMYY.
    pub expiry_date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_checks: Option<SecurityChecks>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityChecks {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvv_result: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avs_result: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionResult {
    #[serde(rename = "type")]
    pub transaction_type: TransactionType,
    pub status: TransactionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_amount: Option<i64>,
    pub currency: String,
    pub response_code: ResponseCode,
    pub response_message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processor_response_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_scheme_reference_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransactionType {
    Sale,
    Refund,
    PreAuthorization,
    PreAuthorizationCompletion,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransactionStatus {
    Ready,
    Pending,
    Declined,
    Complete,
    Referral,
    Pickup,
    Reversal,
    Admin,
    Expired,
    Accepted,
}

/// A approved, D declined, E error, P partial approval, R referral, C pick up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseCode {
    A,
    D,
    E,
    P,
    R,
    C,
}

/// `GET /payments` → 200: one page of payments, in Payroc's list envelope
/// (docs.payroc.com/api/pagination; the SDK's `PaymentPaginatedListForRead`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentList {
    /// The page size asked for (or the default, 10).
    pub limit: u64,
    /// How many payments this page holds.
    pub count: u64,
    /// Whether more payments follow in the direction of the request.
    pub has_more: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    pub data: Vec<Payment>,
}

/// A HATEOAS link: `rel` `next` or `previous`, `method` `get`, `href` the adjacent page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub rel: String,
    pub method: String,
    pub href: String,
}

//! Paysafe Card Payments: `POST /cardpayments/v1/accounts/{account}/auths`.
//!
//! `GET …/auths/{id}` and `GET …/auths?merchantRefNum=…` (the lookup).
//!
//! An authorization may carry the `authentication` block of a 3-D Secure
//! authentication; the sandbox checks it against the authentication it names (by
//! directoryServerTransactionId or XID) instead of believing it. Paysafe's duplicate
//! check: a merchantRefNum already used by an authorization of the account (approved or
//! declined) gets 409 `5031`, whatever the rest of the request; nothing more is charged.
//! A merchant that lost an answer finds the authorization by its merchantRefNum.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use sha2::Digest;

use super::customervault;
use super::error::{FieldError, PaysafeError};
use super::fields::{self, int, member, opt, req, text, Field, Rule};
use super::threedsecure::{AuthenticationRecord, AuthenticationState};
use super::{authorize, new_id, parse_card, read_json, CardSummary, ACCOUNT_CURRENCY, PREFIX};
use crate::emv::{Eci, TransStatus};
use crate::sandbox::cards::{Authorization, CardProfile};
use crate::sandbox::ledger::{now_rfc3339, LedgerEntry, Provider};
use crate::sandbox::Sandbox;

/// Paysafe's risk reason code on the sandbox issuer's decline.
pub const DECLINE_RISK_REASON: i64 = 1059;

const AUTH_REQUEST: &[Field] = &[
    req("merchantRefNum", text(255)),
    req(
        "amount",
        Rule::Integer {
            min: 1,
            max: 99_999_999_999,
        },
    ),
    opt("settleWithAuth", Rule::Boolean),
    req(
        "card",
        Rule::Object(&[
            req("cardNum", Rule::Text { min: 8, max: 20 }),
            req("cardExpiry", Rule::Object(fields::CARD_EXPIRY)),
            opt("cvv", Rule::Text { min: 3, max: 4 }),
        ]),
    ),
    opt(
        "authentication",
        Rule::Object(&[
            req("eci", int(99)),
            opt("cavv", text(80)),
            opt("threeDResult", Rule::OneOf(&["Y", "A", "N", "U", "R"])),
            opt("threeDSecureVersion", text(10)),
            opt("directoryServerTransactionId", text(36)),
            opt("xid", text(40)),
            opt("threeDEnrollment", Rule::OneOf(&["Y", "N", "U"])),
            opt("signatureStatus", Rule::OneOf(&["Y", "N"])),
        ]),
    ),
    opt(
        "billingDetails",
        Rule::Object(&[
            opt("street", text(50)),
            opt("street2", text(50)),
            opt("city", text(40)),
            opt("state", text(40)),
            opt("country", Rule::Text { min: 2, max: 2 }),
            opt("zip", text(10)),
        ]),
    ),
];

/// One authorization as answered, kept for the duplicate check and lookups.
#[derive(Debug, Clone)]
pub struct AuthRecord {
    pub id: String,
    pub account_id: String,
    pub merchant_ref_num: String,
    pub answer: Answer,
}

impl AuthRecord {
    /// The answer of an approved authorization (what lookups show).
    pub fn approved(&self) -> Option<&Value> {
        match &self.answer {
            Answer::Approved(body) => Some(body),
            Answer::Declined { .. } => None,
        }
    }

    pub fn approved_mut(&mut self) -> Option<&mut Value> {
        match &mut self.answer {
            Answer::Approved(body) => Some(body),
            Answer::Declined { .. } => None,
        }
    }
}

/// What the authorization ended with.
#[derive(Debug, Clone)]
pub enum Answer {
    Approved(Value),
    Declined { error: PaysafeError, summary: Value },
}

impl Answer {
    fn response(&self) -> Response {
        match self {
            Answer::Approved(body) => (StatusCode::OK, Json(body.clone())).into_response(),
            Answer::Declined { error, .. } => error.clone().into_response(),
        }
    }

    /// The body a lookup shows.
    fn lookup(&self) -> Value {
        match self {
            Answer::Approved(body) => body.clone(),
            Answer::Declined { summary, .. } => summary.clone(),
        }
    }
}

/// `POST /cardpayments/v1/accounts/{account}/auths`.
pub async fn create_auth(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PaysafeError> {
    authorize(&headers, &account)?;
    let mut body = read_json(body).await?;
    // A used or expired token is still read here: a repeat of a merchantRefNum must get
    // the duplicate error. Only a new authorization needs it alive and unused (below).
    let token = customervault::expand(&sandbox, &mut body)?;
    let mut errors = Vec::new();
    fields::check(AUTH_REQUEST, &body, "", &mut errors);
    if let Some(cvv) = member(member(Some(&body), "card"), "cvv").and_then(Value::as_str) {
        if !cvv.bytes().all(|b| b.is_ascii_digit()) {
            errors.push(FieldError::new("card.cvv", "must be 3 or 4 digits"));
        }
    }
    if !errors.is_empty() {
        return Err(PaysafeError::fields(errors));
    }
    let (pan, card) = parse_card(&body)?;
    let merchant_ref_num = member(Some(&body), "merchantRefNum")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let amount = member(Some(&body), "amount")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let settle = member(Some(&body), "settleWithAuth")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let authentication = member(Some(&body), "authentication").cloned();

    let mut store = sandbox.paysafe.lock();
    if let Some(existing) = store.auth_with_ref(&account, &merchant_ref_num) {
        return Err(PaysafeError::duplicate(&existing.id));
    }
    if let Some(token) = &token {
        usable_token(store.tokens.get(&token.payment_token))?;
    }
    let currency = match &authentication {
        Some(block) => verify_authentication(block, &card, &account, &store)?,
        None => ACCOUNT_CURRENCY.to_owned(),
    };

    let auth = NewAuth {
        id: new_id(),
        txn_time: now_rfc3339(),
        merchant_ref_num: merchant_ref_num.clone(),
        amount,
        settle,
        currency,
    };
    let answer = match CardProfile::of(&pan).authorization {
        Authorization::Decline => auth.declined(),
        Authorization::Approve => {
            let cvv_given = member(member(Some(&body), "card"), "cvv").is_some()
                || token.as_ref().is_some_and(|t| t.cvv_given);
            let response = auth.approved(
                &sandbox,
                &account,
                &card,
                &body,
                authentication.as_ref(),
                cvv_given,
            );
            sandbox.ledger.record(LedgerEntry {
                provider: Provider::Paysafe,
                provider_payment_id: auth.id.clone(),
                order_id: merchant_ref_num.clone(),
                amount,
                currency: auth.currency.clone(),
                idempotency_key: Some(merchant_ref_num.clone()),
                card: card.masked.clone(),
                time: auth.txn_time.clone(),
                sale: settle,
            });
            if settle {
                store.lifecycle.settled_with_auth(&account, &response);
            }
            Answer::Approved(response)
        }
    };
    let id = auth.id;
    let response = answer.response();
    if let Some(used) = token
        .as_ref()
        .and_then(|t| store.tokens.get_mut(&t.payment_token))
    {
        used.used_by = Some(merchant_ref_num.clone());
    }
    store.add_auth(AuthRecord {
        id,
        account_id: account,
        merchant_ref_num,
        answer,
    });
    Ok(response)
}

/// A single-use token a new authorization may spend: known, alive, unused.
fn usable_token(current: Option<&customervault::TokenRecord>) -> Result<(), PaysafeError> {
    match current {
        Some(t) if t.used_by.is_some() => Err(customervault::bad_token(
            "the single-use token has been used",
        )),
        Some(t) if !t.is_alive() => {
            Err(customervault::bad_token("the single-use token has expired"))
        }
        Some(_) => Ok(()),
        None => Err(customervault::bad_token(
            "no single-use token with this value",
        )),
    }
}

/// A new authorization, before the issuer's answer shapes its response.
struct NewAuth {
    id: String,
    txn_time: String,
    merchant_ref_num: String,
    amount: i64,
    settle: bool,
    currency: String,
}

impl NewAuth {
    /// The issuer declined: Paysafe's error, and the summary a lookup shows.
    fn declined(&self) -> Answer {
        let NewAuth {
            id,
            txn_time,
            merchant_ref_num,
            amount,
            settle,
            currency,
        } = self;
        let error = PaysafeError::declined()
            .with_extra("id", json!(id))
            .with_extra("merchantRefNum", json!(merchant_ref_num))
            .with_extra("riskReasonCode", json!([DECLINE_RISK_REASON]))
            .with_extra("settleWithAuth", json!(settle));
        let summary = json!({
            "id": id,
            "merchantRefNum": merchant_ref_num,
            "txnTime": txn_time,
            "status": "FAILED",
            "amount": amount,
            "currencyCode": currency,
            "error": error.body().get("error").cloned().unwrap_or(Value::Null),
            "riskReasonCode": [DECLINE_RISK_REASON],
        });
        Answer::Declined { error, summary }
    }

    /// The issuer approved: the authorization as Paysafe answers it.
    fn approved(
        &self,
        sandbox: &Sandbox,
        account: &str,
        card: &CardSummary,
        body: &Value,
        authentication: Option<&Value>,
        cvv_given: bool,
    ) -> Value {
        let NewAuth {
            id,
            txn_time,
            merchant_ref_num,
            amount,
            settle,
            currency,
        } = self;
        let (amount, settle) = (*amount, *settle);
        let mut response = json!({
            "id": id,
            "merchantRefNum": merchant_ref_num,
            "txnTime": txn_time,
            "status": "COMPLETED",
            "amount": amount,
            "settleWithAuth": settle,
            "availableToSettle": if settle { 0 } else { amount },
            "authCode": auth_code(id),
            "card": {
                "type": super::card_type(card.brand),
                "lastDigits": card.last_digits,
                "cardExpiry": {"month": card.month, "year": card.year},
            },
            "avsResponse": if member(member(Some(body), "billingDetails"), "zip").is_some() { "MATCH" } else { "NOT_PROCESSED" },
            "cvvVerification": if cvv_given { "MATCH" } else { "NOT_PROCESSED" },
            "currencyCode": currency,
            "links": [{
                "rel": "self",
                "href": sandbox.public_url(&format!("{PREFIX}/cardpayments/v1/accounts/{account}/auths/{id}")),
            }],
        });
        if let Some(object) = response.as_object_mut() {
            if let Some(block) = authentication {
                object.insert("authentication".into(), block.clone());
            }
            if let Some(billing) = member(Some(body), "billingDetails") {
                object.insert("billingDetails".into(), billing.clone());
            }
            if settle {
                object.insert(
                    "settlements".into(),
                    json!([{
                        "id": id,
                        "merchantRefNum": merchant_ref_num,
                        "txnTime": txn_time,
                        "status": "PENDING",
                        "amount": amount,
                        "availableToRefund": amount,
                    }]),
                );
            }
        }
        response
    }
}

fn auth_code(id: &str) -> String {
    let digest = sha2::Sha256::digest(id.as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % 1_000_000;
    format!("{n:06}")
}

/// Checks an `authentication` block against the completed authentication it names and
/// returns that authentication's currency. Every mismatch is a `fieldErrors` member.
fn verify_authentication(
    block: &Value,
    card: &CardSummary,
    account: &str,
    store: &super::Store,
) -> Result<String, PaysafeError> {
    let text = |name: &str| member(Some(block), name).and_then(Value::as_str);
    let eci = member(Some(block), "eci")
        .and_then(Value::as_i64)
        .and_then(|n| u8::try_from(n).ok())
        .and_then(Eci::new);
    let ds = text("directoryServerTransactionId");
    let xid = text("xid");
    let mut errors = Vec::new();

    let (reference_field, reference) = match (ds, xid) {
        (Some(ds), _) => ("authentication.directoryServerTransactionId", ds),
        (None, Some(xid)) => ("authentication.xid", xid),
        (None, None) => {
            // No authentication named: only a claim without proof is acceptable (a 3DS1
            // card that is not enrolled): no CAVV and the "not authenticated" ECI.
            let plain = Eci::for_outcome(card.brand, TransStatus::N);
            if text("cavv").is_some() {
                errors.push(FieldError::new(
                    "authentication.directoryServerTransactionId",
                    "a cavv requires the directoryServerTransactionId (2.x) or xid (1.0.2) of its authentication",
                ));
            }
            if eci != plain {
                errors.push(FieldError::new(
                    "authentication.eci",
                    "an authentication that names no transaction cannot claim this ECI",
                ));
            }
            return if errors.is_empty() {
                Ok(ACCOUNT_CURRENCY.to_owned())
            } else {
                Err(PaysafeError::fields(errors))
            };
        }
    };
    let named =
        store
            .authentication_of_transaction(reference)
            .filter(|a: &&AuthenticationRecord| {
                a.account_id == account
                    && match &a.state {
                        AuthenticationState::Completed(outcome) => {
                            outcome.ds_trans_id.as_deref() == Some(reference)
                                || outcome.xid.as_deref() == Some(reference)
                        }
                        AuthenticationState::Pending => a.challenge.as_ref().is_some_and(|c| {
                            c.ds_trans_id == reference || c.acs_trans_id == reference
                        }),
                    }
            });
    let Some(record) = named else {
        return Err(PaysafeError::field(
            reference_field,
            "does not match a completed authentication",
        ));
    };
    let AuthenticationState::Completed(outcome) = &record.state else {
        return Err(PaysafeError::field(
            reference_field,
            "the authentication is still PENDING: finalize it first",
        ));
    };
    if record.card.masked != card.masked {
        errors.push(FieldError::new(
            "card.cardNum",
            "is not the card of the authentication",
        ));
    }
    if text("cavv") != outcome.cavv.as_deref() {
        errors.push(FieldError::new(
            "authentication.cavv",
            "does not match the authentication",
        ));
    }
    if eci != outcome.eci {
        errors.push(FieldError::new(
            "authentication.eci",
            "does not match the authentication",
        ));
    }
    if let Some(claimed) = text("threeDResult") {
        if Some(claimed) != outcome.result.map(TransStatus::as_str) {
            errors.push(FieldError::new(
                "authentication.threeDResult",
                "does not match the authentication",
            ));
        }
    }
    if let Some(version) = text("threeDSecureVersion") {
        if version != record.version {
            errors.push(FieldError::new(
                "authentication.threeDSecureVersion",
                "does not match the authentication",
            ));
        }
    }
    if let Some(result) = outcome.result {
        if !result.permits_authorization() {
            errors.push(FieldError::new(
                "authentication.threeDResult",
                format!(
                    "the authentication ended {}: no authorization may follow",
                    result.as_str()
                ),
            ));
        }
    }
    if errors.is_empty() {
        Ok(record.currency.clone())
    } else {
        Err(PaysafeError::fields(errors))
    }
}

/// `GET /cardpayments/v1/accounts/{account}/auths/{id}`.
pub async fn get_auth(
    State(sandbox): State<Sandbox>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    authorize(&headers, &account)?;
    let store = sandbox.paysafe.lock();
    store
        .auths
        .get(&id)
        .filter(|a| a.account_id == account)
        .map(|a| Json(a.answer.lookup()))
        .ok_or_else(PaysafeError::not_found)
}

#[derive(Debug, serde::Deserialize)]
pub struct AuthQuery {
    #[serde(rename = "merchantRefNum")]
    merchant_ref_num: Option<String>,
}

/// `GET /cardpayments/v1/accounts/{account}/auths?merchantRefNum=…`: `{"auths": […]}`.
pub async fn find_auths(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    Query(query): Query<AuthQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    authorize(&headers, &account)?;
    let Some(reference) = query.merchant_ref_num else {
        return Err(PaysafeError::field("merchantRefNum", "may not be null"));
    };
    let store = sandbox.paysafe.lock();
    // At most one: a second authorization of a merchantRefNum is refused.
    let auths: Vec<Value> = store
        .auth_with_ref(&account, &reference)
        .map(|a| a.answer.lookup())
        .into_iter()
        .collect();
    Ok(Json(json!({ "auths": auths })))
}

//! Paysafe Card Payments after the authorization: settlements
//! (`POST …/auths/{authId}/settlements`), authorization reversals
//! (`POST …/auths/{authId}/voidauths`) and refunds
//! (`POST …/settlements/{settlementId}/refunds`), each `{merchantRefNum, amount?,
//! dupCheck?}`; their lookups by id and by merchantRefNum; and the sandbox control that
//! expires an authorization (`POST /_sandbox/paysafe/auths/{authId}/expire`).
//!
//! Every one is booked through the sandbox ledger (`Ledger::move_money`), whose refusals
//! become Paysafe's own error codes (3203/3204/3205 for settlements, 3501/3502/3504 for
//! reversals, 3402/3404/3406 for refunds). A merchantRefNum used before by the same kind
//! of transaction gets 409 `5031` naming it, whatever the rest of the request: nothing
//! more is booked. An authorization sent with `settleWithAuth: true` was settled by
//! itself: its settlement carries the authorization's id.

use std::collections::HashSet;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::error::PaysafeError;
use super::fields::{self, member, opt, req, text, Rule};
use super::{authorize, new_id, read_json, Store, PREFIX};
use crate::sandbox::ledger::{now_rfc3339, LedgerRefusal, Movement, MovementKind, Provider};
use crate::sandbox::Sandbox;

/// Where the control that expires an authorization lives.
pub const EXPIRE_PATH: &str = "/_sandbox/paysafe/auths/{id}/expire";

const OPERATION_REQUEST: &[fields::Field] = &[
    req("merchantRefNum", text(255)),
    opt(
        "amount",
        Rule::Integer {
            min: 1,
            max: 99_999_999_999,
        },
    ),
    opt("dupCheck", Rule::Boolean),
];

/// Which Paysafe transaction a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Settlement,
    VoidAuth,
    Refund,
}

impl Kind {
    /// The path segment of its resource, and the member its listing is under.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::Settlement => ("settlements", "settlements"),
            Kind::VoidAuth => ("voidauths", "voidAuths"),
            Kind::Refund => ("refunds", "refunds"),
        }
    }
}

/// One settlement, reversal or refund as answered, kept for the duplicate check, the
/// lookups and (a settlement) the refunds made of it.
#[derive(Debug, Clone)]
pub struct Transaction {
    pub kind: Kind,
    pub id: String,
    pub account_id: String,
    pub merchant_ref_num: String,
    /// The authorization the money belongs to (the ledger's charge).
    pub auth_id: String,
    pub body: Value,
}

/// The sandbox's lifecycle memory, inside the Paysafe [`Store`].
#[derive(Debug, Default)]
pub struct Lifecycle {
    pub transactions: Vec<Transaction>,
    /// Authorizations expired by the control route.
    pub expired: HashSet<String>,
}

impl Lifecycle {
    fn find(&self, kind: Kind, account: &str, id: &str) -> Option<&Transaction> {
        self.transactions
            .iter()
            .find(|t| t.kind == kind && t.account_id == account && t.id == id)
    }

    fn by_reference(&self, kind: Kind, account: &str, reference: &str) -> Vec<&Transaction> {
        self.transactions
            .iter()
            .filter(|t| {
                t.kind == kind && t.account_id == account && t.merchant_ref_num == reference
            })
            .collect()
    }

    /// The settlement an authorization sent with `settleWithAuth: true` made.
    pub fn settled_with_auth(&mut self, account: &str, auth: &Value) {
        let settlement = auth
            .get("settlements")
            .and_then(|s| s.get(0))
            .cloned()
            .unwrap_or(Value::Null);
        let (Some(id), Some(reference)) = (
            settlement.get("id").and_then(Value::as_str),
            settlement.get("merchantRefNum").and_then(Value::as_str),
        ) else {
            return;
        };
        self.transactions.push(Transaction {
            kind: Kind::Settlement,
            id: id.to_owned(),
            account_id: account.to_owned(),
            merchant_ref_num: reference.to_owned(),
            auth_id: id.to_owned(),
            body: settlement.clone(),
        });
    }
}

/// What a request asked for.
struct OperationRequest {
    merchant_ref_num: String,
    amount: Option<i64>,
    dup_check: bool,
}

async fn read_request(body: Body) -> Result<OperationRequest, PaysafeError> {
    let body = read_json(body).await?;
    let mut errors = Vec::new();
    fields::check(OPERATION_REQUEST, &body, "", &mut errors);
    if !errors.is_empty() {
        return Err(PaysafeError::fields(errors));
    }
    Ok(OperationRequest {
        merchant_ref_num: member(Some(&body), "merchantRefNum")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        amount: member(Some(&body), "amount").and_then(Value::as_i64),
        dup_check: member(Some(&body), "dupCheck")
            .and_then(Value::as_bool)
            .unwrap_or(true),
    })
}

/// An approved authorization of `account`: `(amount, availableToSettle)`.
fn approved_auth(store: &Store, account: &str, id: &str) -> Result<(i64, i64), PaysafeError> {
    let body = store
        .auths
        .get(id)
        .filter(|a| a.account_id == account)
        .and_then(|a| a.approved())
        .ok_or_else(PaysafeError::not_found)?;
    let amount = body.get("amount").and_then(Value::as_i64).unwrap_or(0);
    let available = body
        .get("availableToSettle")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    Ok((amount, available))
}

/// 409 `5031` when `reference` was used by a `kind` of this account (unless the request
/// turned the check off).
fn check_duplicate(
    store: &Store,
    kind: Kind,
    account: &str,
    request: &OperationRequest,
) -> Result<(), PaysafeError> {
    let used = store
        .lifecycle
        .by_reference(kind, account, &request.merchant_ref_num);
    match used.first() {
        Some(existing) if request.dup_check => Err(PaysafeError::duplicate(&existing.id)),
        _ => Ok(()),
    }
}

/// Books `kind` of `amount` against authorization `auth_id`, or the ledger's refusal.
fn book(
    sandbox: &Sandbox,
    auth_id: &str,
    id: &str,
    kind: MovementKind,
    amount: i64,
) -> Result<(), LedgerRefusal> {
    sandbox
        .ledger
        .move_money(Movement {
            provider: Provider::Paysafe,
            provider_payment_id: auth_id.to_owned(),
            operation_id: id.to_owned(),
            kind,
            amount,
            time: now_rfc3339(),
        })
        .map(drop)
}

/// Records a new transaction and answers it.
fn answer(
    sandbox: &Sandbox,
    store: &mut Store,
    transaction: Transaction,
    extra: Value,
) -> Response {
    let (path, _) = transaction.kind.names();
    let mut body = json!({
        "id": transaction.id,
        "merchantRefNum": transaction.merchant_ref_num,
        "txnTime": now_rfc3339(),
        "status": match transaction.kind {
            Kind::VoidAuth => "COMPLETED",
            // Queued for the next batch, as Paysafe answers them.
            Kind::Settlement | Kind::Refund => "PENDING",
        },
        "links": [{
            "rel": "self",
            "href": sandbox.public_url(&format!(
                "{PREFIX}/cardpayments/v1/accounts/{}/{path}/{}",
                transaction.account_id, transaction.id
            )),
        }],
    });
    if let (Some(object), Value::Object(extra)) = (body.as_object_mut(), extra) {
        object.extend(extra);
    }
    let response = (StatusCode::OK, Json(body.clone())).into_response();
    store.lifecycle.transactions.push(Transaction {
        body,
        ..transaction
    });
    response
}

/// Sets `member` of the approved authorization's body (what lookups of it show).
fn update_auth(store: &mut Store, auth_id: &str, member: &str, value: Value) {
    if let Some(body) = store.auths.get_mut(auth_id).and_then(|a| a.approved_mut()) {
        body[member] = value;
    }
}

/// `POST /cardpayments/v1/accounts/{account}/auths/{authId}/settlements`. One settlement
/// per authorization in the sandbox: a partial settlement releases the rest
/// (`availableToSettle` becomes 0).
pub async fn settle(
    State(sandbox): State<Sandbox>,
    Path((account, auth_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PaysafeError> {
    authorize(&headers, &account)?;
    let request = read_request(body).await?;
    let mut store = sandbox.paysafe.lock();
    let (_, available) = approved_auth(&store, &account, &auth_id)?;
    check_duplicate(&store, Kind::Settlement, &account, &request)?;
    if store.lifecycle.expired.contains(&auth_id) {
        return Err(PaysafeError::authorization_expired());
    }
    let amount = request.amount.unwrap_or(available);
    let id = new_id();
    book(&sandbox, &auth_id, &id, MovementKind::Capture, amount).map_err(
        |refusal| match refusal {
            LedgerRefusal::AmountTooLarge => PaysafeError::settlement_too_large(),
            LedgerRefusal::UnknownPayment => PaysafeError::not_found(),
            LedgerRefusal::AlreadyCaptured
            | LedgerRefusal::AlreadyVoided
            | LedgerRefusal::NotCaptured => PaysafeError::settled_or_cancelled(),
        },
    )?;
    update_auth(&mut store, &auth_id, "availableToSettle", json!(0));
    let transaction = Transaction {
        kind: Kind::Settlement,
        id,
        account_id: account,
        merchant_ref_num: request.merchant_ref_num,
        auth_id,
        body: Value::Null,
    };
    let extra = json!({"amount": amount, "availableToRefund": amount});
    Ok(answer(&sandbox, &mut store, transaction, extra))
}

/// `POST /cardpayments/v1/accounts/{account}/auths/{authId}/voidauths`: the whole
/// remaining authorization (a partial reversal is 3504 here).
pub async fn void_auth(
    State(sandbox): State<Sandbox>,
    Path((account, auth_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PaysafeError> {
    authorize(&headers, &account)?;
    let request = read_request(body).await?;
    let mut store = sandbox.paysafe.lock();
    let (authorized, _) = approved_auth(&store, &account, &auth_id)?;
    check_duplicate(&store, Kind::VoidAuth, &account, &request)?;
    let amount = request.amount.unwrap_or(authorized);
    let balance = sandbox.ledger.balance(Provider::Paysafe, &auth_id);
    match balance {
        Some(b) if b.captured > 0 => return Err(PaysafeError::reversal_of_settled()),
        Some(b) if b.voided => return Err(PaysafeError::reversal_too_large()),
        _ if amount > authorized => return Err(PaysafeError::reversal_too_large()),
        _ if amount < authorized => return Err(PaysafeError::partial_reversal()),
        _ => {}
    }
    let id = new_id();
    book(&sandbox, &auth_id, &id, MovementKind::Void, amount).map_err(|refusal| match refusal {
        LedgerRefusal::AlreadyCaptured => PaysafeError::reversal_of_settled(),
        LedgerRefusal::UnknownPayment => PaysafeError::not_found(),
        LedgerRefusal::AlreadyVoided
        | LedgerRefusal::AmountTooLarge
        | LedgerRefusal::NotCaptured => PaysafeError::reversal_too_large(),
    })?;
    update_auth(&mut store, &auth_id, "availableToSettle", json!(0));
    let transaction = Transaction {
        kind: Kind::VoidAuth,
        id,
        account_id: account,
        merchant_ref_num: request.merchant_ref_num,
        auth_id,
        body: Value::Null,
    };
    Ok(answer(
        &sandbox,
        &mut store,
        transaction,
        json!({ "amount": amount }),
    ))
}

/// `POST /cardpayments/v1/accounts/{account}/settlements/{settlementId}/refunds`.
/// Settlements count as batched at once (the real Paysafe answers 3406 until the batch
/// closed): refunds may follow immediately.
pub async fn refund(
    State(sandbox): State<Sandbox>,
    Path((account, settlement_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PaysafeError> {
    authorize(&headers, &account)?;
    let request = read_request(body).await?;
    let mut store = sandbox.paysafe.lock();
    let settlement = store
        .lifecycle
        .find(Kind::Settlement, &account, &settlement_id)
        .cloned()
        .ok_or_else(PaysafeError::not_found)?;
    check_duplicate(&store, Kind::Refund, &account, &request)?;
    let available = settlement
        .body
        .get("availableToRefund")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let amount = request.amount.unwrap_or(available);
    let id = new_id();
    let auth_id = settlement.auth_id.clone();
    book(&sandbox, &auth_id, &id, MovementKind::Refund, amount).map_err(
        |refusal| match refusal {
            LedgerRefusal::AmountTooLarge if available <= 0 => PaysafeError::fully_refunded(),
            LedgerRefusal::UnknownPayment => PaysafeError::not_found(),
            LedgerRefusal::NotCaptured | LedgerRefusal::AlreadyVoided => {
                PaysafeError::not_batched()
            }
            LedgerRefusal::AmountTooLarge | LedgerRefusal::AlreadyCaptured => {
                PaysafeError::refund_too_large()
            }
        },
    )?;
    if let Some(stored) = store
        .lifecycle
        .transactions
        .iter_mut()
        .find(|t| t.kind == Kind::Settlement && t.id == settlement_id)
    {
        stored.body["availableToRefund"] = json!(available - amount);
    }
    let transaction = Transaction {
        kind: Kind::Refund,
        id,
        account_id: account,
        merchant_ref_num: request.merchant_ref_num,
        auth_id,
        body: Value::Null,
    };
    Ok(answer(
        &sandbox,
        &mut store,
        transaction,
        json!({ "amount": amount }),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct ReferenceQuery {
    #[serde(rename = "merchantRefNum")]
    merchant_ref_num: Option<String>,
}

async fn list(
    sandbox: Sandbox,
    kind: Kind,
    account: String,
    query: ReferenceQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    authorize(&headers, &account)?;
    let Some(reference) = query.merchant_ref_num else {
        return Err(PaysafeError::field("merchantRefNum", "may not be null"));
    };
    let store = sandbox.paysafe.lock();
    let found: Vec<Value> = store
        .lifecycle
        .by_reference(kind, &account, &reference)
        .into_iter()
        .map(|t| t.body.clone())
        .collect();
    let (_, member) = kind.names();
    Ok(Json(json!({ member: found })))
}

/// `GET /cardpayments/v1/accounts/{account}/settlements?merchantRefNum=…`.
pub async fn find_settlements(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    Query(query): Query<ReferenceQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    list(sandbox, Kind::Settlement, account, query, headers).await
}

/// `GET /cardpayments/v1/accounts/{account}/voidauths?merchantRefNum=…`.
pub async fn find_void_auths(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    Query(query): Query<ReferenceQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    list(sandbox, Kind::VoidAuth, account, query, headers).await
}

/// `GET /cardpayments/v1/accounts/{account}/refunds?merchantRefNum=…`.
pub async fn find_refunds(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    Query(query): Query<ReferenceQuery>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    list(sandbox, Kind::Refund, account, query, headers).await
}

fn get_one(
    sandbox: &Sandbox,
    kind: Kind,
    account: &str,
    id: &str,
    headers: &HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    authorize(headers, account)?;
    let store = sandbox.paysafe.lock();
    store
        .lifecycle
        .find(kind, account, id)
        .map(|t| Json(t.body.clone()))
        .ok_or_else(PaysafeError::not_found)
}

/// `GET /cardpayments/v1/accounts/{account}/settlements/{id}`.
pub async fn get_settlement(
    State(sandbox): State<Sandbox>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    get_one(&sandbox, Kind::Settlement, &account, &id, &headers)
}

/// `GET /cardpayments/v1/accounts/{account}/voidauths/{id}`.
pub async fn get_void_auth(
    State(sandbox): State<Sandbox>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    get_one(&sandbox, Kind::VoidAuth, &account, &id, &headers)
}

/// `GET /cardpayments/v1/accounts/{account}/refunds/{id}`.
pub async fn get_refund(
    State(sandbox): State<Sandbox>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    get_one(&sandbox, Kind::Refund, &account, &id, &headers)
}

/// The sandbox's own controls for Paysafe (mounted beside `/_sandbox/ledger`, never
/// subject to fault rules).
pub fn control_routes() -> Router<Sandbox> {
    Router::new().route(EXPIRE_PATH, post(expire))
}

/// `POST /_sandbox/paysafe/auths/{authId}/expire`: the authorization expires now; a
/// settlement of it is refused with 3205. 200 `{"id","expired":true}`, or 404 in the
/// sandbox's own `{"error":{code,message}}` when no approved authorization has this id.
async fn expire(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    let mut store = sandbox.paysafe.lock();
    let known = store.auths.get(&id).and_then(|a| a.approved()).is_some();
    if !known {
        let body = json!({"error": {"code": "not_found",
            "message": "no approved Paysafe authorization has this id"}});
        return (StatusCode::NOT_FOUND, Json(body)).into_response();
    }
    store.lifecycle.expired.insert(id.clone());
    Json(json!({ "id": id, "expired": true })).into_response()
}

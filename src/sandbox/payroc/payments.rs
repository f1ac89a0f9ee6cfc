//! `POST /v1/payments` (a sale or pre-authorization with a single-use token, with the
//! gateway's mpiReference or third-party 3-D Secure values) and `GET /v1/payments/{id}`.
//! An approved payment is recorded in the sandbox ledger once; a replay with the same
//! Idempotency-Key returns the first answer and records nothing.

use axum::body::Body;
use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::mpi::{MpiResult, MpiState};
use super::problem::{Fields, Node, Problem, Reply};
use super::tokens::TokenState;
use super::wire::{
    Payment, PaymentCard, PaymentOrder, ResponseCode, SecurityChecks, TransactionResult,
    TransactionStatus, TransactionType,
};
use super::{
    authenticate, brand_name, idempotent_post, iso_utc, known_terminal, lock, random_id, Caller,
    Sandbox,
};
use crate::sandbox::cards::{Authorization, CardProfile};
use crate::sandbox::ledger::{now_rfc3339, LedgerEntry, Provider};

const ENDPOINT: &str = "/v1/payments";

/// The 3-D Secure evidence a payment request carries.
enum ThreeDSecure {
    /// The gateway MPI's result, by reference.
    Gateway { mpi_reference: String },
    /// The merchant's own 3DS server: only the ECI word is required.
    ThirdParty,
}

struct SaleRequest {
    terminal: String,
    operator: Option<String>,
    order_id: String,
    amount: i64,
    currency: String,
    description: Option<String>,
    token: String,
    three_d_secure: Option<ThreeDSecure>,
    auto_capture: bool,
}

pub(super) async fn create(
    Extract(sandbox): Extract<Sandbox>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    idempotent_post(
        &sandbox,
        &headers,
        body,
        ENDPOINT,
        Caller::Server,
        |request, key| sale(&sandbox, request, key).unwrap_or_else(Reply::from),
    )
    .await
    .into_response()
}

pub(super) async fn retrieve(
    Extract(sandbox): Extract<Sandbox>,
    headers: HeaderMap,
    Path(payment_id): Path<String>,
) -> Response {
    if let Err(problem) = authenticate(&sandbox, &headers, Caller::Server) {
        return problem.into_response();
    }
    match sandbox.payroc.payment(&payment_id) {
        Some(payment) => Reply::json(StatusCode::OK, &payment).into_response(),
        None => Problem::not_found("payment", &format!("{ENDPOINT}/{payment_id}")).into_response(),
    }
}

fn sale(sandbox: &Sandbox, request: &Value, idempotency_key: &str) -> Result<Reply, Problem> {
    let request = parse(request)?;
    if !known_terminal(sandbox, &request.terminal) {
        return Err(Problem::forbidden(
            "processingTerminal",
            format!(
                "The API key has no access to processing terminal {}",
                request.terminal
            ),
        ));
    }
    let mut tokens = lock(&sandbox.payroc.tokens);
    let token_parameter = "paymentMethod.token";
    let stored = tokens.get_mut(&request.token).ok_or_else(|| {
        Problem::invalid(
            token_parameter,
            "Invalid value",
            "The single-use token is not known",
        )
    })?;
    if let Some(why) = stored.unusable() {
        return Err(Problem::invalid(token_parameter, "Invalid value", why));
    }
    if let Some(ThreeDSecure::Gateway { mpi_reference }) = &request.three_d_secure {
        check_mpi_reference(sandbox, &request, mpi_reference)?;
    }

    stored.state = TokenState::Used;
    let profile = CardProfile::of(&stored.pan);
    let approved = profile.authorization == Authorization::Approve;
    let payment_id = random_id(10);
    let transaction_type = if request.auto_capture {
        TransactionType::Sale
    } else {
        TransactionType::PreAuthorization
    };
    let transaction_result = if approved {
        let approval_code = random_id(6);
        TransactionResult {
            transaction_type,
            status: TransactionStatus::Ready,
            approval_code: Some(approval_code.clone()),
            authorized_amount: Some(request.amount),
            currency: request.currency.clone(),
            response_code: ResponseCode::A,
            response_message: format!("APPROVAL {approval_code}"),
            processor_response_code: Some("00".to_owned()),
            card_scheme_reference_id: Some(random_id(15)),
        }
    } else {
        TransactionResult {
            transaction_type,
            status: TransactionStatus::Declined,
            approval_code: None,
            authorized_amount: Some(0),
            currency: request.currency.clone(),
            response_code: ResponseCode::D,
            response_message: "DECLINED".to_owned(),
            processor_response_code: Some("05".to_owned()),
            card_scheme_reference_id: None,
        }
    };
    let payment = Payment {
        payment_id: payment_id.clone(),
        processing_terminal_id: request.terminal.clone(),
        operator: request.operator.clone(),
        order: PaymentOrder {
            order_id: request.order_id.clone(),
            date_time: iso_utc(std::time::Duration::ZERO),
            description: request.description.clone(),
            amount: request.amount,
            currency: request.currency.clone(),
        },
        card: PaymentCard {
            card_type: brand_name(profile.brand).to_owned(),
            entry_method: "keyed".to_owned(),
            cardholder_name: stored.cardholder_name.clone(),
            card_number: stored.pan.masked(),
            expiry_date: stored.expiry_date.clone(),
            security_checks: Some(SecurityChecks {
                cvv_result: Some(if stored.cvv_given { "M" } else { "P" }.to_owned()),
                avs_result: None,
            }),
        },
        transaction_result,
        refunds: Vec::new(),
    };
    let masked = stored.pan.masked();
    drop(tokens);
    lock(&sandbox.payroc.payments).push(payment.clone());
    if approved {
        sandbox.ledger.record(LedgerEntry {
            provider: Provider::Payroc,
            provider_payment_id: payment_id,
            order_id: request.order_id,
            amount: request.amount,
            currency: request.currency,
            idempotency_key: Some(idempotency_key.to_owned()),
            card: masked,
            time: now_rfc3339(),
            // autoCapture false: a pre-authorization, captured later (operations.rs).
            sale: request.auto_capture,
        });
    }
    Ok(Reply::json(StatusCode::CREATED, &payment))
}

/// The mpiReference must name a finished MPI result for this token, terminal and order
/// (id, amount, currency), and that result must be A.
fn check_mpi_reference(
    sandbox: &Sandbox,
    request: &SaleRequest,
    mpi_reference: &str,
) -> Result<(), Problem> {
    let parameter = "threeDSecure.mpiReference";
    let records = lock(&sandbox.payroc.mpi);
    let record = records.get(mpi_reference).ok_or_else(|| {
        Problem::invalid(parameter, "Invalid value", "The mpiReference is not known")
    })?;
    let same_payment = record.token == request.token
        && record.terminal == request.terminal
        && record.order_id == request.order_id
        && record.amount == request.amount
        && record.currency == request.currency;
    if !same_payment {
        return Err(Problem::invalid(
            parameter,
            "Invalid value",
            "The mpiReference belongs to another order, amount or payment method",
        ));
    }
    match &record.state {
        MpiState::Challenging { .. } => Err(Problem::invalid(
            parameter,
            "Invalid value",
            "The 3-D Secure check for this mpiReference has not finished",
        )),
        MpiState::Finished(outcome) if outcome.result == MpiResult::Declined => {
            Err(Problem::invalid(
                parameter,
                "Invalid value",
                format!(
                    "The 3-D Secure check for this mpiReference was declined (status {})",
                    outcome.receipt_status()
                ),
            ))
        }
        MpiState::Finished(_) => Ok(()),
    }
}

fn parse(request: &Value) -> Result<SaleRequest, Problem> {
    let mut f = Fields::default();
    let root = f.root(request)?;
    f.channel(root);
    let terminal = f.required_str(root, "processingTerminalId");
    let operator = f.optional_str(root, "operator");
    let auto_capture = f.optional_bool(root, "autoCapture").unwrap_or(true);

    let (mut order_id, mut amount, mut currency, mut description) = (None, None, None, None);
    if let Some(order) = f.required_object(root, "order") {
        let order = order.node();
        order_id = f.required_str(order, "orderId");
        amount = f.required_i64(order, "amount");
        if amount.is_some_and(|a| a <= 0) {
            f.invalid(
                order,
                "amount",
                "The 'order.amount' field must be greater than 0",
            );
        }
        currency = f.required_str(order, "currency");
        if currency
            .as_deref()
            .is_some_and(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            f.invalid(
                order,
                "currency",
                "The 'order.currency' field must be an ISO 4217 code",
            );
        }
        description = f.optional_str(order, "description");
    }

    let mut token = None;
    if let Some(method) = f.required_object(root, "paymentMethod") {
        let method = method.node();
        match f.required_str(method, "type").as_deref() {
            Some("singleUseToken") => token = f.required_str(method, "token"),
            Some("card" | "secureToken" | "digitalWallet") => f.invalid(
                method,
                "type",
                "The sandbox takes payments with single-use tokens only (type singleUseToken)",
            ),
            Some(_) => f.invalid(
                method,
                "type",
                "The 'paymentMethod.type' field must be one of card, secureToken, digitalWallet, singleUseToken",
            ),
            None => {}
        }
    }

    let three_d_secure = f
        .optional_object(root, "threeDSecure")
        .and_then(|secure| three_d_secure(&mut f, secure.node()));

    f.finish()?;
    match (terminal, order_id, amount, currency, token) {
        (Some(terminal), Some(order_id), Some(amount), Some(currency), Some(token)) => {
            Ok(SaleRequest {
                terminal,
                operator,
                order_id,
                amount,
                currency,
                description,
                token,
                three_d_secure,
                auto_capture,
            })
        }
        _ => Err(Problem::invalid(
            "body",
            "Invalid value",
            "The request is incomplete",
        )),
    }
}

fn three_d_secure(f: &mut Fields, secure: Node<'_>) -> Option<ThreeDSecure> {
    match f.required_str(secure, "serviceProvider").as_deref() {
        Some("gateway") => f
            .required_str(secure, "mpiReference")
            .map(|mpi_reference| ThreeDSecure::Gateway { mpi_reference }),
        Some("thirdParty") => {
            let eci = f.required_str(secure, "eci");
            if eci
                .as_deref()
                .is_some_and(|e| !matches!(e, "fullyAuthenticated" | "attemptedAuthentication"))
            {
                f.invalid(
                    secure,
                    "eci",
                    "The 'threeDSecure.eci' field must be one of fullyAuthenticated, attemptedAuthentication",
                );
            }
            let _cavv = f.optional_str(secure, "cavv");
            let _xid = f.optional_str(secure, "xid");
            if let Some(ds) = f.optional_str(secure, "dsTransactionId") {
                if uuid::Uuid::parse_str(&ds).is_err() {
                    f.invalid(
                        secure,
                        "dsTransactionId",
                        "The 'threeDSecure.dsTransactionId' field must be a UUID",
                    );
                }
            }
            eci.map(|_| ThreeDSecure::ThirdParty)
        }
        Some(_) => {
            f.invalid(
                secure,
                "serviceProvider",
                "The 'threeDSecure.serviceProvider' field must be one of gateway, thirdParty",
            );
            None
        }
        None => None,
    }
}

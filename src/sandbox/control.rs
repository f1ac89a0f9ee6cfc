//! The sandbox's own controls under `/_sandbox`: the ledger of approved charges, and the
//! fault rules (read, replace, clear). Not a provider API: errors are the sandbox's own
//! `{"error":{"code","message"}}`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::faults::FaultSet;
use super::ledger::{Balance, LedgerEntry, Movement};
use super::Sandbox;

pub const LEDGER_PATH: &str = "/_sandbox/ledger";
pub const FAULTS_PATH: &str = "/_sandbox/faults";

/// A rule set is a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(LEDGER_PATH, get(ledger))
        .route(
            FAULTS_PATH,
            get(faults).post(replace_faults).delete(clear_faults),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

#[derive(Serialize)]
struct LedgerBody {
    entries: Vec<LedgerEntry>,
    movements: Vec<Movement>,
    balances: Vec<Balance>,
}

/// `GET /_sandbox/ledger`: every approved charge, every capture, void and refund since,
/// and each charge's balance, oldest first.
async fn ledger(State(sandbox): State<Sandbox>) -> Json<LedgerBody> {
    Json(LedgerBody {
        entries: sandbox.ledger.entries(),
        movements: sandbox.ledger.movements(),
        balances: sandbox.ledger.balances(),
    })
}

/// `GET /_sandbox/faults`: the rules in force.
async fn faults(State(sandbox): State<Sandbox>) -> Json<FaultSet> {
    Json(FaultSet {
        rules: sandbox.faults.rules(),
    })
}

/// `POST /_sandbox/faults` with `{"rules":[…]}`: replaces every rule (and restarts the
/// error-share counters). Answers the rules now in force.
async fn replace_faults(
    State(sandbox): State<Sandbox>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<FaultSet>, ControlError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ControlError::TooLarge
        } else {
            ControlError::Unreadable(rejection.body_text())
        }
    })?;
    let set = FaultSet::from_json(&body).map_err(ControlError::InvalidRules)?;
    sandbox.faults.set(set.rules);
    Ok(faults(State(sandbox)).await)
}

/// `DELETE /_sandbox/faults`: no faults any more.
async fn clear_faults(State(sandbox): State<Sandbox>) -> Json<FaultSet> {
    sandbox.faults.set(Vec::new());
    faults(State(sandbox)).await
}

/// Why a control request was refused.
#[derive(Debug)]
enum ControlError {
    InvalidRules(String),
    TooLarge,
    Unreadable(String),
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ControlError::InvalidRules(message) => {
                (StatusCode::BAD_REQUEST, "invalid_fault_rules", message)
            }
            ControlError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            ControlError::Unreadable(message) => {
                (StatusCode::BAD_REQUEST, "unreadable_body", message)
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": { "code": code, "message": message } })),
        )
            .into_response()
    }
}

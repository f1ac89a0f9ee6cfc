//! dLocal's 3-D Secure redirect: the page at `three_dsecure.redirect_url` that hands the
//! cardholder to the issuer's ACS, the route the ACS returns to, and the signed form
//! that takes the browser back to the merchant's `callback_url`
//! (docs.dlocal.com/docs/configure-callback-url).
//!
//! The browser's CRes or PaRes is only checked to belong to this payment; the result
//! always comes from `sandbox.acs.outcome`. A payment the merchant cancelled
//! (`POST /payments/{id}/cancel`) is closed: both routes answer 410 and change nothing.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth;
use super::notify::{self, Notification};
use super::payments::{
    frictionless_status, settle, settle_after_authentication, settle_frictionless, Payment, Stage,
    StartedChallenge, ThreeDsRoute,
};
use super::MAX_BODY_BYTES;
use crate::emv::{CReq, ChallengeOutcome, ChallengeWindowSize, FormPost, Generation, PaReqForm};
use crate::sandbox::acs::{self, ChallengeStart, CHALLENGE_PATH, PAREQ_PATH};
use crate::sandbox::html;
use crate::sandbox::ledger::now_rfc3339;
use crate::sandbox::Sandbox;

/// The name the ACS shows on its challenge page.
const MERCHANT_NAME: &str = "dLocal sandbox merchant";

/// `GET /three-ds/{id}`: the `redirect_url` of a pending payment.
pub(super) async fn page(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    let (next, notification) = {
        let mut inner = sandbox.dlocal.lock();
        let Some(payment) = inner.payments.get_mut(&id) else {
            return not_found();
        };
        if payment.stage.is_cancelled() {
            return cancelled();
        }
        let capture = payment.capture;
        let amount = payment.amount.clone();
        let masked_card = payment.masked_card.clone();
        let mut notification = None;
        match &mut payment.stage {
            Stage::Settled(_) => {}
            Stage::AwaitingAuthentication {
                route: ThreeDsRoute::Challenge(generation),
                challenge,
                profile,
            } => {
                let started = challenge.get_or_insert_with(|| {
                    let three_ds_server_trans_id = match generation {
                        Generation::Emv => uuid::Uuid::new_v4().to_string(),
                        Generation::Legacy => id.clone(),
                    };
                    let transaction = sandbox.acs.start_challenge(ChallengeStart {
                        brand: profile.brand,
                        generation: *generation,
                        message_version: match generation {
                            Generation::Emv => "2.2.0",
                            Generation::Legacy => "1.0.2",
                        }
                        .to_owned(),
                        three_ds_server_trans_id: three_ds_server_trans_id.clone(),
                        notification_url: completion_url(&sandbox, &id),
                        merchant_name: MERCHANT_NAME.to_owned(),
                        amount: amount.minor,
                        currency: amount.currency.clone(),
                        masked_card,
                    });
                    StartedChallenge {
                        acs_trans_id: transaction.acs_trans_id,
                        three_ds_server_trans_id,
                        generation: *generation,
                    }
                });
                let started = started.clone();
                drop(inner);
                return match acs_form(&sandbox, &id, &started) {
                    Some(form) => html::auto_submit_page("3-D Secure", &form).into_response(),
                    None => error_page(StatusCode::INTERNAL_SERVER_ERROR, "ACS unavailable"),
                };
            }
            Stage::AwaitingAuthentication {
                route: ThreeDsRoute::Frictionless,
                profile,
                ..
            } => {
                // Forced 3DS on a card the issuer does not challenge: the ACS answers at once.
                let profile = *profile;
                let status = frictionless_status(&profile).unwrap_or(crate::emv::TransStatus::U);
                let settlement = settle_frictionless(&profile, status, &id, capture);
                notification = settle(&sandbox, &mut inner, &id, settlement);
            }
        }
        let next = inner.payments.get(&id).cloned();
        (next, notification)
    };
    send(&sandbox, notification);
    match next {
        Some(payment) => to_merchant(&payment),
        None => not_found(),
    }
}

/// `POST /three-ds/{id}/complete`: where the ACS sends the browser with `cres` (2.x) or
/// `PaRes` and `MD` (1.0.2).
pub(super) async fn complete(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return error_page(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let field = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    let (cres, pa_res) = (field("cres"), field("PaRes"));

    let (payment, notification) = {
        let mut inner = sandbox.dlocal.lock();
        let Some(payment) = inner.payments.get(&id) else {
            return not_found();
        };
        if payment.stage.is_cancelled() {
            // Whatever the ACS says: the merchant cancelled the payment, it is not charged.
            return cancelled();
        }
        let mut notification = None;
        if let Stage::AwaitingAuthentication {
            challenge: Some(started),
            profile,
            ..
        } = &payment.stage
        {
            if let Err(message) = claim_matches(started, cres.as_deref(), pa_res.as_deref()) {
                return error_page(StatusCode::BAD_REQUEST, message);
            }
            if let Some(result) = sandbox.acs.outcome(&started.acs_trans_id) {
                let settlement = settle_after_authentication(
                    profile.authorization,
                    result.values.trans_status,
                    result.values.eci,
                    payment.capture,
                );
                notification = settle(&sandbox, &mut inner, &id, settlement);
            }
        }
        // Settled already, or the challenge is not finished: the payment stays as it is.
        (inner.payments.get(&id).cloned(), notification)
    };
    send(&sandbox, notification);
    match payment {
        Some(payment) => to_merchant(&payment),
        None => not_found(),
    }
}

/// Refuses a CRes or PaRes that names another transaction than this payment's.
fn claim_matches(
    started: &StartedChallenge,
    cres: Option<&str>,
    pa_res: Option<&str>,
) -> Result<(), &'static str> {
    let claimed = match (started.generation, cres, pa_res) {
        (Generation::Emv, Some(cres), _) => match ChallengeOutcome::from_base64url(cres) {
            Ok(ChallengeOutcome::Completed(cres)) => Some(cres.acs_trans_id),
            // An Erro message names no transaction we could compare; the ACS decides.
            Ok(ChallengeOutcome::Failed(_)) => None,
            Err(_) => return Err("The CRes is malformed."),
        },
        (Generation::Legacy, _, Some(pa_res)) => Some(
            acs::decode_pares(pa_res)
                .ok_or("The PaRes is malformed.")?
                .xid,
        ),
        _ => return Err("The authentication result is missing."),
    };
    match claimed {
        Some(claimed) if claimed != started.acs_trans_id => {
            Err("The authentication result belongs to another payment.")
        }
        _ => Ok(()),
    }
}

/// The auto-submitting form that opens the ACS challenge.
fn acs_form(sandbox: &Sandbox, id: &str, started: &StartedChallenge) -> Option<FormPost> {
    match started.generation {
        Generation::Emv => CReq::new(
            started.three_ds_server_trans_id.clone(),
            started.acs_trans_id.clone(),
            "2.2.0".to_owned(),
            ChallengeWindowSize::FullScreen,
        )
        .form(&sandbox.public_url(CHALLENGE_PATH), None)
        .ok(),
        Generation::Legacy => {
            let transaction = sandbox.acs.transaction(&started.acs_trans_id)?;
            Some(
                PaReqForm {
                    acs_url: sandbox.public_url(PAREQ_PATH),
                    pa_req: acs::encode_pareq(&transaction),
                    md: id.to_owned(),
                    term_url: completion_url(sandbox, id),
                }
                .form(),
            )
        }
    }
}

fn completion_url(sandbox: &Sandbox, id: &str) -> String {
    sandbox.public_url(&format!("/dlocal/three-ds/{id}/complete"))
}

/// The `status` posted to `callback_url`: COMPLETED for an authorization not yet
/// captured, APPROVED once paid, REJECTED, or PENDING while 3DS is unfinished.
pub(super) fn callback_status(stage: &Stage) -> &'static str {
    match stage.status_line().status {
        "PAID" => "APPROVED",
        "AUTHORIZED" => "COMPLETED",
        "REJECTED" => "REJECTED",
        _ => "PENDING",
    }
}

/// The page that takes the browser back to the merchant with the payment as it is.
fn to_merchant(payment: &Payment) -> Response {
    let status = callback_status(&payment.stage);
    match &payment.callback_url {
        Some(url) => {
            let date = now_rfc3339();
            let signature = auth::callback_signature(&date, status, &payment.id);
            let form = FormPost::post(
                url.clone(),
                [
                    ("paymentId", payment.id.clone()),
                    ("status", status.to_owned()),
                    ("date", date),
                    ("signature", signature),
                ],
            );
            html::auto_submit_page("Returning to the merchant", &form).into_response()
        }
        // No callback_url was given: say where the payment stands.
        None => html::page(
            "Payment",
            &format!(
                "<p id=\"payment\" data-payment-id=\"{}\" data-status=\"{status}\">Payment {status}.</p>",
                html::escape(&payment.id)
            ),
        )
        .into_response(),
    }
}

fn send(sandbox: &Sandbox, notification: Option<Notification>) {
    if let Some(notification) = notification {
        notify::dispatch(sandbox, notification);
    }
}

/// A cancelled payment's page: 410, and no way back to the merchant or on to the issuer.
fn cancelled() -> Response {
    error_page(
        StatusCode::GONE,
        "This payment was cancelled by the merchant: it can no longer be completed.",
    )
}

fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "Unknown payment.")
}

fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        html::page(
            "3-D Secure",
            &format!("<p id=\"error\">{}</p>", html::escape(message)),
        ),
    )
        .into_response()
}

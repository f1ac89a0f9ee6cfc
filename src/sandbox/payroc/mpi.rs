//! The gateway MPI (`https://payments.payroc.com/merchant/mpi`), loaded by the cardholder's
//! browser: it runs 3-D Secure for the card behind a single-use token and sends the
//! browser with a GET to the terminal's registered receipt URL with
//! `result, status, eci, mpiReference, orderId`. A challenge goes through the sandbox ACS
//! (2.x `creq`, or 1.0.2 `PaReq`), which returns to [`COMPLETE_PATH`]; the outcome is read
//! from the ACS itself, never from what the browser carried.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{RawQuery, State as Extract};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{authenticate, known_terminal, lock, random_hex, Caller, Sandbox};
use crate::emv::challenge::ThreeDsSessionData;
use crate::emv::{
    CReq, CardBrand, ChallengeOutcome, ChallengeWindowSize, Eci, FormPost, Generation, TransStatus,
};
use crate::sandbox::acs::{self, ChallengeStart};
use crate::sandbox::cards::{Authentication, CardProfile, Protocol};
use crate::sandbox::html;

/// The MPI, relative to `/payroc` (Payroc: `/merchant/mpi` on the payments host).
pub const MPI_PATH: &str = "/payments/merchant/mpi";
/// Where the ACS returns the browser after a challenge (the sandbox's own route).
pub const COMPLETE_PATH: &str = "/payments/merchant/mpi/complete";

const EMV_VERSION: &str = "2.2.0";

/// One MPI request, from the query to the result the sale refers to.
#[derive(Debug, Clone)]
pub struct MpiRecord {
    pub terminal: String,
    pub token: String,
    pub order_id: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    pub state: MpiState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MpiState {
    /// The cardholder is at the ACS.
    Challenging {
        acs_trans_id: String,
        generation: Generation,
    },
    Finished(MpiOutcome),
}

/// What the receipt URL is told, and what a sale with the mpiReference may rely on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpiOutcome {
    /// The issuer's status, R included (the receipt shows R as N: Payroc documents Y/A/N/U).
    pub trans_status: TransStatus,
    pub eci: Eci,
    pub result: MpiResult,
}

/// `result`: A the issuer authenticated (Y) or attempted (A), so the sale may proceed;
/// D otherwise (N, U, R), and a sale naming this mpiReference is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MpiResult {
    Approved,
    Declined,
}

impl MpiOutcome {
    pub fn of(status: TransStatus) -> MpiOutcome {
        let shown = match status {
            TransStatus::Y | TransStatus::A | TransStatus::U => status,
            _ => TransStatus::N,
        };
        // Payroc returns 05, 06 or 07, whatever the brand (seed 000, `eci`): the Visa
        // family's values.
        let eci = Eci::for_outcome(CardBrand::Visa, status)
            .or_else(|| Eci::for_outcome(CardBrand::Visa, TransStatus::N))
            .unwrap_or(ECI_FAILED);
        MpiOutcome {
            trans_status: status,
            eci,
            result: if matches!(shown, TransStatus::Y | TransStatus::A) {
                MpiResult::Approved
            } else {
                MpiResult::Declined
            },
        }
    }

    /// The `status` query value: Y, A, N or U.
    pub fn receipt_status(&self) -> &'static str {
        match self.trans_status {
            TransStatus::Y => "Y",
            TransStatus::A => "A",
            TransStatus::U => "U",
            _ => "N",
        }
    }

    pub fn result_code(&self) -> &'static str {
        match self.result {
            MpiResult::Approved => "A",
            MpiResult::Declined => "D",
        }
    }
}

/// ECI 07, checked at compile time.
const ECI_FAILED: Eci = match Eci::new(7) {
    Some(eci) => eci,
    None => panic!("07 is a valid ECI"),
};

/// The validated query of `GET /merchant/mpi`.
struct MpiRequest {
    terminal: String,
    token: String,
    amount: i64,
    currency: String,
    order_id: String,
    challenge_required: bool,
}

fn parse_query(query: &str) -> Result<MpiRequest, Vec<String>> {
    let mut pairs: HashMap<String, String> = HashMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        pairs
            .entry(name.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    let mut errors = Vec::new();
    let mut required = |name: &str| -> Option<String> {
        match pairs.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(value) => Some(value.to_owned()),
            None => {
                errors.push(format!("{name} is required"));
                None
            }
        }
    };
    let terminal = required("processingTerminalId");
    let token = required("singleUseToken");
    let email = required("email");
    let amount = required("amount");
    let currency = required("currency");
    let order_id = required("orderId");
    if email.as_deref().is_some_and(|e| !valid_email(e)) {
        errors.push("email is not an email address".to_owned());
    }
    let amount = amount.and_then(|a| match a.parse::<i64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            errors.push("amount must be a positive whole number of minor units".to_owned());
            None
        }
    });
    if currency
        .as_deref()
        .is_some_and(|c| c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        errors.push("currency must be an ISO 4217 code such as USD".to_owned());
    }
    let challenge_required = match pairs.get("cardholderChallenge").map(String::as_str) {
        None | Some("OPTIONAL") => false,
        Some("REQUIRED") => true,
        Some(_) => {
            errors.push("cardholderChallenge must be REQUIRED or OPTIONAL".to_owned());
            false
        }
    };
    match (terminal, token, amount, currency, order_id) {
        (Some(terminal), Some(token), Some(amount), Some(currency), Some(order_id))
            if errors.is_empty() =>
        {
            Ok(MpiRequest {
                terminal,
                token,
                amount,
                currency,
                order_id,
                challenge_required,
            })
        }
        _ => Err(errors),
    }
}

fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !email.contains(' ')
        }
        None => false,
    }
}

/// The MPI's error page (the browser, not a program, reads it).
fn error_page(status: StatusCode, errors: &[String]) -> Response {
    let items: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>", html::escape(e)))
        .collect();
    (
        status,
        html::page(
            "3-D Secure request rejected",
            &format!("<h1>3-D Secure request rejected</h1><ul id=\"errors\">{items}</ul>"),
        ),
    )
        .into_response()
}

/// What the MPI does next for a card.
enum Step {
    Final(TransStatus),
    Challenge(Generation),
}

fn decide(profile: &CardProfile, challenge_required: bool) -> Step {
    match (profile.protocol, profile.authentication) {
        (Protocol::Legacy { enrolled: false }, _) => Step::Final(TransStatus::N),
        (Protocol::Legacy { enrolled: true }, _) => Step::Challenge(Generation::Legacy),
        (Protocol::Emv, Authentication::Challenge) => Step::Challenge(Generation::Emv),
        // The requestor's challenge mandate: an issuer that would authenticate (Y, A)
        // honours it; one that will not (N, R) or cannot (U) answers as before.
        (Protocol::Emv, Authentication::Frictionless(TransStatus::Y | TransStatus::A))
            if challenge_required =>
        {
            Step::Challenge(Generation::Emv)
        }
        (Protocol::Emv, Authentication::Frictionless(status)) => Step::Final(status),
    }
}

/// `GET /merchant/mpi?processingTerminalId&singleUseToken&email&amount&currency&orderId
/// [&cardholderChallenge]`.
pub(super) async fn start(
    Extract(sandbox): Extract<Sandbox>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    // A browser cannot send a Bearer token; a server that does must send a valid one.
    if headers.contains_key(header::AUTHORIZATION) {
        if let Err(problem) = authenticate(&sandbox, &headers, Caller::Server) {
            return error_page(StatusCode::UNAUTHORIZED, &[problem.detail]);
        }
    }
    let request = match parse_query(query.as_deref().unwrap_or_default()) {
        Ok(request) => request,
        Err(errors) => return error_page(StatusCode::BAD_REQUEST, &errors),
    };
    if !known_terminal(&sandbox, &request.terminal) {
        return error_page(
            StatusCode::BAD_REQUEST,
            &[format!(
                "processingTerminalId {} is not enrolled for 3-D Secure",
                request.terminal
            )],
        );
    }
    let (pan, masked) = {
        let tokens = lock(&sandbox.payroc.tokens);
        match tokens.get(&request.token) {
            None => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    &["singleUseToken is not a known token".to_owned()],
                )
            }
            Some(stored) => match stored.unusable() {
                Some(why) => return error_page(StatusCode::BAD_REQUEST, &[why.to_owned()]),
                None => (stored.pan.clone(), stored.pan.masked()),
            },
        }
    };
    let profile = CardProfile::of(&pan);
    let mpi_reference = random_hex(10);
    let mut record = MpiRecord {
        terminal: request.terminal.clone(),
        token: request.token.clone(),
        order_id: request.order_id.clone(),
        amount: request.amount,
        currency: request.currency.clone(),
        state: MpiState::Finished(MpiOutcome::of(TransStatus::N)),
    };
    match decide(&profile, request.challenge_required) {
        Step::Final(status) => {
            let outcome = MpiOutcome::of(status);
            record.state = MpiState::Finished(outcome.clone());
            let location = receipt_location(&sandbox, &record, &mpi_reference, &outcome);
            lock(&sandbox.payroc.mpi).insert(mpi_reference, record);
            match location {
                Some(location) => redirect(StatusCode::FOUND, &location),
                None => error_page(
                    StatusCode::BAD_REQUEST,
                    &["The processing terminal has no receipt URL".to_owned()],
                ),
            }
        }
        Step::Challenge(generation) => {
            let notification_url = sandbox.public_url(&format!("/payroc{COMPLETE_PATH}"));
            let legacy = generation == Generation::Legacy;
            let transaction = sandbox.acs.start_challenge(ChallengeStart {
                brand: profile.brand,
                generation,
                message_version: if legacy { "1.0.2" } else { EMV_VERSION }.to_owned(),
                three_ds_server_trans_id: if legacy {
                    mpi_reference.clone()
                } else {
                    uuid::Uuid::new_v4().to_string()
                },
                notification_url: notification_url.clone(),
                merchant_name: format!("Payroc terminal {}", request.terminal),
                amount: request.amount,
                currency: request.currency.clone(),
                masked_card: masked,
            });
            let form = if legacy {
                Ok(FormPost::post(
                    sandbox.public_url(acs::PAREQ_PATH),
                    [
                        ("PaReq", acs::encode_pareq(&transaction)),
                        ("MD", mpi_reference.clone()),
                        ("TermUrl", notification_url),
                    ],
                ))
            } else {
                CReq::new(
                    transaction.start.three_ds_server_trans_id.clone(),
                    transaction.acs_trans_id.clone(),
                    EMV_VERSION.to_owned(),
                    ChallengeWindowSize::FullScreen,
                )
                .form(
                    &sandbox.public_url(acs::CHALLENGE_PATH),
                    Some(&mpi_reference),
                )
            };
            record.state = MpiState::Challenging {
                acs_trans_id: transaction.acs_trans_id,
                generation,
            };
            lock(&sandbox.payroc.mpi).insert(mpi_reference, record);
            match form {
                Ok(form) => html::auto_submit_page("3-D Secure", &form).into_response(),
                Err(e) => error_page(StatusCode::INTERNAL_SERVER_ERROR, &[e.to_string()]),
            }
        }
    }
}

/// `POST /merchant/mpi/complete`: the ACS's return (`cres` + `threeDSSessionData`, or
/// `PaRes` + `MD`). The mpiReference comes from the session data or MD; the outcome from
/// the ACS's own record, after checking the browser's message names the same transaction.
pub(super) async fn complete(Extract(sandbox): Extract<Sandbox>, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, super::problem::BODY_LIMIT).await else {
        return error_page(
            StatusCode::PAYLOAD_TOO_LARGE,
            &["The form is too large".to_owned()],
        );
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&bytes)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let bad = |message: &str| error_page(StatusCode::BAD_REQUEST, &[message.to_owned()]);
    let (mpi_reference, claimed_acs_id, erro, posted) = if let Some(cres) = form.get("cres") {
        let Some(reference) = form
            .get("threeDSSessionData")
            .and_then(|data| ThreeDsSessionData::decode(data).ok())
        else {
            return bad("threeDSSessionData is missing or malformed");
        };
        match ChallengeOutcome::from_base64url(cres) {
            Ok(ChallengeOutcome::Completed(cres)) => {
                (reference, Some(cres.acs_trans_id), false, Generation::Emv)
            }
            Ok(ChallengeOutcome::Failed(_)) => (reference, None, true, Generation::Emv),
            Err(_) => return bad("cres is malformed"),
        }
    } else if let Some(pa_res) = form.get("PaRes") {
        let Some(reference) = form.get("MD").cloned() else {
            return bad("MD is missing");
        };
        match acs::decode_pares(pa_res) {
            Some(claim) => (reference, Some(claim.xid), false, Generation::Legacy),
            None => return bad("PaRes is malformed"),
        }
    } else {
        return bad("Neither cres nor PaRes was posted");
    };

    let mut records = lock(&sandbox.payroc.mpi);
    let Some(record) = records.get_mut(&mpi_reference) else {
        return bad("Unknown 3-D Secure session");
    };
    let outcome = match &record.state {
        MpiState::Finished(outcome) => outcome.clone(),
        MpiState::Challenging {
            acs_trans_id,
            generation,
        } => {
            if *generation != posted {
                return bad("The challenge result is of the wrong 3-D Secure version");
            }
            if claimed_acs_id
                .as_ref()
                .is_some_and(|claimed| claimed != acs_trans_id)
            {
                return bad("The challenge result belongs to another transaction");
            }
            let status = match sandbox.acs.outcome(acs_trans_id) {
                Some(result) => result.values.trans_status,
                // The ACS reported an error instead of a CRes: not authenticated, unable.
                None if erro => TransStatus::U,
                None => return bad("The challenge has not finished"),
            };
            let outcome = MpiOutcome::of(status);
            record.state = MpiState::Finished(outcome.clone());
            outcome
        }
    };
    let record = record.clone();
    drop(records);
    match receipt_location(&sandbox, &record, &mpi_reference, &outcome) {
        Some(location) => redirect(StatusCode::SEE_OTHER, &location),
        None => bad("The processing terminal has no receipt URL"),
    }
}

/// The receipt URL with `result, status, eci, mpiReference, orderId`.
fn receipt_location(
    sandbox: &Sandbox,
    record: &MpiRecord,
    mpi_reference: &str,
    outcome: &MpiOutcome,
) -> Option<String> {
    let base = sandbox.config.payroc_receipt_urls.get(&record.terminal)?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("result", outcome.result_code())
        .append_pair("status", outcome.receipt_status())
        .append_pair("eci", &outcome.eci.as_two_digits())
        .append_pair("mpiReference", mpi_reference)
        .append_pair("orderId", &record.order_id)
        .finish();
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}{query}"))
}

fn redirect(status: StatusCode, location: &str) -> Response {
    (status, [(header::LOCATION, location.to_owned())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emv::Pan;

    fn profile(pan: &str) -> CardProfile {
        CardProfile::of(&Pan::parse(pan).unwrap())
    }

    #[test]
    fn outcomes() {
        let y = MpiOutcome::of(TransStatus::Y);
        assert_eq!(
            (
                y.result_code(),
                y.receipt_status(),
                y.eci.as_two_digits().as_str()
            ),
            ("A", "Y", "05")
        );
        let r = MpiOutcome::of(TransStatus::R);
        assert_eq!(
            (
                r.result_code(),
                r.receipt_status(),
                r.eci.as_two_digits().as_str()
            ),
            ("D", "N", "07")
        );
        let u = MpiOutcome::of(TransStatus::U);
        assert_eq!(
            (
                u.result_code(),
                u.receipt_status(),
                u.eci.as_two_digits().as_str()
            ),
            ("D", "U", "07")
        );
        let a = MpiOutcome::of(TransStatus::A);
        assert_eq!(
            (a.result_code(), a.eci.as_two_digits().as_str()),
            ("A", "06")
        );
    }

    #[test]
    fn challenge_mandate() {
        assert!(matches!(
            decide(&profile("4000000000001000"), true),
            Step::Challenge(Generation::Emv)
        ));
        assert!(matches!(
            decide(&profile("4000000000001000"), false),
            Step::Final(TransStatus::Y)
        ));
        assert!(matches!(
            decide(&profile("4000000000001208"), true),
            Step::Final(TransStatus::N)
        ));
        assert!(matches!(
            decide(&profile("4000000000003006"), false),
            Step::Challenge(Generation::Legacy)
        ));
        assert!(matches!(
            decide(&profile("4000000000003105"), true),
            Step::Final(TransStatus::N)
        ));
    }

    #[test]
    fn query_validation() {
        let ok = "processingTerminalId=4479001&singleUseToken=ab&email=a%40b.com&amount=100&currency=EUR&orderId=25";
        assert!(parse_query(ok).is_ok());
        let errors = parse_query("amount=-1&currency=eur&cardholderChallenge=ALWAYS")
            .err()
            .unwrap();
        assert!(errors.iter().any(|e| e.starts_with("processingTerminalId")));
        assert!(errors.iter().any(|e| e.starts_with("amount")));
        assert!(errors.iter().any(|e| e.starts_with("currency")));
        assert!(errors.iter().any(|e| e.starts_with("cardholderChallenge")));
    }
}

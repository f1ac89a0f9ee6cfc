//! Bambora North America (Worldline) Payment API v1, under `/bambora`.
//!
//! Owns Bambora's side of a card payment with 3-D Secure: `POST /v1/payments`
//! (frictionless answers at once; a challenge answers HTTP 302 with the URL-encoded
//! auto-submit form to the sandbox ACS), `POST /v1/payments/{id}/continue` (reads the
//! cres or PaRes, checks it against the ACS's own record and authorizes once),
//! `GET /v1/payments/{id}`, the merchant-MPI passthrough variants, and the single-use
//! tokens of `/scripts/tokenization/tokens`. Wire shapes are in [`wire`], request parsing
//! in [`request`], the 302 `contents` in [`contents`]. See docs/sandbox/bambora.md.

mod contents;
mod request;
pub mod wire;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State as Shared};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Map, Value};

use self::request::{CardInput, CardResponse, PaymentRequest, Source, ThreeDsRequest, Today};
use self::wire::{
    dollars, ApiError, Avs, CardResult, Category, Custom, Link, Payment, PaymentType, Redirect,
    ThreeDsResult, ThreeDsStatus, Validation,
};
use super::acs::{self, AcsTransaction, ChallengeStart};
use super::cards::{Authentication, AuthenticationValues, Authorization, CardProfile, Protocol};
use super::ledger::{now_rfc3339, LedgerEntry, Provider};
use super::Sandbox;
use crate::emv::{
    CReq, CardBrand, ChallengeOutcome, ChallengeWindowSize, Eci, FormPost, Generation, TransStatus,
};

/// The sandbox merchant (the seed's `Passcode MzAw…` example decodes to these).
pub const MERCHANT_ID: &str = "300200578";
pub const API_PASSCODE: &str = "4BaD82D9197b4cc4b70a221911eE9f70";
/// What the issuer's page shows as the merchant.
pub const MERCHANT_NAME: &str = "Sandbox Merchant Inc.";
/// A Bambora merchant account settles in one currency; the sandbox merchant's is CAD.
pub const CURRENCY: &str = "CAD";
/// Request bodies above this size are refused with a 400.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Single-use tokens expire after 15 minutes, as Bambora documents.
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The challenge window Bambora's CReq asks for (03: 500 × 600).
const WINDOW: ChallengeWindowSize = ChallengeWindowSize::W500xH600;
const EMV_VERSION: &str = "2.2.0";

/// Bambora's memory: payments by id, open 3-D Secure sessions, single-use tokens.
#[derive(Debug, Default)]
pub struct State {
    memory: Mutex<Memory>,
}

#[derive(Debug, Default)]
struct Memory {
    last_id: u64,
    payments: HashMap<String, Payment>,
    /// By `merchant_data` (3DS1, lower case) or `3d_session_data` (3DS2).
    sessions: HashMap<String, Session>,
    tokens: HashMap<String, Token>,
}

#[derive(Debug)]
struct Token {
    card: CardInput,
    created: Instant,
}

/// A payment waiting for the cardholder at the ACS.
#[derive(Debug)]
struct Session {
    generation: Generation,
    acs_trans_id: String,
    /// 3DS 2: Bambora's 3DS Server transaction id.
    three_ds_server_trans_id: String,
    order: Order,
    auth_required: bool,
    downgraded: bool,
    progress: Progress,
}

/// Where a 3-D Secure session is. A finished one answers every later `continue`
/// with the same result, so a replay never authorizes twice.
#[derive(Debug)]
enum Progress {
    Pending,
    Finished(Result<Payment, ApiError>),
}

/// What will be authorized: never the full card number.
#[derive(Debug, Clone)]
struct Order {
    order_number: Option<String>,
    amount: i64,
    complete: bool,
    custom: Custom,
    card: CardSummary,
    authorization: Authorization,
}

#[derive(Debug, Clone)]
struct CardSummary {
    brand: CardBrand,
    card_type: &'static str,
    bin: String,
    last_four: String,
    masked: String,
    cvd_present: bool,
}

/// What 3-D Secure contributes to an authorization.
#[derive(Debug, Clone, Default)]
struct Authenticated {
    three_d_secure: Option<ThreeDsResult>,
    eci: Option<u8>,
    cavv: bool,
}

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v1/payments", post(create_payment))
        .route("/v1/payments/{id}", get(get_payment))
        .route("/v1/payments/{id}/continue", post(continue_payment))
        .route("/scripts/tokenization/tokens", post(tokenize))
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, 404, Category::Input, "Not found")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                405,
                Category::Input,
                "Invalid request method",
            )
        })
}

async fn create_payment(
    Shared(sandbox): Shared<Sandbox>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        authenticate(&headers)?;
        let body = json_body(&headers, body).await?;
        let request = request::payment_request(&body, Today::now())?;
        sandbox.bambora.pay(&sandbox, request)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn get_payment(
    Shared(sandbox): Shared<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = authenticate(&headers) {
        return error.into_response();
    }
    match sandbox.bambora.lock().payments.get(&id) {
        Some(payment) => Json(payment.clone()).into_response(),
        None => ApiError::unknown_id("transId").into_response(),
    }
}

async fn continue_payment(
    Shared(sandbox): Shared<Sandbox>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        authenticate(&headers)?;
        let body = json_body(&headers, body).await?;
        let card_response = request::continue_request(&body)?;
        sandbox.bambora.resume(&sandbox, &id, &card_response)
    }
    .await;
    match result {
        Ok(payment) => Json(payment).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `POST /scripts/tokenization/tokens`: public (no passcode), called from the browser.
/// Like Bambora, it always answers with a token; a token for bad card data is refused
/// when a payment uses it.
async fn tokenize(Shared(sandbox): Shared<Sandbox>, headers: HeaderMap, body: Body) -> Response {
    let body = match json_body(&headers, body).await {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let token = format!("gt7-{}", uuid::Uuid::new_v4());
    let (code, message) = match request::token_request(&body, Today::now()) {
        Ok(card) => {
            let mut memory = sandbox.bambora.lock();
            memory
                .tokens
                .retain(|_, t| t.created.elapsed() < TOKEN_LIFETIME);
            let created = Instant::now();
            memory.tokens.insert(token.clone(), Token { card, created });
            (1, String::new())
        }
        Err(error) => {
            let hints: Vec<String> = error
                .body
                .details
                .iter()
                .map(|d| format!("{}: {}", d.field, d.message))
                .collect();
            (3, hints.join("; "))
        }
    };
    Json(serde_json::json!({"token": token, "code": code.to_string(), "version": 1, "message": message}))
        .into_response()
}

/// Checks `Authorization: Passcode base64(merchant_id:passcode)`.
fn authenticate(headers: &HeaderMap) -> Result<(), ApiError> {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Passcode"))
        .and_then(|(_, encoded)| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match credentials.as_deref().and_then(|c| c.split_once(':')) {
        Some((MERCHANT_ID, API_PASSCODE)) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// A size-limited `application/json` body, parsed as a JSON object.
async fn json_body(headers: &HeaderMap, body: Body) -> Result<Map<String, Value>, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            415,
            Category::Input,
            "Content-Type must be application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            ApiError::invalid_field(
                "body",
                &format!("The request body must be at most {MAX_BODY_BYTES} bytes"),
            )
        })?;
    request::json_object(&bytes)
}

impl State {
    fn lock(&self) -> std::sync::MutexGuard<'_, Memory> {
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `POST /v1/payments` after parsing: authorize, decline, or send to the ACS.
    fn pay(&self, sandbox: &Sandbox, request: PaymentRequest) -> Result<Response, ApiError> {
        let card = match request.source {
            Source::Card(card) => card,
            Source::Token { code } => self.redeem_token(&code)?,
        };
        let card_type = card_type(card.pan.brand()).ok_or_else(|| {
            ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                312,
                Category::BusinessRule,
                "Card type not accepted",
            )
        })?;
        let profile = CardProfile::of(&card.pan);
        let order = Order {
            order_number: request.order_number,
            amount: request.amount,
            complete: request.complete,
            custom: request.custom,
            card: CardSummary {
                brand: card.pan.brand(),
                card_type,
                bin: card.pan.bin().to_owned(),
                last_four: card.pan.last_four().to_owned(),
                masked: card.pan.masked(),
                cvd_present: card.cvd_present,
            },
            authorization: profile.authorization,
        };
        let term_url = request.term_url.unwrap_or_default();
        let approved = |authenticated: Authenticated| {
            self.lock()
                .authorize(sandbox, &order, &authenticated)
                .map(|payment| Json(payment).into_response())
        };
        match request.three_ds {
            ThreeDsRequest::Off => approved(Authenticated::default()),
            ThreeDsRequest::Passthrough(passthrough) => {
                approved(passthrough_values(order.card.brand, &passthrough)?)
            }
            ThreeDsRequest::Authenticate {
                version,
                auth_required,
                browser,
            } => {
                // The card range decides the protocol, as the directory would after
                // Bambora's version lookup; asking for 2 and getting 1.0.2 is a downgrade.
                let downgraded = version != Some(1);
                match (profile.protocol, profile.authentication) {
                    (Protocol::Legacy { enrolled: true }, _) => Ok(self
                        .start_challenge(
                            sandbox,
                            order,
                            Generation::Legacy,
                            &term_url,
                            auth_required,
                            downgraded,
                        )
                        .into_response()),
                    (Protocol::Legacy { enrolled: false }, _) => {
                        let seed = uuid::Uuid::new_v4().to_string();
                        let values = AuthenticationValues::for_status(
                            order.card.brand,
                            TransStatus::U,
                            &seed,
                        );
                        approved(conclude(&values, auth_required, downgraded)?)
                    }
                    (Protocol::Emv, _) if !browser => Err(ApiError::invalid_field(
                        "card.3d_secure.browser",
                        "The browser object is required for 3D Secure 2.0",
                    )),
                    (Protocol::Emv, Authentication::Frictionless(status)) => {
                        let seed = uuid::Uuid::new_v4().to_string();
                        let values =
                            AuthenticationValues::for_status(order.card.brand, status, &seed);
                        approved(conclude(&values, auth_required, false)?)
                    }
                    (Protocol::Emv, Authentication::Challenge) => Ok(self
                        .start_challenge(
                            sandbox,
                            order,
                            Generation::Emv,
                            &term_url,
                            auth_required,
                            false,
                        )
                        .into_response()),
                }
            }
        }
    }

    fn redeem_token(&self, code: &str) -> Result<CardInput, ApiError> {
        let mut memory = self.lock();
        match memory.tokens.remove(code) {
            Some(token) if token.created.elapsed() < TOKEN_LIFETIME => Ok(token.card),
            _ => Err(ApiError::invalid_field(
                "token.code",
                "Invalid or expired single-use token",
            )),
        }
    }

    /// Registers the challenge with the ACS and builds the 302 body.
    fn start_challenge(
        &self,
        sandbox: &Sandbox,
        order: Order,
        generation: Generation,
        term_url: &str,
        auth_required: bool,
        downgraded: bool,
    ) -> Redirect {
        let (session_id, three_ds_server_trans_id, message_version) = match generation {
            // The seed's merchant_data: a GUID with its last dash missing.
            Generation::Legacy => {
                let mut id = uuid::Uuid::new_v4().to_string();
                id.remove(23);
                (id.clone(), id, "1.0.2")
            }
            Generation::Emv => {
                let server_id = uuid::Uuid::new_v4().to_string();
                let session = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(uuid::Uuid::new_v4().simple().to_string());
                (session, server_id, EMV_VERSION)
            }
        };
        let transaction = sandbox.acs.start_challenge(ChallengeStart {
            brand: order.card.brand,
            generation,
            message_version: message_version.to_owned(),
            three_ds_server_trans_id: three_ds_server_trans_id.clone(),
            notification_url: term_url.to_owned(),
            merchant_name: MERCHANT_NAME.to_owned(),
            amount: order.amount,
            currency: CURRENCY.to_owned(),
            masked_card: order.card.masked.clone(),
        });
        let form = match generation {
            Generation::Legacy => pareq_form(sandbox, &transaction, &order, &session_id, term_url),
            Generation::Emv => {
                let creq = CReq::new(
                    three_ds_server_trans_id.clone(),
                    transaction.acs_trans_id.clone(),
                    EMV_VERSION.to_owned(),
                    WINDOW,
                );
                FormPost::post(
                    sandbox.public_url(acs::CHALLENGE_PATH),
                    [
                        ("creq", creq.to_base64url()),
                        ("threeDSSessionData", session_id.clone()),
                    ],
                )
            }
        };
        let links = vec![Link {
            rel: "continue",
            href: sandbox.public_url(&format!("/bambora/v1/payments/{session_id}/continue")),
            method: "POST",
        }];
        self.lock().sessions.insert(
            session_id.clone(),
            Session {
                generation,
                acs_trans_id: transaction.acs_trans_id,
                three_ds_server_trans_id,
                order,
                auth_required,
                downgraded,
                progress: Progress::Pending,
            },
        );
        let (merchant_data, three_d_session_data) = match generation {
            Generation::Legacy => (Some(session_id), None),
            Generation::Emv => (None, Some(session_id)),
        };
        Redirect {
            merchant_data,
            three_d_session_data,
            contents: contents::url_encode(&contents::form_page(&form)),
            links,
        }
    }

    /// `continue`: checks what the browser brought against the ACS, then finishes the
    /// session once. Later calls get the first result again.
    fn resume(
        &self,
        sandbox: &Sandbox,
        id: &str,
        card_response: &CardResponse,
    ) -> Result<Payment, ApiError> {
        let (key, generation, acs_trans_id, server_id) = {
            let memory = self.lock();
            let key = [id.to_owned(), id.to_ascii_lowercase()]
                .into_iter()
                .find(|key| memory.sessions.contains_key(key))
                .ok_or_else(|| ApiError::unknown_id("merchant_data"))?;
            let session = &memory.sessions[&key];
            (
                key.clone(),
                session.generation,
                session.acs_trans_id.clone(),
                session.three_ds_server_trans_id.clone(),
            )
        };
        let values = verify(
            sandbox,
            generation,
            &acs_trans_id,
            &server_id,
            card_response,
        )?;
        let mut memory = self.lock();
        let session = memory
            .sessions
            .get(&key)
            .ok_or_else(|| ApiError::unknown_id("merchant_data"))?;
        if let Progress::Finished(result) = &session.progress {
            return result.clone();
        }
        let order = session.order.clone();
        let concluded = conclude(&values, session.auth_required, session.downgraded);
        let result = concluded.and_then(|auth| memory.authorize(sandbox, &order, &auth));
        if let Some(session) = memory.sessions.get_mut(&key) {
            session.progress = Progress::Finished(result.clone());
        }
        result
    }
}

impl Memory {
    /// The authorization after (or without) 3-D Secure: an approved payment recorded in
    /// the ledger once, or the issuer's decline (kept, so `GET` finds it too).
    fn authorize(
        &mut self,
        sandbox: &Sandbox,
        order: &Order,
        authenticated: &Authenticated,
    ) -> Result<Payment, ApiError> {
        self.last_id += 1;
        let id = (10_000_000 + self.last_id).to_string();
        let approved = order.authorization == Authorization::Approve;
        let kind = if order.complete {
            PaymentType::P
        } else {
            PaymentType::PA
        };
        let link = |rel, path: &str| Link {
            rel,
            href: sandbox.public_url(&format!("/bambora/v1/payments/{id}/{path}")),
            method: "POST",
        };
        let links = match (approved, kind) {
            (false, _) => Vec::new(),
            (true, PaymentType::P) => vec![link("void", "void"), link("return", "returns")],
            (true, PaymentType::PA) => vec![link("complete", "completions")],
        };
        let card = CardResult {
            card_type: order.card.card_type,
            last_four: order.card.last_four.clone(),
            card_bin: order.card.bin.clone(),
            cvd_result: if order.card.cvd_present { 1 } else { 6 },
            avs_result: "0".to_owned(),
            avs: Avs::not_performed(),
            address_match: 0,
            postal_result: 0,
            eci: authenticated.eci,
            cavv_result: authenticated.cavv.then(|| "2".to_owned()),
        };
        let (message_id, message) = if approved {
            ("1", "Approved")
        } else {
            (DECLINE_MESSAGE_ID, "DECLINE")
        };
        let payment = Payment {
            id: id.clone(),
            authorizing_merchant_id: MERCHANT_ID.parse().unwrap_or_default(),
            approved: if approved { "1" } else { "0" }.to_owned(),
            message_id: message_id.to_owned(),
            message: message.to_owned(),
            auth_code: if approved {
                format!("TEST{:02}", self.last_id % 100)
            } else {
                String::new()
            },
            created: created_now(),
            order_number: order.order_number.clone().unwrap_or_else(|| id.clone()),
            kind,
            payment_method: "CC",
            risk_score: 0.0,
            amount: dollars(order.amount),
            custom: order.custom.clone(),
            card: card.clone(),
            three_d_secure: authenticated.three_d_secure.clone(),
            links,
        };
        self.payments.insert(id.clone(), payment.clone());
        if !approved {
            let mut error = ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                7,
                Category::Decline,
                "DECLINE",
            );
            error.body.validation = Some(Validation {
                id,
                approved: "0".to_owned(),
                message_id: DECLINE_MESSAGE_ID.to_owned(),
                message: "DECLINE".to_owned(),
                auth_code: String::new(),
                trans_date: payment.created.clone(),
                order_number: payment.order_number.clone(),
                kind,
                amount: payment.amount,
                cvd_id: card.cvd_result,
            });
            error.body.card = Some(card);
            return Err(error);
        }
        sandbox.ledger.record(LedgerEntry {
            provider: Provider::Bambora,
            provider_payment_id: id,
            order_id: payment.order_number.clone(),
            amount: order.amount,
            currency: CURRENCY.to_owned(),
            idempotency_key: None,
            card: order.card.masked.clone(),
            time: now_rfc3339(),
        });
        Ok(payment)
    }
}

/// Bambora's message id for an issuer decline (the error `code` carries the same).
const DECLINE_MESSAGE_ID: &str = "7";

/// The issuer's final status, as Bambora reports it and acts on it: Y and A authorize;
/// U authorizes without liability shift unless `auth_required`; N, R and the rest are
/// declined with 311 before any authorization.
fn conclude(
    values: &AuthenticationValues,
    auth_required: bool,
    downgraded: bool,
) -> Result<Authenticated, ApiError> {
    let status = match values.trans_status {
        TransStatus::Y => ThreeDsStatus::Succeeded,
        TransStatus::A => ThreeDsStatus::Attempted,
        TransStatus::U | TransStatus::I => ThreeDsStatus::Unavailable,
        TransStatus::N => ThreeDsStatus::Failed,
        TransStatus::R => ThreeDsStatus::Rejected,
        TransStatus::C | TransStatus::D | TransStatus::S => ThreeDsStatus::Error,
    };
    let result = ThreeDsResult { status, downgraded };
    let proceeds = match status {
        ThreeDsStatus::Succeeded | ThreeDsStatus::Attempted => true,
        ThreeDsStatus::Unavailable => !auth_required,
        _ => false,
    };
    if !proceeds {
        return Err(ApiError::three_d_secure_failed(result));
    }
    Ok(Authenticated {
        three_d_secure: Some(result),
        eci: values.eci.map(Eci::value),
        cavv: values.cavv.is_some(),
    })
}

/// The merchant's own results: the ECI must be one the brand uses, and an ECI that
/// claims authentication or an attempt must come with its CAVV.
fn passthrough_values(
    brand: CardBrand,
    passthrough: &request::Passthrough,
) -> Result<Authenticated, ApiError> {
    let field = match passthrough.generation {
        Generation::Emv => "card.3d_secure_passthrough",
        Generation::Legacy => "card.3d_secure",
    };
    let eci = passthrough.eci.value();
    let (allowed, proving): (&[u8], &[u8]) = if brand == CardBrand::Mastercard {
        (&[0, 1, 2, 7], &[1, 2])
    } else {
        (&[5, 6, 7], &[5, 6])
    };
    if !allowed.contains(&eci) {
        return Err(ApiError::invalid_field(
            &format!("{field}.eci"),
            "This ECI is not used by the card's brand",
        ));
    }
    if proving.contains(&eci) && !passthrough.cavv_present {
        return Err(ApiError::invalid_field(
            &format!("{field}.cavv"),
            "A cavv is required with this ECI",
        ));
    }
    Ok(Authenticated {
        three_d_secure: None,
        eci: Some(eci),
        cavv: passthrough.cavv_present,
    })
}

/// What the browser brought back, checked against the ACS's own record: the issuer's
/// values, or a 400 when it names another transaction, is still pending or was altered.
fn verify(
    sandbox: &Sandbox,
    generation: Generation,
    acs_trans_id: &str,
    three_ds_server_trans_id: &str,
    card_response: &CardResponse,
) -> Result<AuthenticationValues, ApiError> {
    let tampered = |field: &str| {
        ApiError::invalid_field(
            field,
            "Does not belong to this 3D Secure session or was altered",
        )
    };
    let pending = |field: &str| {
        ApiError::invalid_field(field, "The cardholder has not completed authentication")
    };
    match (generation, card_response) {
        (Generation::Emv, CardResponse::CRes(cres)) => {
            let field = "card_response.cres";
            let claimed = match ChallengeOutcome::from_base64url(cres) {
                Ok(ChallengeOutcome::Completed(cres)) => cres,
                Ok(ChallengeOutcome::Failed(_)) => {
                    return Ok(AuthenticationValues {
                        trans_status: TransStatus::C,
                        eci: None,
                        cavv: None,
                    })
                }
                Err(_) => return Err(ApiError::invalid_field(field, "Not a valid CRes")),
            };
            if claimed.acs_trans_id != acs_trans_id
                || claimed.three_ds_server_trans_id != three_ds_server_trans_id
            {
                return Err(tampered(field));
            }
            let truth = sandbox
                .acs
                .outcome(acs_trans_id)
                .ok_or_else(|| pending(field))?;
            if truth.values.trans_status != claimed.trans_status {
                return Err(tampered(field));
            }
            Ok(truth.values)
        }
        (Generation::Legacy, CardResponse::PaRes(pa_res)) => {
            let field = "card_response.pa_res";
            let claimed = acs::decode_pares(pa_res)
                .ok_or_else(|| ApiError::invalid_field(field, "Not a valid PaRes"))?;
            if claimed.xid != acs_trans_id {
                return Err(tampered(field));
            }
            let truth = sandbox
                .acs
                .outcome(acs_trans_id)
                .ok_or_else(|| pending(field))?;
            let status = match truth.values.trans_status {
                TransStatus::Y => "Y",
                TransStatus::A => "A",
                TransStatus::U => "U",
                _ => "N",
            };
            if claimed.status != status {
                return Err(tampered(field));
            }
            Ok(truth.values)
        }
        (Generation::Emv, CardResponse::PaRes(_)) => Err(ApiError::invalid_field(
            "card_response.pa_res",
            "This is a 3D Secure 2.0 session: send card_response.cres",
        )),
        (Generation::Legacy, CardResponse::CRes(_)) => Err(ApiError::invalid_field(
            "card_response.cres",
            "This is a 3D Secure 1.0 session: send card_response.pa_res",
        )),
    }
}

/// The 3DS 1.0.2 form of the seed: PaReq, the fields the issuer page shows, MD, TermUrl.
fn pareq_form(
    sandbox: &Sandbox,
    transaction: &AcsTransaction,
    order: &Order,
    merchant_data: &str,
    term_url: &str,
) -> FormPost {
    let now = time::OffsetDateTime::now_utc();
    let seed_time = time::macros::format_description!(
        "[month padding:none]/[day padding:none]/[year] [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    FormPost::post(
        sandbox.public_url(acs::PAREQ_PATH),
        [
            ("PaReq", acs::encode_pareq(transaction)),
            ("merchant_name", MERCHANT_NAME.to_owned()),
            ("trnDatetime", now.format(&seed_time).unwrap_or_default()),
            ("trnAmount", format!("{:.2}", dollars(order.amount))),
            (
                "trnEncCardNumber",
                format!("XXXX XXXX XXXX {}", order.card.last_four),
            ),
            ("MD", merchant_data.to_ascii_uppercase()),
            ("TermUrl", term_url.to_owned()),
        ],
    )
}

/// Bambora's card type codes; `None` for brands the sandbox merchant does not accept.
fn card_type(brand: CardBrand) -> Option<&'static str> {
    Some(match brand {
        CardBrand::Visa => "VI",
        CardBrand::Mastercard => "MC",
        CardBrand::Amex => "AM",
        CardBrand::Discover => "NN",
        CardBrand::Jcb => "JB",
        CardBrand::Diners => "DI",
        CardBrand::Elo | CardBrand::UnionPay | CardBrand::Unknown => return None,
    })
}

/// `2017-02-23T17:26:26`, as in Bambora's responses.
fn created_now() -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    time::OffsetDateTime::now_utc()
        .format(&format)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_passcode_header_is_the_sandbox_merchant() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Passcode MzAwMjAwNTc4OjRCYUQ4MkQ5MTk3YjRjYzRiNzBhMjIxOTExZUU5Zjcw"
                .parse()
                .unwrap(),
        );
        assert_eq!(authenticate(&headers), Ok(()));
        headers.insert(
            header::AUTHORIZATION,
            "Basic MzAwMjAwNTc4OjRC".parse().unwrap(),
        );
        assert_eq!(authenticate(&headers).unwrap_err().status, 401);
        headers.remove(header::AUTHORIZATION);
        assert_eq!(authenticate(&headers).unwrap_err().body.code, 21);
    }

    #[test]
    fn statuses_map_to_bambora_decisions() {
        let values = |status| AuthenticationValues::for_status(CardBrand::Visa, status, "seed");
        let y = conclude(&values(TransStatus::Y), true, false).unwrap();
        assert_eq!((y.eci, y.cavv), (Some(5), true));
        assert_eq!(
            conclude(&values(TransStatus::U), false, false).unwrap().eci,
            Some(7)
        );
        let refused = conclude(&values(TransStatus::U), true, false).unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.body.code), (402, 311));
        let rejected = conclude(&values(TransStatus::R), false, false).unwrap_err();
        assert_eq!(
            rejected.body.three_d_secure.map(|r| r.status),
            Some(ThreeDsStatus::Rejected)
        );
    }

    #[test]
    fn passthrough_eci_must_fit_the_brand() {
        let passthrough = |eci, cavv_present| request::Passthrough {
            generation: Generation::Emv,
            eci: Eci::new(eci).unwrap(),
            cavv_present,
        };
        assert!(passthrough_values(CardBrand::Visa, &passthrough(5, true)).is_ok());
        assert!(passthrough_values(CardBrand::Visa, &passthrough(5, false)).is_err());
        assert!(passthrough_values(CardBrand::Visa, &passthrough(2, true)).is_err());
        assert!(passthrough_values(CardBrand::Mastercard, &passthrough(0, false)).is_ok());
    }
}

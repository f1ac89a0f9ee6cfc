//! Paysafe 3-D Secure 2: the device-fingerprinting session (`/jwt`), authentications,
//! their finalization after a challenge, and the two pages that stand in for the
//! Paysafe JS SDK in the browser (Method completion, challenge completion).
//!
//! The issuer's truth lives in `sandbox.acs`: a finalization reads the challenge's
//! result from there and uses the browser's payload only to know which challenge it
//! is about.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Value};

use super::customervault::{self, TokenRecord};
use super::error::{FieldError, PaysafeError};
use super::fields::{self, member, req, Field, Rule};
use super::{
    authenticate, authorize, new_id, parse_card, read_form, read_json, CardSummary, SANDBOX_ACCOUNT,
};
use crate::emv::{CReq, ChallengeOutcome, ChallengeWindowSize, Eci, FormPost, Generation};
use crate::emv::{ThreeDsCompInd, ThreeDsMethodData, TransStatus};
use crate::sandbox::acs::{self, ChallengeResult, ChallengeStart};
use crate::sandbox::cards::{
    Authentication, AuthenticationValues, CardProfile, MethodBehaviour, Protocol,
};
use crate::sandbox::html;
use crate::sandbox::ledger::now_rfc3339;
use crate::sandbox::Sandbox;

/// The 3DS Method notification URL Paysafe hands the ACS (sandbox page, see docs).
pub const METHOD_COMPLETE_PATH: &str = "/threedsecure/v2/method-complete";
/// Where the ACS posts the final CRes / PaRes (sandbox page, see docs).
pub const CHALLENGE_COMPLETE_PATH: &str = "/threedsecure/v2/challenge-complete";
/// The EMV version the sandbox's directory speaks.
pub const EMV_VERSION: &str = "2.2.0";
/// The 3DS1 version of the legacy card ranges.
pub const LEGACY_VERSION: &str = "1.0.2";

/// One device-fingerprinting session, created by `/jwt`.
#[derive(Debug, Clone)]
pub struct FingerprintSession {
    pub account_id: String,
    pub card_bin: String,
    /// The 3DS Server transaction id the later AReq (and the Method) carries.
    pub three_ds_server_trans_id: String,
    /// The Method behaviour announced to the ACS, when a Method URL was handed out.
    pub method: Option<MethodBehaviour>,
    /// The authentication that consumed the session.
    pub used_by: Option<String>,
}

/// Which protocol carries the challenge of an authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeKind {
    /// EMV 2.x: CReq out, CRes back.
    Emv,
    /// 3DS 1.0.2: PaReq out, PaRes back.
    PaReq,
}

/// The challenge an authentication started at the ACS.
#[derive(Debug, Clone)]
pub struct ChallengeRef {
    pub kind: ChallengeKind,
    /// The ACS's id: acsTransID (2.x) or the XID (1.0.2).
    pub acs_trans_id: String,
    pub ds_trans_id: String,
    pub sdk_challenge_payload: String,
}

/// What the directory / issuer finally said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `threeDEnrollment`: Y or N.
    pub enrolled: bool,
    /// `threeDResult`; `None` for a 3DS1 card that is not enrolled.
    pub result: Option<TransStatus>,
    pub eci: Option<Eci>,
    pub cavv: Option<String>,
    pub ds_trans_id: Option<String>,
    pub xid: Option<String>,
    pub signature_status: Option<&'static str>,
    /// The cardholder cancelled the challenge (the RReq's challengeCancel 01), shown as
    /// `challengeCancel` (a sandbox addition, see docs).
    pub challenge_cancelled: bool,
}

/// Where an authentication is.
#[derive(Debug, Clone)]
pub enum AuthenticationState {
    /// Waiting for the cardholder at the ACS (`status: PENDING`).
    Pending,
    /// Final (`status: COMPLETED`).
    Completed(Outcome),
}

/// One authentication as Paysafe keeps it.
#[derive(Debug, Clone)]
pub struct AuthenticationRecord {
    pub id: String,
    pub account_id: String,
    pub merchant_ref_num: String,
    pub txn_time: String,
    pub amount: i64,
    pub currency: String,
    pub card: CardSummary,
    pub merchant_url: String,
    pub device_fingerprinting_id: String,
    pub three_ds_server_trans_id: String,
    pub version: &'static str,
    /// How the 3DS Method went before the AReq (kept for the AReq; not in the response).
    pub comp_ind: ThreeDsCompInd,
    pub challenge: Option<ChallengeRef>,
    pub state: AuthenticationState,
    /// The request's `requestorChallengePreference`, echoed as Paysafe's `threeDS` schema
    /// lists it in the answer too. The issuer's decision stays the card's: EMV lets an ACS
    /// challenge whatever the requestor preferred (`NO_CHALLENGE_REQUESTED` included).
    pub requestor_challenge_preference: Option<String>,
}

impl AuthenticationRecord {
    /// Every transaction id it names: its challenge's and its outcome's.
    pub fn transaction_ids(&self) -> impl Iterator<Item = &str> {
        let challenge = self
            .challenge
            .iter()
            .flat_map(|c| [c.acs_trans_id.as_str(), c.ds_trans_id.as_str()]);
        let outcome = match &self.state {
            AuthenticationState::Completed(outcome) => {
                [outcome.ds_trans_id.as_deref(), outcome.xid.as_deref()]
            }
            AuthenticationState::Pending => [None, None],
        };
        challenge.chain(outcome.into_iter().flatten())
    }

    /// The response body (`GET`, create, finalize).
    pub fn json(&self, sandbox: &Sandbox) -> Value {
        let mut body = json!({
            "id": self.id,
            "merchantRefNum": self.merchant_ref_num,
            "txnTime": self.txn_time,
            "amount": self.amount,
            "currency": self.currency,
            "deviceFingerprintingId": self.device_fingerprinting_id,
            "merchantUrl": self.merchant_url,
            "card": self.card.json(),
            "threeDSecureVersion": self.version,
        });
        if let (Some(preference), Some(object)) =
            (&self.requestor_challenge_preference, body.as_object_mut())
        {
            object.insert("requestorChallengePreference".to_owned(), json!(preference));
        }
        let set = |body: &mut Value, name: &str, value: Value| {
            if let Some(object) = body.as_object_mut() {
                object.insert(name.to_owned(), value);
            }
        };
        if self.version == EMV_VERSION {
            set(
                &mut body,
                "threeDSecureServerTransactionId",
                json!(self.three_ds_server_trans_id),
            );
        }
        match &self.state {
            AuthenticationState::Pending => {
                set(&mut body, "status", json!("PENDING"));
                set(&mut body, "threeDEnrollment", json!("Y"));
                if let Some(challenge) = &self.challenge {
                    let acs_url = match challenge.kind {
                        ChallengeKind::Emv => {
                            set(&mut body, "threeDResult", json!("C"));
                            set(
                                &mut body,
                                "directoryServerTransactionId",
                                json!(challenge.ds_trans_id),
                            );
                            sandbox.public_url(acs::CHALLENGE_PATH)
                        }
                        ChallengeKind::PaReq => {
                            set(&mut body, "xid", json!(challenge.acs_trans_id));
                            sandbox.public_url(acs::PAREQ_PATH)
                        }
                    };
                    set(&mut body, "acsUrl", json!(acs_url));
                    set(
                        &mut body,
                        "sdkChallengePayload",
                        json!(challenge.sdk_challenge_payload),
                    );
                }
            }
            AuthenticationState::Completed(outcome) => {
                set(&mut body, "status", json!("COMPLETED"));
                let enrollment = if outcome.enrolled { "Y" } else { "N" };
                set(&mut body, "threeDEnrollment", json!(enrollment));
                if let Some(result) = outcome.result {
                    set(&mut body, "threeDResult", json!(result.as_str()));
                }
                if let Some(eci) = outcome.eci {
                    set(&mut body, "eci", json!(eci.value()));
                }
                if let Some(cavv) = &outcome.cavv {
                    set(&mut body, "cavv", json!(cavv));
                }
                if let Some(ds) = &outcome.ds_trans_id {
                    set(&mut body, "directoryServerTransactionId", json!(ds));
                }
                if let Some(xid) = &outcome.xid {
                    set(&mut body, "xid", json!(xid));
                }
                if let Some(status) = outcome.signature_status {
                    set(&mut body, "signatureStatus", json!(status));
                }
                if outcome.challenge_cancelled {
                    set(&mut body, "challengeCancel", json!("01"));
                }
            }
        }
        body
    }
}

/// `GET /threedsecure/monitor`.
pub async fn monitor() -> Json<Value> {
    Json(json!({"status": "READY"}))
}

const JWT_REQUEST: &[Field] = &[
    req(
        "card",
        Rule::Object(&[
            req("cardBin", Rule::Text { min: 6, max: 8 }),
            fields::opt("cardNum", Rule::Text { min: 8, max: 20 }),
        ]),
    ),
    fields::opt(
        "sdk",
        Rule::Object(&[
            fields::opt("type", fields::text(20)),
            fields::opt("version", fields::text(20)),
        ]),
    ),
];

/// `POST /threedsecure/v2/jwt`: opens a device-fingerprinting session.
pub async fn jwt(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, PaysafeError> {
    authenticate(&headers)?;
    let mut body = read_json(body).await?;
    if customervault::token_of(&body).is_some() {
        // Sandbox extension: the token stands for the card, so its number (in the
        // emulator's memory) picks the Method behaviour; cardBin may be left out.
        let given_bin = member(member(Some(&body), "card"), "cardBin").cloned();
        if let Some(token) = customervault::expand(&sandbox, &mut body)? {
            usable(&token)?;
            if let Some(card) = body.get_mut("card").and_then(Value::as_object_mut) {
                card.insert(
                    "cardBin".into(),
                    given_bin.unwrap_or_else(|| json!(token.card.bin)),
                );
            }
        }
    }
    let mut errors = Vec::new();
    fields::check(JWT_REQUEST, &body, "", &mut errors);
    let account = match member(Some(&body), "accountId") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            errors.push(FieldError::new("accountId", "must be a string"));
            None
        }
        None => {
            errors.push(FieldError::new("accountId", "may not be null"));
            None
        }
    };
    let card = member(Some(&body), "card");
    let bin = member(card, "cardBin")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if !bin.is_empty() && !bin.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(FieldError::new("card.cardBin", "must be digits"));
    }
    if !errors.is_empty() {
        return Err(PaysafeError::fields(errors));
    }
    let account = account.unwrap_or_default();
    if account != SANDBOX_ACCOUNT {
        return Err(PaysafeError::no_permission());
    }
    // Sandbox extension: the whole number picks the card range's Method behaviour.
    let method = match member(card, "cardNum").and_then(Value::as_str) {
        Some(number) => {
            let pan = crate::emv::Pan::parse(number).map_err(|_| PaysafeError::invalid_card())?;
            if !pan.expose().starts_with(&bin) {
                return Err(PaysafeError::field(
                    "card.cardNum",
                    "does not start with card.cardBin",
                ));
            }
            match CardProfile::of(&pan).method {
                MethodBehaviour::NoMethod => None,
                behaviour => Some(behaviour),
            }
        }
        None => None,
    };
    let sdk = member(Some(&body), "sdk")
        .cloned()
        .unwrap_or_else(|| json!({"type": "BROWSER", "version": "1.0.0"}));

    let id = new_id();
    let fingerprint_id = new_id();
    let three_ds_server_trans_id = new_id();
    let mut response = json!({
        "id": id,
        "deviceFingerprintingId": fingerprint_id,
        "accountId": account,
        "jwt": session_jwt(&id, &fingerprint_id, &account, &three_ds_server_trans_id),
        "card": {"cardBin": bin},
        "sdk": sdk,
    });
    if let Some(behaviour) = method {
        sandbox
            .acs
            .expect_method(&three_ds_server_trans_id, behaviour);
        let data = ThreeDsMethodData {
            three_ds_server_trans_id: three_ds_server_trans_id.clone(),
            notification_url: Some(
                sandbox.public_url(&format!("{}{METHOD_COMPLETE_PATH}", super::PREFIX)),
            ),
        };
        if let Some(object) = response.as_object_mut() {
            object.insert(
                "methodUrl".into(),
                json!(sandbox.public_url(acs::METHOD_PATH)),
            );
            object.insert("threeDSMethodData".into(), json!(data.to_base64url()));
        }
    }
    let session = FingerprintSession {
        account_id: account,
        card_bin: bin,
        three_ds_server_trans_id,
        method,
        used_by: None,
    };
    sandbox
        .paysafe
        .lock()
        .sessions
        .insert(fingerprint_id, session);
    Ok(Json(response))
}

/// A token an authentication (or a fingerprinting session) may read: alive and not yet
/// consumed by an authorization.
fn usable(token: &TokenRecord) -> Result<(), PaysafeError> {
    if token.used_by.is_some() {
        Err(customervault::bad_token(
            "the single-use token has been used",
        ))
    } else if !token.is_alive() {
        Err(customervault::bad_token("the single-use token has expired"))
    } else {
        Ok(())
    }
}

/// The session JWT the Paysafe JS SDK hands to Cardinal: HS256 over the session's ids,
/// signed with a sandbox key (nobody verifies it; it is opaque to the merchant).
fn session_jwt(id: &str, fingerprint_id: &str, account: &str, trans_id: &str) -> String {
    use hmac::Mac;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims = json!({
        "jti": id,
        "iat": time::OffsetDateTime::now_utc().unix_timestamp(),
        "iss": "paysafe-sandbox",
        "OrgUnitId": account,
        "ReferenceId": fingerprint_id,
        "Payload": {"threeDSServerTransID": trans_id},
    });
    let payload = b64(claims.to_string().as_bytes());
    let signing_input = format!("{header}.{payload}");
    let signature = match hmac::Hmac::<sha2::Sha256>::new_from_slice(b"paysafe-sandbox-jwt") {
        Ok(mut mac) => {
            mac.update(signing_input.as_bytes());
            b64(&mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{signing_input}.{signature}")
}

/// `POST /threedsecure/v2/accounts/{account}/authentications`.
pub async fn create_authentication(
    State(sandbox): State<Sandbox>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, PaysafeError> {
    authorize(&headers, &account)?;
    let mut body = read_json(body).await?;
    if let Some(token) = customervault::expand(&sandbox, &mut body)? {
        usable(&token)?;
    }
    let mut errors = Vec::new();
    fields::check(fields::AUTHENTICATION_REQUEST, &body, "", &mut errors);
    fields::check_conditions(&body, &mut errors);
    if !errors.is_empty() {
        return Err(PaysafeError::fields(errors));
    }
    let (pan, card) = parse_card(&body)?;
    let text = |name: &str| {
        member(Some(&body), name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let merchant_ref_num = text("merchantRefNum");
    let fingerprint_id = text("deviceFingerprintingId");

    let mut store = sandbox.paysafe.lock();
    if let Some(existing) = store.authentication_with_ref(&account, &merchant_ref_num) {
        return Err(PaysafeError::duplicate(&existing.id));
    }
    let session = unused_session(&store.sessions, &account, &fingerprint_id, pan.expose())?;
    let trans_id = session.three_ds_server_trans_id.clone();
    let comp_ind = match session.method {
        Some(_) if sandbox.acs.method_completed(&trans_id) => ThreeDsCompInd::Y,
        Some(_) => ThreeDsCompInd::N,
        None => ThreeDsCompInd::U,
    };
    let request = IssuerRequest {
        id: new_id(),
        account,
        trans_id,
        merchant_name: Some(text("merchantName"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Sandbox Merchant".to_owned()),
        amount: member(Some(&body), "amount")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        currency: text("currency"),
        card,
    };
    let (version, challenge, state) = request.decide(&sandbox, &CardProfile::of(&pan));
    let id = request.id.clone();
    let record = AuthenticationRecord {
        id: request.id,
        account_id: request.account,
        merchant_ref_num,
        txn_time: now_rfc3339(),
        amount: request.amount,
        currency: request.currency,
        card: request.card,
        merchant_url: text("merchantUrl"),
        device_fingerprinting_id: fingerprint_id.clone(),
        three_ds_server_trans_id: request.trans_id,
        version,
        comp_ind,
        challenge,
        state,
        requestor_challenge_preference: Some(text("requestorChallengePreference"))
            .filter(|p| !p.is_empty()),
    };
    let response = record.json(&sandbox);
    if let Some(session) = store.sessions.get_mut(&fingerprint_id) {
        session.used_by = Some(id.clone());
    }
    store.add_authentication(record);
    Ok(Json(response))
}

/// The device-fingerprinting session an authentication names: this account's, not yet
/// used, and for this card's BIN.
fn unused_session(
    sessions: &std::collections::HashMap<String, FingerprintSession>,
    account: &str,
    fingerprint_id: &str,
    pan: &str,
) -> Result<FingerprintSession, PaysafeError> {
    let session = match sessions.get(fingerprint_id) {
        Some(s) if s.account_id == account => s.clone(),
        _ => {
            return Err(PaysafeError::field(
                "deviceFingerprintingId",
                "no device fingerprinting session with this id",
            ))
        }
    };
    if let Some(used_by) = &session.used_by {
        return Err(PaysafeError::field(
            "deviceFingerprintingId",
            &format!("already used by authentication {used_by}"),
        ));
    }
    if !pan.starts_with(&session.card_bin) {
        return Err(PaysafeError::field(
            "card.cardNum",
            "does not match the card BIN of the device fingerprinting session",
        ));
    }
    Ok(session)
}

/// What the directory and the issuer's ACS are asked about one authentication.
struct IssuerRequest {
    id: String,
    account: String,
    trans_id: String,
    merchant_name: String,
    amount: i64,
    currency: String,
    card: CardSummary,
}

impl IssuerRequest {
    /// The protocol version, the challenge started at the ACS (if any), and where the
    /// authentication stands, as the card's profile decides.
    fn decide(
        &self,
        sandbox: &Sandbox,
        profile: &CardProfile,
    ) -> (&'static str, Option<ChallengeRef>, AuthenticationState) {
        match (profile.protocol, profile.authentication) {
            (Protocol::Legacy { enrolled: false }, _) => (
                LEGACY_VERSION,
                None,
                AuthenticationState::Completed(Outcome {
                    enrolled: false,
                    result: None,
                    eci: Eci::for_outcome(self.card.brand, TransStatus::N),
                    cavv: None,
                    ds_trans_id: None,
                    xid: None,
                    signature_status: None,
                    challenge_cancelled: false,
                }),
            ),
            (Protocol::Legacy { enrolled: true }, _) => {
                let transaction = sandbox.acs.start_challenge(self.challenge_start(
                    sandbox,
                    Generation::Legacy,
                    LEGACY_VERSION,
                ));
                let pa_req = acs::encode_pareq(&transaction);
                let challenge = ChallengeRef {
                    kind: ChallengeKind::PaReq,
                    sdk_challenge_payload: self.sdk_payload(&transaction.acs_trans_id, pa_req),
                    acs_trans_id: transaction.acs_trans_id,
                    ds_trans_id: transaction.ds_trans_id,
                };
                (
                    LEGACY_VERSION,
                    Some(challenge),
                    AuthenticationState::Pending,
                )
            }
            (Protocol::Emv, Authentication::Challenge) => {
                let transaction = sandbox.acs.start_challenge(self.challenge_start(
                    sandbox,
                    Generation::Emv,
                    EMV_VERSION,
                ));
                let creq = CReq::new(
                    self.trans_id.clone(),
                    transaction.acs_trans_id.clone(),
                    EMV_VERSION.to_owned(),
                    ChallengeWindowSize::W390xH400,
                );
                let challenge = ChallengeRef {
                    kind: ChallengeKind::Emv,
                    sdk_challenge_payload: self
                        .sdk_payload(&transaction.acs_trans_id, creq.to_base64url()),
                    acs_trans_id: transaction.acs_trans_id,
                    ds_trans_id: transaction.ds_trans_id,
                };
                (EMV_VERSION, Some(challenge), AuthenticationState::Pending)
            }
            (Protocol::Emv, Authentication::Frictionless(status)) => {
                let values =
                    AuthenticationValues::for_status(self.card.brand, status, &self.trans_id);
                (
                    EMV_VERSION,
                    None,
                    AuthenticationState::Completed(emv_outcome(self.card.brand, &values, new_id())),
                )
            }
        }
    }

    fn challenge_start(
        &self,
        sandbox: &Sandbox,
        generation: Generation,
        version: &str,
    ) -> ChallengeStart {
        ChallengeStart {
            brand: self.card.brand,
            generation,
            message_version: version.to_owned(),
            three_ds_server_trans_id: self.trans_id.clone(),
            notification_url: sandbox
                .public_url(&format!("{}{CHALLENGE_COMPLETE_PATH}", super::PREFIX)),
            merchant_name: self.merchant_name.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            masked_card: self.card.masked.clone(),
        }
    }

    /// Paysafe's `sdkChallengePayload`: base64 of the ids and the CReq or PaReq.
    fn sdk_payload(&self, transaction_id: &str, payload: String) -> String {
        let inner = json!({
            "id": self.id,
            "transactionId": transaction_id,
            "payload": payload,
            "accountId": self.account,
        });
        base64::engine::general_purpose::STANDARD.encode(inner.to_string())
    }
}

/// The outcome of a final 2.x status: ECI also for N/U/R (what the scheme assigns).
fn emv_outcome(
    brand: crate::emv::CardBrand,
    values: &AuthenticationValues,
    ds_trans_id: String,
) -> Outcome {
    Outcome {
        enrolled: true,
        result: Some(values.trans_status),
        eci: values
            .eci
            .or_else(|| Eci::for_outcome(brand, values.trans_status)),
        cavv: values.cavv.clone(),
        ds_trans_id: Some(ds_trans_id),
        xid: None,
        signature_status: None,
        challenge_cancelled: false,
    }
}

/// The account's authentication `id`, or 5269.
fn find<'a>(
    store: &'a mut super::Store,
    account: &str,
    id: &str,
) -> Result<&'a mut AuthenticationRecord, PaysafeError> {
    store
        .authentications
        .get_mut(id)
        .filter(|a| a.account_id == account)
        .ok_or_else(PaysafeError::not_found)
}

/// `GET /threedsecure/v2/accounts/{account}/authentications/{id}`.
pub async fn get_authentication(
    State(sandbox): State<Sandbox>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, PaysafeError> {
    authorize(&headers, &account)?;
    let mut store = sandbox.paysafe.lock();
    let record = find(&mut store, &account, &id)?;
    Ok(Json(record.json(&sandbox)))
}

/// The ACS id a browser payload names: the CRes's acsTransID or the PaRes's XID.
fn payload_transaction(kind: ChallengeKind, payload: &str) -> Result<String, PaysafeError> {
    match kind {
        ChallengeKind::Emv => match ChallengeOutcome::from_base64url(payload) {
            Ok(ChallengeOutcome::Completed(cres)) => Ok(cres.acs_trans_id),
            Ok(ChallengeOutcome::Failed(_)) => Err(PaysafeError::field(
                "payload",
                "an Erro message names no transaction",
            )),
            Err(_) => Err(PaysafeError::field("payload", "not a CRes")),
        },
        ChallengeKind::PaReq => acs::decode_pares(payload)
            .map(|claim| claim.xid)
            .ok_or_else(|| PaysafeError::field("payload", "not a PaRes")),
    }
}

/// `POST .../authentications/{id}/finalize` with `{"payload": cres | PaRes}`.
pub async fn finalize(
    State(sandbox): State<Sandbox>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, PaysafeError> {
    authorize(&headers, &account)?;
    let body = read_json(body).await?;
    let payload = match member(Some(&body), "payload") {
        Some(Value::String(p)) if !p.is_empty() && p.len() <= 16 * 1024 => p.clone(),
        Some(Value::String(_)) => {
            return Err(PaysafeError::field(
                "payload",
                "length must be between 1 and 16384",
            ))
        }
        Some(_) => return Err(PaysafeError::field("payload", "must be a string")),
        None => return Err(PaysafeError::field("payload", "may not be null")),
    };
    let mut store = sandbox.paysafe.lock();
    let record = find(&mut store, &account, &id)?;
    let Some(challenge) = record.challenge.clone() else {
        return Err(PaysafeError::field(
            "payload",
            "this authentication was not challenged: there is nothing to finalize",
        ));
    };
    let named = payload_transaction(challenge.kind, &payload)?;
    if named != challenge.acs_trans_id {
        return Err(PaysafeError::field(
            "payload",
            "the payload belongs to another transaction",
        ));
    }
    if let AuthenticationState::Pending = record.state {
        let Some(result) = sandbox.acs.outcome(&challenge.acs_trans_id) else {
            return Err(PaysafeError::field(
                "payload",
                "the challenge has not been completed by the cardholder",
            ));
        };
        record.state = AuthenticationState::Completed(challenge_outcome(
            record.card.brand,
            &challenge,
            &result,
        ));
    }
    Ok(Json(record.json(&sandbox)))
}

fn challenge_outcome(
    brand: crate::emv::CardBrand,
    challenge: &ChallengeRef,
    result: &ChallengeResult,
) -> Outcome {
    match challenge.kind {
        ChallengeKind::Emv => Outcome {
            challenge_cancelled: result.cancelled,
            ..emv_outcome(brand, &result.values, challenge.ds_trans_id.clone())
        },
        ChallengeKind::PaReq => {
            let status = result.values.trans_status;
            Outcome {
                enrolled: true,
                result: Some(status),
                eci: result
                    .values
                    .eci
                    .or_else(|| Eci::for_outcome(brand, status)),
                cavv: result.values.cavv.clone(),
                ds_trans_id: None,
                xid: Some(challenge.acs_trans_id.clone()),
                signature_status: Some("Y"),
                challenge_cancelled: result.cancelled,
            }
        }
    }
}

/// `POST /threedsecure/v2/method-complete`: the ACS's Method page posts here (in the
/// hidden iframe); the ACS itself records the completion.
pub async fn method_complete() -> impl IntoResponse {
    html::page(
        "3DS Method complete",
        "<p id=\"method-complete\">3DS Method complete.</p>",
    )
}

/// `POST /threedsecure/v2/challenge-complete`: the ACS posts the final `cres` (2.x) or
/// `PaRes`+`MD` (1.0.2) here; the page carries the browser on to the authentication's
/// `merchantUrl` with `authenticationId` and `payload` (what finalize takes).
pub async fn challenge_complete(State(sandbox): State<Sandbox>, body: Body) -> Response {
    let bad = |message: &str| {
        (
            StatusCode::BAD_REQUEST,
            html::page(
                "Paysafe 3-D Secure",
                &format!("<p id=\"error\">{}</p>", html::escape(message)),
            ),
        )
            .into_response()
    };
    let Some(form) = read_form(body).await else {
        return bad("The request could not be read.");
    };
    let (kind, payload) = match (form.get("cres"), form.get("PaRes")) {
        (Some(cres), _) => (ChallengeKind::Emv, cres.clone()),
        (None, Some(pa_res)) => (ChallengeKind::PaReq, pa_res.clone()),
        (None, None) => return bad("No cres or PaRes was posted."),
    };
    let Ok(named) = payload_transaction(kind, &payload) else {
        return bad("The authentication result could not be read.");
    };
    let store = sandbox.paysafe.lock();
    let waiting = store.authentication_of_transaction(&named).filter(|a| {
        a.challenge
            .as_ref()
            .is_some_and(|c| c.kind == kind && c.acs_trans_id == named)
    });
    let Some(record) = waiting else {
        return bad("No authentication is waiting for this challenge.");
    };
    let mut form_post = FormPost::post(
        record.merchant_url.clone(),
        [
            ("authenticationId", record.id.clone()),
            ("payload", payload),
        ],
    );
    for name in ["threeDSSessionData", "MD"] {
        if let Some(value) = form.get(name) {
            form_post.fields.push(crate::emv::FormField {
                name: name.to_owned(),
                value: value.clone(),
            });
        }
    }
    html::auto_submit_page("Paysafe 3-D Secure", &form_post).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emv::CardBrand;

    fn challenged(kind: ChallengeKind, reference: &str) -> AuthenticationRecord {
        AuthenticationRecord {
            id: format!("authentication-{reference}"),
            account_id: SANDBOX_ACCOUNT.to_owned(),
            merchant_ref_num: reference.to_owned(),
            txn_time: "2026-12-03T00:00:00Z".to_owned(),
            amount: 1099,
            currency: "USD".to_owned(),
            card: CardSummary {
                brand: CardBrand::Visa,
                bin: "400000".to_owned(),
                last_digits: "1091".to_owned(),
                masked: "400000******1091".to_owned(),
                month: 12,
                year: 2040,
            },
            merchant_url: "https://shop.test/return".to_owned(),
            device_fingerprinting_id: format!("fingerprint-{reference}"),
            three_ds_server_trans_id: format!("server-{reference}"),
            version: EMV_VERSION,
            comp_ind: ThreeDsCompInd::U,
            challenge: Some(ChallengeRef {
                kind,
                acs_trans_id: format!("acs-{reference}"),
                ds_trans_id: format!("ds-{reference}"),
                sdk_challenge_payload: String::new(),
            }),
            state: AuthenticationState::Pending,
            requestor_challenge_preference: None,
        }
    }

    fn completed(record: &mut AuthenticationRecord) {
        let result = ChallengeResult {
            values: AuthenticationValues {
                trans_status: TransStatus::Y,
                eci: None,
                cavv: None,
            },
            cancelled: false,
        };
        let challenge = record.challenge.clone().expect("a challenged record");
        record.state = AuthenticationState::Completed(challenge_outcome(
            record.card.brand,
            &challenge,
            &result,
        ));
    }

    /// The store indexes an authentication by the transaction ids it names when it is
    /// added; finishing its challenge must name no new one, or an authorization quoting
    /// the outcome's directory id or XID would not find it.
    #[test]
    fn completing_a_challenge_names_no_new_transaction_id() {
        for kind in [ChallengeKind::Emv, ChallengeKind::PaReq] {
            let mut record = challenged(kind, "one");
            let pending: Vec<String> = record.transaction_ids().map(str::to_owned).collect();
            completed(&mut record);
            let AuthenticationState::Completed(outcome) = &record.state else {
                panic!("completed");
            };
            let quoted = outcome.ds_trans_id.as_ref().or(outcome.xid.as_ref());
            assert!(
                quoted.is_some(),
                "{kind:?}: the outcome names a transaction"
            );
            for id in record.transaction_ids() {
                assert!(pending.iter().any(|p| p == id), "{kind:?}: {id} is new");
            }
        }
    }

    #[test]
    fn the_store_finds_authentications_by_reference_and_by_each_transaction_id() {
        let mut store = super::super::Store::default();
        store.add_authentication(challenged(ChallengeKind::Emv, "a"));
        store.add_authentication(challenged(ChallengeKind::PaReq, "b"));
        let account = SANDBOX_ACCOUNT;
        let found = |id: Option<&AuthenticationRecord>| id.map(|a| a.id.clone());
        assert_eq!(
            found(store.authentication_with_ref(account, "a")),
            Some("authentication-a".to_owned())
        );
        assert_eq!(found(store.authentication_with_ref("1234", "a")), None);
        assert_eq!(found(store.authentication_with_ref(account, "c")), None);
        for (transaction, owner) in [("acs-a", "a"), ("ds-a", "a"), ("acs-b", "b"), ("ds-b", "b")] {
            assert_eq!(
                found(store.authentication_of_transaction(transaction)),
                Some(format!("authentication-{owner}"))
            );
        }
        assert_eq!(found(store.authentication_of_transaction("acs-c")), None);
    }
}

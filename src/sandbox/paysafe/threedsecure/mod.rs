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

mod issuer;
mod record;

use issuer::{challenge_outcome, IssuerRequest};
pub use record::{
    AuthenticationRecord, AuthenticationState, ChallengeKind, ChallengeRef, FingerprintSession,
    Outcome,
};

/// The 3DS Method notification URL Paysafe hands the ACS (sandbox page, see docs).
pub const METHOD_COMPLETE_PATH: &str = "/threedsecure/v2/method-complete";
/// Where the ACS posts the final CRes / PaRes (sandbox page, see docs).
pub const CHALLENGE_COMPLETE_PATH: &str = "/threedsecure/v2/challenge-complete";
/// The EMV version the sandbox's directory speaks.
pub const EMV_VERSION: &str = "2.2.0";
/// The 3DS1 version of the legacy card ranges.
pub const LEGACY_VERSION: &str = "1.0.2";

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
        // emulator's memory) picks the Method behaviour. The BIN is still the caller's
        // to give, as Paysafe's documented body has it (a missing one is refused below).
        let given_bin = member(member(Some(&body), "card"), "cardBin").cloned();
        if let Some(token) = customervault::expand(&sandbox, &mut body)? {
            usable(&token)?;
            let card = body.get_mut("card").and_then(Value::as_object_mut);
            if let (Some(card), Some(bin)) = (card, given_bin) {
                card.insert("cardBin".into(), bin);
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

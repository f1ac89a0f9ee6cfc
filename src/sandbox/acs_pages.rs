//! The issuer's pages, as the cardholder's browser sees them: the 3DS Method page, the
//! 2.x challenge page (CReq in, CRes out), the 3DS 1.0.2 page (PaReq in, PaRes out) and
//! the script that submits the auto-submit forms.
//!
//! This file owns the HTTP edge of the ACS: it parses what the browser posts into types,
//! refuses anything wrong with a 400 page that says what is wrong (changing nothing),
//! and leaves the transactions themselves to [`super::acs::AcsDirectory`].
//! Pages carry no inline script or style (the strict CSP below forbids both).

use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::{Deserialize, Serialize};

use super::acs::{
    decode_pareq_xid, encode_pares, AcsTransaction, ChallengeState, CHALLENGE_PATH, METHOD_PATH,
    PAREQ_PATH,
};
use super::cards::MethodBehaviour;
use super::html::{self, escape, AUTOSUBMIT_SCRIPT, AUTOSUBMIT_SCRIPT_PATH};
use super::Sandbox;
use crate::emv::challenge::ThreeDsSessionData;
use crate::emv::{base64url, CReq, FormPost, Generation, ThreeDsMethodData};

/// Where the 2.x challenge form posts the cardholder's answer.
pub const CHALLENGE_ANSWER_PATH: &str = "/acs/challenge/answer";
/// Where the 1.0.2 challenge form posts the cardholder's answer.
pub const PAREQ_ANSWER_PATH: &str = "/acs/pareq/answer";

/// The largest form the ACS reads; a creq or PaReq is well under 4 KiB.
const MAX_FORM_BYTES: usize = 64 * 1024;
/// `MD` is opaque to the ACS, but it is echoed into a page: keep it bounded.
const MAX_MD_BYTES: usize = 4096;

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(METHOD_PATH, post(method_page))
        .route(CHALLENGE_PATH, post(challenge_page))
        .route(CHALLENGE_ANSWER_PATH, post(challenge_answer))
        .route(PAREQ_PATH, post(pareq_page))
        .route(PAREQ_ANSWER_PATH, post(pareq_answer))
        .route(AUTOSUBMIT_SCRIPT_PATH, get(autosubmit_script))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

// ---------------------------------------------------------------------------------------
// What the browser posts, as received.

#[derive(Debug, Deserialize)]
struct MethodForm {
    #[serde(rename = "threeDSMethodData")]
    method_data: String,
}

#[derive(Debug, Deserialize)]
struct ChallengeForm {
    creq: String,
    #[serde(rename = "threeDSSessionData")]
    session_data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChallengeAnswerForm {
    #[serde(rename = "acsTransID")]
    acs_trans_id: String,
    #[serde(default)]
    otp: String,
    /// Absent when the form is submitted without a button (implicit submission through
    /// a script); that is a submit.
    #[serde(default)]
    action: AnswerAction,
    #[serde(rename = "threeDSSessionData")]
    session_data: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PaReqPostForm {
    #[serde(rename = "PaReq")]
    pa_req: String,
    #[serde(rename = "MD", default)]
    md: String,
    /// Required by 3DS 1.0.2; the PaRes goes to the URL the provider registered with the
    /// transaction, which is the same TermUrl in every provider's flow.
    #[serde(rename = "TermUrl")]
    term_url: String,
}

#[derive(Debug, Deserialize)]
struct PaReqAnswerForm {
    xid: String,
    #[serde(rename = "MD", default)]
    md: String,
    #[serde(default)]
    otp: String,
    #[serde(default)]
    action: AnswerAction,
}

/// Which button ended the challenge page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AnswerAction {
    #[default]
    Submit,
    Cancel,
}

impl AnswerAction {
    /// The code the ACS judges, `None` for a cancelled challenge.
    fn code(self, otp: &str) -> Option<&str> {
        match self {
            AnswerAction::Submit => Some(otp.trim()),
            AnswerAction::Cancel => None,
        }
    }
}

/// The final CRes of a browser challenge ([EMV] Table A.1, browser members only).
#[derive(Debug, Serialize)]
struct CResMessage<'a> {
    #[serde(rename = "threeDSServerTransID")]
    three_ds_server_trans_id: &'a str,
    #[serde(rename = "acsTransID")]
    acs_trans_id: &'a str,
    #[serde(rename = "challengeCompletionInd")]
    challenge_completion_ind: &'static str,
    #[serde(rename = "messageType")]
    message_type: &'static str,
    #[serde(rename = "messageVersion")]
    message_version: &'a str,
    #[serde(rename = "transStatus")]
    trans_status: &'static str,
}

/// What the Method page posts back to the 3DS Server: the transaction id only.
#[derive(Debug, Serialize)]
struct MethodCompletion<'a> {
    #[serde(rename = "threeDSServerTransID")]
    three_ds_server_trans_id: &'a str,
}

// ---------------------------------------------------------------------------------------
// Why a request is refused.

/// Everything the ACS refuses, each answered with a 400 page (413 for an oversize form).
#[derive(Debug, thiserror::Error)]
enum AcsError {
    #[error("The form could not be read: {0}")]
    BadForm(String),
    #[error("The form is larger than the ACS accepts.")]
    TooLarge,
    #[error("threeDSMethodData is not valid: {0}")]
    BadMethodData(crate::emv::EmvError),
    #[error(
        "threeDSMethodData has no threeDSMethodNotificationURL (or it is not an http(s) URL)."
    )]
    NoMethodNotificationUrl,
    #[error("No 3DS Method is expected for threeDSServerTransID {0:?}.")]
    NoMethodExpected(String),
    #[error("creq is not a valid CReq: {0}")]
    BadCreq(crate::emv::EmvError),
    #[error("threeDSSessionData must be base64url of at most 1024 characters.")]
    BadSessionData,
    #[error("No challenge is known for acsTransID {0:?}.")]
    UnknownChallenge(String),
    #[error("The CReq's threeDSServerTransID does not match challenge {0:?}.")]
    ServerTransIdMismatch(String),
    #[error("Challenge {0:?} is a 3DS 1.0.2 transaction; it is reached with a PaReq.")]
    NotEmv(String),
    #[error("PaReq is not a valid PaReq (base64 of deflated PAReq XML with an xid).")]
    BadPaReq,
    #[error("TermUrl is missing.")]
    NoTermUrl,
    #[error("MD is longer than {MAX_MD_BYTES} characters.")]
    MdTooLong,
    #[error("No 3DS 1.0.2 transaction is known for XID {0:?}.")]
    UnknownXid(String),
    #[error("Transaction {0:?} is a 3DS 2 challenge; it is reached with a CReq.")]
    NotLegacy(String),
    #[error("Challenge {0:?} has already ended; an answer is accepted once.")]
    NotPending(String),
}

impl From<FormRejection> for AcsError {
    fn from(rejection: FormRejection) -> AcsError {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AcsError::TooLarge
        } else {
            AcsError::BadForm(rejection.body_text())
        }
    }
}

impl IntoResponse for AcsError {
    fn into_response(self) -> Response {
        let status = match self {
            AcsError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = format!(
            "<h1>The issuer cannot continue</h1><p id=\"error\">{}</p>",
            escape(&self.to_string())
        );
        page_response(status, html::page("Authentication error", &body))
    }
}

type PageResult = Result<Response, AcsError>;

// ---------------------------------------------------------------------------------------
// Handlers.

/// `POST /acs/method`: the 3DS Method page in its hidden iframe.
async fn method_page(
    State(sandbox): State<Sandbox>,
    form: Result<Form<MethodForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form?;
    let data =
        ThreeDsMethodData::from_base64url(&form.method_data).map_err(AcsError::BadMethodData)?;
    let notification_url = data
        .notification_url
        .as_deref()
        .filter(|url| is_http_url(url))
        .ok_or(AcsError::NoMethodNotificationUrl)?;
    let id = data.three_ds_server_trans_id.as_str();
    match sandbox.acs.expected_method(id) {
        Some(MethodBehaviour::Answers) => {
            sandbox.acs.record_method(id);
            let completion = MethodCompletion {
                three_ds_server_trans_id: id,
            };
            let encoded = base64url::encode(serde_json::to_vec(&completion).unwrap_or_default());
            let form = FormPost::post(notification_url, [("threeDSMethodData", encoded)]);
            Ok(page_response(
                StatusCode::OK,
                html::auto_submit_page("3DS Method", &form),
            ))
        }
        // The fingerprinting page that never finishes: the 3DS Server's 10 s timer decides.
        Some(MethodBehaviour::NeverAnswers) => Ok(page_response(
            StatusCode::OK,
            html::page(
                "3DS Method",
                "<p id=\"method\">Collecting device information…</p>",
            ),
        )),
        Some(MethodBehaviour::NoMethod) | None => Err(AcsError::NoMethodExpected(id.to_owned())),
    }
}

/// `POST /acs/challenge`: reads the CReq and shows the one-time-code page.
async fn challenge_page(
    State(sandbox): State<Sandbox>,
    form: Result<Form<ChallengeForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form?;
    let creq = CReq::from_base64url(form.creq.trim()).map_err(AcsError::BadCreq)?;
    let session_data = form.session_data.map(session_data).transpose()?;
    let transaction = pending_emv(&sandbox, &creq.acs_trans_id)?;
    if transaction.start.three_ds_server_trans_id != creq.three_ds_server_trans_id {
        return Err(AcsError::ServerTransIdMismatch(creq.acs_trans_id));
    }
    let mut hidden = vec![("acsTransID", transaction.acs_trans_id.as_str())];
    if let Some(data) = &session_data {
        hidden.push(("threeDSSessionData", data.as_str()));
    }
    Ok(page_response(
        StatusCode::OK,
        challenge_html(&transaction, CHALLENGE_ANSWER_PATH, &hidden),
    ))
}

/// `POST /acs/challenge/answer`: judges the code and sends the CRes on.
async fn challenge_answer(
    State(sandbox): State<Sandbox>,
    form: Result<Form<ChallengeAnswerForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form?;
    let session_data = form.session_data.map(session_data).transpose()?;
    let transaction = pending_emv(&sandbox, &form.acs_trans_id)?;
    // Two answers racing past the check above get the same result: the directory ends a
    // challenge once and returns that first result to every later caller.
    let result = sandbox
        .acs
        .answer(&transaction.acs_trans_id, form.action.code(&form.otp))
        .ok_or_else(|| AcsError::UnknownChallenge(form.acs_trans_id.clone()))?;
    let cres = CResMessage {
        three_ds_server_trans_id: &transaction.start.three_ds_server_trans_id,
        acs_trans_id: &transaction.acs_trans_id,
        challenge_completion_ind: "Y",
        message_type: "CRes",
        message_version: &transaction.start.message_version,
        trans_status: final_status(&result.values.trans_status),
    };
    let mut post = FormPost::post(
        transaction.start.notification_url.clone(),
        [(
            "cres",
            base64url::encode(serde_json::to_vec(&cres).unwrap_or_default()),
        )],
    );
    if let Some(data) = session_data {
        post.fields.push(crate::emv::FormField {
            name: "threeDSSessionData".to_owned(),
            value: data,
        });
    }
    Ok(page_response(
        StatusCode::OK,
        html::auto_submit_page("Returning to the merchant", &post),
    ))
}

/// `POST /acs/pareq`: reads the PaReq's XID and shows the one-time-code page.
async fn pareq_page(
    State(sandbox): State<Sandbox>,
    form: Result<Form<PaReqPostForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form?;
    let xid = decode_pareq_xid(&form.pa_req).ok_or(AcsError::BadPaReq)?;
    if form.term_url.trim().is_empty() {
        return Err(AcsError::NoTermUrl);
    }
    let md = bounded_md(form.md)?;
    let transaction = pending_legacy(&sandbox, &xid)?;
    let hidden = [
        ("xid", transaction.acs_trans_id.as_str()),
        ("MD", md.as_str()),
    ];
    Ok(page_response(
        StatusCode::OK,
        challenge_html(&transaction, PAREQ_ANSWER_PATH, &hidden),
    ))
}

/// `POST /acs/pareq/answer`: judges the code and sends the PaRes on.
async fn pareq_answer(
    State(sandbox): State<Sandbox>,
    form: Result<Form<PaReqAnswerForm>, FormRejection>,
) -> PageResult {
    let Form(form) = form?;
    let md = bounded_md(form.md)?;
    let transaction = pending_legacy(&sandbox, &form.xid)?;
    let result = sandbox
        .acs
        .answer(&transaction.acs_trans_id, form.action.code(&form.otp))
        .ok_or_else(|| AcsError::UnknownXid(form.xid.clone()))?;
    let post = FormPost::post(
        transaction.start.notification_url.clone(),
        [("PaRes", encode_pares(&transaction, &result)), ("MD", md)],
    );
    Ok(page_response(
        StatusCode::OK,
        html::auto_submit_page("Returning to the merchant", &post),
    ))
}

/// `GET /acs/static/autosubmit.js`.
async fn autosubmit_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        AUTOSUBMIT_SCRIPT,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// The pending 2.x challenge called `acs_trans_id`.
fn pending_emv(sandbox: &Sandbox, acs_trans_id: &str) -> Result<AcsTransaction, AcsError> {
    let transaction = sandbox
        .acs
        .transaction(acs_trans_id)
        .ok_or_else(|| AcsError::UnknownChallenge(acs_trans_id.to_owned()))?;
    if transaction.start.generation != Generation::Emv {
        return Err(AcsError::NotEmv(acs_trans_id.to_owned()));
    }
    if transaction.state != ChallengeState::Pending {
        return Err(AcsError::NotPending(acs_trans_id.to_owned()));
    }
    Ok(transaction)
}

/// The pending 1.0.2 challenge whose XID is `xid`.
fn pending_legacy(sandbox: &Sandbox, xid: &str) -> Result<AcsTransaction, AcsError> {
    let transaction = sandbox
        .acs
        .transaction(xid)
        .ok_or_else(|| AcsError::UnknownXid(xid.to_owned()))?;
    if transaction.start.generation != Generation::Legacy {
        return Err(AcsError::NotLegacy(xid.to_owned()));
    }
    if transaction.state != ChallengeState::Pending {
        return Err(AcsError::NotPending(xid.to_owned()));
    }
    Ok(transaction)
}

/// A received `threeDSSessionData`, checked: base64url, at most 1024 characters. It is
/// echoed, never decoded: its content is the 3DS Requestor's.
fn session_data(value: String) -> Result<String, AcsError> {
    let valid = value.len() <= ThreeDsSessionData::MAX_BYTES
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
    valid.then_some(value).ok_or(AcsError::BadSessionData)
}

fn bounded_md(md: String) -> Result<String, AcsError> {
    if md.len() > MAX_MD_BYTES {
        Err(AcsError::MdTooLong)
    } else {
        Ok(md)
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

/// Only Y or N end a browser challenge; the directory produces nothing else here.
fn final_status(status: &crate::emv::TransStatus) -> &'static str {
    match status {
        crate::emv::TransStatus::Y => "Y",
        _ => "N",
    }
}

/// The one-time-code page: what is being paid, the code field and two buttons.
/// `#submit` comes first, so Enter in `#otp` submits; `#cancel` skips validation.
fn challenge_html(
    transaction: &AcsTransaction,
    action: &str,
    hidden: &[(&str, &str)],
) -> Html<String> {
    let start = &transaction.start;
    let mut fields = String::new();
    for (name, value) in hidden {
        fields.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        ));
    }
    let body = format!(
        "<h1>Confirm your purchase</h1>\
         <dl id=\"purchase\">\
         <dt>Merchant</dt><dd id=\"merchant\">{merchant}</dd>\
         <dt>Amount</dt><dd id=\"amount\">{amount}</dd>\
         <dt>Card</dt><dd id=\"card\">{card}</dd>\
         </dl>\
         <form id=\"challenge\" method=\"post\" action=\"{action}\">{fields}\
         <p><label for=\"otp\">One-time code sent to your phone (sandbox: 1234)</label> \
         <input id=\"otp\" name=\"otp\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" maxlength=\"16\" required autofocus></p>\
         <p><button id=\"submit\" type=\"submit\" name=\"action\" value=\"submit\">Submit</button> \
         <button id=\"cancel\" type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button></p>\
         </form>",
        merchant = escape(&start.merchant_name),
        amount = escape(&format_amount(start.amount, &start.currency)),
        card = escape(&start.masked_card),
        action = escape(action),
    );
    html::page("Purchase authentication", &body)
}

/// `1234` minor units of `USD` → `12.34 USD`, with the ISO 4217 exponent of the
/// currencies that do not use two decimals.
fn format_amount(minor: i64, currency: &str) -> String {
    let exponent = match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    };
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    if exponent == 0 {
        return format!("{sign}{magnitude} {currency}");
    }
    let scale = 10u64.pow(exponent);
    format!(
        "{sign}{}.{:0width$} {currency}",
        magnitude / scale,
        magnitude % scale,
        width = exponent as usize
    )
}

/// An HTML page with the headers every ACS page carries: no script but the sandbox's
/// own, no inline style, never cached (each page belongs to one transaction).
fn page_response(status: StatusCode, page: Html<String>) -> Response {
    let mut response = (status, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; base-uri 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_use_the_currency_exponent() {
        assert_eq!(format_amount(1234, "USD"), "12.34 USD");
        assert_eq!(format_amount(5, "EUR"), "0.05 EUR");
        assert_eq!(format_amount(1500, "JPY"), "1500 JPY");
        assert_eq!(format_amount(1234, "KWD"), "1.234 KWD");
        assert_eq!(format_amount(-250, "CAD"), "-2.50 CAD");
    }

    #[test]
    fn session_data_must_be_base64url_and_short() {
        assert!(session_data("abc-_=".to_owned()).is_ok());
        assert!(session_data("a b".to_owned()).is_err());
        assert!(session_data("a".repeat(1025)).is_err());
    }

    #[test]
    fn cancel_carries_no_code() {
        assert_eq!(AnswerAction::Cancel.code("1234"), None);
        assert_eq!(AnswerAction::Submit.code(" 1234 "), Some("1234"));
    }
}

//! The adapter's steps on canned Bambora answers and browser returns, without a network.

use super::wire::Amount;
use crate::emv::TransStatus;
use crate::order::{Currency, OrderId};
use crate::payment::PaymentMethod;
use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::emv::{
    BrowserDetails, BrowserReadings, CReq, CardBrand, ChallengeWindowSize, Eci, FormMethod,
    Generation, Pan, ServerReadings,
};
use crate::payment::{CardDetails, ChallengePreference, Cvv, DisplayMode, Payer};
use crate::provider::stored_checks::assert_reads_as_the_derive;

mod challenge;
mod create;
mod reconcile;
mod stored_states;

const PAN: &str = "4000000000001000";
const SESSION: &str = "0123456789abcdef0123456789abcdef";
const RETURN_URL: &str = "https://shop.test/v1/returns/0123456789abcdef0123456789abcdef";
/// The seed's header for the sandbox merchant, verbatim.
const SEED_AUTH: &str = "Passcode MzAwMjAwNTc4OjRCYUQ4MkQ5MTk3YjRjYzRiNzBhMjIxOTExZUU5Zjcw";
const MERCHANT_DATA: &str = "2ccd7715-9e97-4f11-9fff36e6584e3200";
const SESSION_DATA: &str = "ZjQ1ZDNhYjk0YjE0NGQ3Yjk3ZGIxYTNhZmQxMzJlYjE";

fn adapter() -> BamboraAdapter {
    BamboraAdapter::new(Config::sandbox("http://sandbox.test"))
}

fn cx() -> Context {
    Context {
        now_ms: 0,
        session_id: SESSION.into(),
        public_url: "https://shop.test".into(),
    }
}

fn browser(script: bool) -> BrowserDetails {
    let page = BrowserReadings {
        screen_width: Some(1920),
        screen_height: Some(1080),
        color_depth: Some(24),
        timezone_offset: Some(300),
        language: Some("en-CA".into()),
        languages: vec!["en-CA".into()],
        java_enabled: Some(false),
        javascript_enabled: script,
        user_agent: None,
    };
    let server = ServerReadings {
        accept_header: Some("text/html".into()),
        accept_language: Some("en-CA".into()),
        user_agent: Some("Mozilla/5.0 (test)".into()),
        ip: Some("203.0.113.7".into()),
    };
    BrowserDetails::build(&page, &server).unwrap()
}

fn payment() -> PaymentStart {
    PaymentStart {
        order_id: OrderId::parse("order-25").unwrap(),
        amount: 1599,
        currency: Currency::parse("CAD").unwrap(),
        description: None,
        method: PaymentMethod::Card(CardDetails {
            number: Pan::parse(PAN).unwrap(),
            expiry_month: 3,
            expiry_year: 2031,
            cvv: Cvv::parse("987").unwrap(),
            holder_name: "John Doe".into(),
        }),
        payer: Payer::default(),
        browser: browser(true),
        challenge: ChallengePreference::NoPreference,
        display: DisplayMode::Iframe,
        window_size: ChallengeWindowSize::W390xH400,
        external_authentication: None,
        capture_mode: crate::payment::CaptureMode::Automatic,
        exemption: None,
    }
}

fn external(version: &str, status: TransStatus) -> ExternalAuthentication {
    ExternalAuthentication {
        version: version.into(),
        trans_status: status,
        eci: Eci::new(5).unwrap(),
        cavv: "AAABAXlHEQAAAAGXAEcRAAAAAAA=".into(),
        xid: Some("MDAwMDAwMDAwMDAwMDAwMTM2ODA=".into()),
        ds_transaction_id: Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b".into()),
    }
}

fn answer(status: u16, body: Value) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    })
}

fn call(step: Step<State>) -> (State, HttpRequest) {
    match step {
        Step::Call { state, request } => (state, request),
        other => panic!("expected a call, got {other:?}"),
    }
}

fn browser_step(step: Step<State>) -> (State, BrowserAction) {
    match step {
        Step::Browser { state, action } => (state, action),
        other => panic!("expected a browser step, got {other:?}"),
    }
}

fn done(step: Step<State>) -> PaymentResult {
    match step {
        Step::Done(result) => result,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn body(request: &HttpRequest) -> Value {
    serde_json::from_str(request.body.as_deref().unwrap()).unwrap()
}

/// The doubt of a step that must be `Unknown`: its challenge, and its order.
fn in_doubt(step: Step<State>) -> (Option<Challenged>, Order) {
    match step {
        Step::Unknown {
            state: State::InDoubt { doubt },
        } => (doubt.challenge, doubt.order),
        other => panic!("expected a payment in doubt, got {other:?}"),
    }
}

fn creating() -> State {
    call(adapter().start(&payment(), &cx())).0
}

fn approved(eci: u8, status: &str, downgraded: bool) -> Value {
    json!({"id": "10000026", "authorizing_merchant_id": 300200578, "approved": "1",
           "message_id": "1", "message": "Approved", "auth_code": "TEST", "type": "P",
           "payment_method": "CC", "amount": 15.99,
           "card": {"card_type": "VI", "last_four": "1000", "card_bin": "400000", "eci": eci,
                    "cavv_result": "2"},
           "3d_secure": {"status": status, "downgraded": downgraded}, "links": []})
}

/// URL-encodes like Bambora's gateway (.NET `HttpUtility.UrlEncode`).
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => char::from(b).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02x}"),
        })
        .collect()
}

fn page(action: &str, inputs: &[(&str, &str)]) -> String {
    let mut html = format!(
        "<HTML><HEAD></HEAD><BODY><FORM action=\"{action}\" method=\"POST\" id=\"form1\" name=\"form1\">"
    );
    for (name, value) in inputs {
        html.push_str(&format!(
            "<INPUT type=\"hidden\" name=\"{name}\" value=\"{value}\">"
        ));
    }
    html.push_str(
        "</FORM><SCRIPT language=\"JavaScript\">document.form1.submit();</SCRIPT></BODY></HTML>",
    );
    url_encode(&html)
}

fn creq() -> CReq {
    CReq::new(
        "8a880dc0-d2d2-4067-bcb1-b08d1690b26e".into(),
        "d7c1ee99-9478-44a6-b1f2-391e29c6b340".into(),
        "2.2.0".into(),
        ChallengeWindowSize::W500xH600,
    )
}

fn redirect_2x() -> Value {
    let contents = page(
        "http://sandbox.test/acs/challenge",
        &[
            ("creq", &creq().to_base64url()),
            ("threeDSSessionData", SESSION_DATA),
        ],
    );
    json!({"3d_session_data": SESSION_DATA, "contents": contents,
           "links": [{"rel": "continue", "href": "x", "method": "POST"}]})
}

fn redirect_1x() -> Value {
    let contents = page(
        "https://acs.issuer.test/pareq",
        &[
            ("PaReq", "eJxVUk1v2zAMvfdXBL"),
            ("merchant_name", "Sandbox Merchant Inc."),
            ("trnAmount", "15.99"),
            ("trnEncCardNumber", "XXXX XXXX XXXX 3006"),
            ("MD", &MERCHANT_DATA.to_ascii_uppercase()),
            ("TermUrl", RETURN_URL),
        ],
    );
    json!({"merchant_data": MERCHANT_DATA, "contents": contents})
}

fn awaiting(redirect: Value) -> State {
    browser_step(adapter().on_response(creating(), answer(302, redirect), &cx())).0
}

fn returned(pairs: &[(&str, &str)]) -> BrowserReturn {
    BrowserReturn {
        fields: pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn cres(acs_trans_id: &str, status: &str) -> String {
    let creq = creq();
    crate::emv::base64url::encode(
        json!({"threeDSServerTransID": creq.three_ds_server_trans_id, "acsTransID": acs_trans_id,
               "messageType": "CRes", "messageVersion": "2.2.0", "transStatus": status,
               "challengeCompletionInd": "Y"})
        .to_string(),
    )
}

/// A continue sent for `back` from `state`, and Bambora's `answer` to it.
fn continued(
    state: State,
    back: &BrowserReturn,
    reply: Result<HttpResponse, TransportFailure>,
) -> Step<State> {
    let (state, _) = call(adapter().on_browser_return(state, back, &cx()).unwrap());
    adapter().on_response(state, reply, &cx())
}

// --- the create ---------------------------------------------------------------------

#[test]
fn approved_at_once_is_authorized_with_the_3ds_values() {
    let result = done(adapter().on_response(
        creating(),
        answer(200, approved(5, "Succeeded", false)),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("10000026"));
    assert_eq!(result.three_ds_version.as_deref(), Some("2"));
    assert_eq!(result.trans_status, Some(TransStatus::Y));
    assert_eq!(result.eci, Eci::new(5));
    assert!(result.liability_shift);
    assert!(result.error.is_none());

    // Unavailable (U, ECI 07): authorized, no shift. Downgraded: reported as 1.0.2.
    let u = done(adapter().on_response(
        creating(),
        answer(200, approved(7, "Unavailable", false)),
        &cx(),
    ));
    assert_eq!(
        (u.trans_status, u.liability_shift),
        (Some(TransStatus::U), false)
    );
    let down = done(adapter().on_response(
        creating(),
        answer(200, approved(5, "Succeeded", true)),
        &cx(),
    ));
    assert_eq!(down.three_ds_version.as_deref(), Some("1.0.2"));
    assert!(!down.liability_shift);
}

#[test]
fn approved_zero_is_declined_with_bambora_s_message() {
    let mut declined = approved(5, "Succeeded", false);
    declined["approved"] = json!("0");
    declined["message_id"] = json!(7);
    declined["message"] = json!("DECLINE");
    let result = done(adapter().on_response(creating(), answer(200, declined), &cx()));
    assert_eq!(result.status, PaymentStatus::Declined);
    assert_eq!(result.provider_payment_id.as_deref(), Some("10000026"));
    assert!(!result.liability_shift);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("7"));
    assert_eq!(error.provider_message.as_deref(), Some("DECLINE"));
}

#[test]
fn a_402_decline_keeps_the_declined_transaction_id() {
    let body = json!({"code": 7, "category": 1, "message": "DECLINE", "reference": "",
        "validation": {"id": "10000031", "approved": "0", "message_id": "7", "message": "DECLINE",
                       "auth_code": "", "trans_date": "x", "order_number": "order-25", "type": "P",
                       "amount": 15.99, "cvd_id": 1},
        "card": {"card_type": "VI", "last_four": "4004", "eci": 5}});
    let result = done(adapter().on_response(creating(), answer(402, body), &cx()));
    assert_eq!(result.status, PaymentStatus::Declined);
    assert_eq!(result.provider_payment_id.as_deref(), Some("10000031"));
    assert_eq!(result.eci, Eci::new(5));
    let error = result.error.unwrap();
    assert_eq!(
        (error.code, error.provider_code.as_deref()),
        (ResultCode::Declined, Some("7"))
    );
}

#[test]
fn a_311_is_a_failed_authentication_with_bambora_s_status() {
    let body = json!({"code": 311, "category": 1, "message": "3D Secure Failed", "reference": "",
                      "3d_secure": {"status": "Rejected", "downgraded": false,
                                    "reason_merchant": "Suspected fraud"}});
    let result = done(adapter().on_response(creating(), answer(402, body), &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.trans_status, Some(TransStatus::R));
    assert_eq!(result.provider_payment_id, None);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::AuthenticationFailed);
    assert_eq!(error.provider_code.as_deref(), Some("311"));
    assert_eq!(
        error.provider_message.as_deref(),
        Some("3D Secure Failed: Suspected fraud")
    );
}

#[test]
fn refusals_outages_and_lost_answers() {
    let refused = json!({"code": 314, "category": 3, "reference": "",
        "message": "Missing or invalid payment information - Please fix the errors below.",
        "details": [{"field": "card.number", "message": "Invalid card number"}]});
    let result = done(adapter().on_response(creating(), answer(400, refused), &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("314"));
    assert!(error
        .provider_message
        .unwrap()
        .ends_with("(card.number: Invalid card number)"));

    let not_accepted = json!({"code": 312, "category": 2, "message": "Card type not accepted"});
    let error = done(adapter().on_response(creating(), answer(402, not_accepted), &cx()))
        .error
        .unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);

    // A 5xx, a status Bambora does not send, no answer, or the process stopped during
    // the call: Bambora may have charged. Never an end, never a second create: in doubt.
    for lost in [
        answer(503, json!("busy")),
        answer(
            500,
            json!({"code": 999, "category": 4, "message": "Internal error"}),
        ),
        answer(304, json!({})),
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        // A 2xx that cannot be read (cut short, no id): Bambora had taken the request.
        raw(200, "{\"id\":"),
        raw(200, "{\"approved\":\"1\"}"),
        raw(204, ""),
    ] {
        let (challenge, order) = in_doubt(adapter().on_response(creating(), lost, &cx()));
        assert_eq!(order.order_number, "order-25");
        assert_eq!(challenge, None, "no challenge ran");
    }

    // A 302 that cannot be read sent the cardholder nowhere: nothing was charged.
    let result = done(adapter().on_response(creating(), raw(302, "{}"), &cx()));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
}

/// An answer of `status` with `text` as its body.
fn raw(status: u16, text: &str) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: Vec::new(),
        body: text.into(),
    })
}

#[test]
fn reason_names_are_the_emv_codes_in_order() {
    let code = |name| wire::trans_status_reason(name).map(|r| r.code());
    assert_eq!(code("CardAuthenticationFailed"), Some(1));
    assert_eq!(code("TransactionNotPermittedToCardholder"), Some(12));
    assert_eq!(code("ACSTechnicalIssue"), Some(22));
    assert_eq!(
        code("AuthenticationAttemptedButNotPerformedByTheCardholder"),
        Some(26)
    );
    // Scheme-specific names have no one code; case matters, as Bambora spells them.
    assert_eq!(code("DelegationForcedForCb"), None);
    assert_eq!(code("cardauthenticationfailed"), None);
    assert_eq!(code(""), None);
}

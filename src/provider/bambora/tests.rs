//! The adapter's steps on canned Bambora answers and browser returns, without a network.

use crate::order::{Currency, OrderId};
use serde::Deserialize;
use serde_json::{json, Value};

use super::*;
use crate::emv::{
    BrowserDetails, BrowserReadings, CReq, CardBrand, ChallengeWindowSize, Eci, FormMethod,
    Generation, Pan, ServerReadings,
};
use crate::payment::{CardDetails, ChallengePreference, Cvv, DisplayMode, Payer};
use crate::provider::stored_checks::assert_reads_as_the_derive;

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

// --- the create ---------------------------------------------------------------------

#[test]
fn the_create_carries_card_term_url_and_the_3ds2_browser() {
    let (state, request) = call(adapter().start(&payment(), &cx()));
    assert_eq!(request.url, "http://sandbox.test/bambora/v1/payments");
    assert_eq!(request.method, crate::provider::HttpMethod::Post);
    assert_eq!(request.purpose, "bambora.payment");
    assert!(!request.retry_safe, "no idempotency key: never resent");
    assert!(request
        .headers
        .contains(&("Authorization".into(), SEED_AUTH.into())));
    assert!(request
        .body
        .as_deref()
        .unwrap()
        .contains("\"amount\":15.99"));
    let sent = body(&request);
    assert_eq!(sent["order_number"], "order-25");
    assert_eq!(sent["payment_method"], "card");
    assert_eq!(sent["term_url"], RETURN_URL);
    assert_eq!(sent["customer_ip"], "203.0.113.7");
    let card = &sent["card"];
    assert_eq!(
        (&card["number"], &card["cvd"], &card["name"]),
        (&json!(PAN), &json!("987"), &json!("John Doe"))
    );
    assert_eq!(
        (&card["expiry_month"], &card["expiry_year"]),
        (&json!("03"), &json!("31"))
    );
    assert_eq!(card["complete"], true);
    let secure = &card["3d_secure"];
    assert_eq!(
        (
            &secure["enabled"],
            &secure["version"],
            &secure["auth_required"]
        ),
        (&json!(true), &json!(2), &json!(false))
    );
    let expected = serde_json::to_value(payment().browser.to_bambora().unwrap()).unwrap();
    assert_eq!(secure["browser"], expected);
    for key in [
        "accept_header",
        "java_enabled",
        "language",
        "color_depth",
        "screen_width",
        "screen_height",
        "time_zone",
        "user_agent",
        "javascript_enabled",
    ] {
        assert!(secure["browser"].get(key).is_some(), "{key}");
    }
    assert!(card.get("3d_secure_passthrough").is_none());
    // The stored state keeps the card's summary, never its number or CVD.
    let stored = serde_json::to_string(&state).unwrap();
    assert!(!stored.contains(PAN) && !stored.contains("987"), "{stored}");
    assert!(stored.contains("\"last_four\":\"1000\""));
}

#[test]
fn without_browser_readings_the_account_default_version_is_asked() {
    let mut start = payment();
    start.browser = browser(false);
    let (state, request) = call(adapter().start(&start, &cx()));
    let secure = &body(&request)["card"]["3d_secure"];
    assert_eq!(secure, &json!({"enabled": true, "auth_required": false}));
    let State::Creating { order } = state else {
        panic!()
    };
    assert_eq!(
        order.authentication,
        Authentication::Bambora { version: None }
    );
}

#[test]
fn auth_required_comes_from_the_config() {
    let mut config = Config::sandbox("http://sandbox.test");
    config.auth_required = true;
    let (_, request) = call(BamboraAdapter::new(config).start(&payment(), &cx()));
    assert_eq!(body(&request)["card"]["3d_secure"]["auth_required"], true);
}

#[test]
fn a_token_payment_names_the_cardholder() {
    let mut start = payment();
    start.method = PaymentMethod::Token {
        token: "gt7-0f2f20dd-777e-487e-b688-940b526172cd".into(),
    };
    let refused = done(adapter().start(&start, &cx()));
    assert_eq!(
        refused.error.unwrap().provider_code.as_deref(),
        Some("token.name")
    );

    start.payer.name = Some("John Doe".into());
    let (state, request) = call(adapter().start(&start, &cx()));
    let sent = body(&request);
    assert_eq!(sent["payment_method"], "token");
    assert!(sent.get("card").is_none());
    let token = &sent["token"];
    assert_eq!(token["code"], "gt7-0f2f20dd-777e-487e-b688-940b526172cd");
    assert_eq!(token["name"], "John Doe");
    assert_eq!(
        token["complete"], true,
        "a purchase, not the spec's default pre-auth"
    );
    assert_eq!(token["3d_secure"]["version"], 2);
    let State::Creating { order } = state else {
        panic!()
    };
    assert_eq!(order.card, None);

    start.method = PaymentMethod::Token {
        token: "has space".into(),
    };
    assert_eq!(
        done(adapter().start(&start, &cx()))
            .error
            .unwrap()
            .provider_code
            .as_deref(),
        Some("token.code")
    );
}

#[test]
fn another_currency_than_the_accounts_is_refused_before_any_call() {
    let mut start = payment();
    start.currency = Currency::parse("USD").unwrap();
    let result = done(adapter().start(&start, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("currency"));
    assert!(error.provider_message.unwrap().contains("CAD only"));
}

#[test]
fn amounts_and_order_numbers_bambora_cannot_take_are_refused() {
    let mut start = payment();
    start.amount = wire::MAX_AMOUNT_MINOR + 1;
    assert_eq!(
        done(adapter().start(&start, &cx()))
            .error
            .unwrap()
            .provider_code
            .as_deref(),
        Some("amount")
    );
    let mut start = payment();
    start.order_id = OrderId::parse(&"x".repeat(31)).unwrap();
    assert_eq!(
        done(adapter().start(&start, &cx()))
            .error
            .unwrap()
            .provider_code
            .as_deref(),
        Some("order_number")
    );
}

#[test]
fn amounts_are_written_exactly_in_dollars() {
    assert_eq!(Amount::new(0), None);
    assert_eq!(Amount::new(wire::MAX_AMOUNT_MINOR + 1), None);
    for (minor, text) in [
        (1, "0.01"),
        (10, "0.1"),
        (100, "1.0"),
        (1599, "15.99"),
        (1_000_000_001, "10000000.01"),
        (wire::MAX_AMOUNT_MINOR, "99999999.99"),
    ] {
        let amount = Amount::new(minor).unwrap();
        assert_eq!(
            serde_json::to_string(&amount.json()).unwrap(),
            text,
            "{minor}"
        );
    }
    // Every written amount reads back as the same cents, exactly.
    let cents = |text: &str| -> u64 {
        let (units, fraction) = text.split_once('.').unwrap_or((text, "0"));
        units.parse::<u64>().unwrap() * 100 + format!("{fraction:0<2}").parse::<u64>().unwrap()
    };
    let samples = (1..=20_000)
        .chain((0..2_000).map(|i| wire::MAX_AMOUNT_MINOR - i))
        .chain((1..=2_000).map(|i| i * 4_999_999 + 7));
    for minor in samples {
        let amount = Amount::new(minor).unwrap();
        assert_eq!(
            amount.decimal(),
            format!("{}.{:02}", minor / 100, minor % 100)
        );
        let text = serde_json::to_string(&amount.json()).unwrap();
        assert_eq!(cents(&text), minor, "{minor} written as {text}");
    }
}

#[test]
fn the_merchants_own_2x_authentication_goes_as_passthrough() {
    let mut start = payment();
    start.external_authentication = Some(external("2.2.0", TransStatus::Y));
    let (_, request) = call(adapter().start(&start, &cx()));
    let sent = body(&request);
    assert!(sent.get("term_url").is_none());
    assert!(sent["card"].get("3d_secure").is_none());
    assert_eq!(
        sent["card"]["3d_secure_passthrough"],
        json!({"version": 2, "xid": "MDAwMDAwMDAwMDAwMDAwMTM2ODA=", "eci": 5,
               "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=",
               "ds_transaction_id": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"})
    );
    let mut missing = external("2.2.0", TransStatus::Y);
    missing.ds_transaction_id = None;
    start.external_authentication = Some(missing);
    assert_eq!(
        done(adapter().start(&start, &cx()))
            .error
            .unwrap()
            .provider_code
            .as_deref(),
        Some("3d_secure_passthrough.ds_transaction_id")
    );
}

#[test]
fn the_merchants_own_1x_authentication_goes_as_the_integrated_3d_secure() {
    let mut start = payment();
    start.external_authentication = Some(external("1.0.2", TransStatus::Y));
    let (state, request) = call(adapter().start(&start, &cx()));
    assert_eq!(
        body(&request)["card"]["3d_secure"],
        json!({"enabled": true, "xid": "MDAwMDAwMDAwMDAwMDAwMTM2ODA=",
               "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=", "eci": 5})
    );
    // Authorized: the merchant's values are reported, 1.0.2 shifts nothing for Visa.
    let result = done(adapter().on_response(state, answer(200, approved(5, "x", false)), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("1.0.2"));
    assert_eq!(result.trans_status, Some(TransStatus::Y));
    assert!(!result.liability_shift);
}

#[test]
fn a_failed_merchant_authentication_ends_without_a_call() {
    let mut start = payment();
    start.external_authentication = Some(external("2.2.0", TransStatus::N));
    let result = done(adapter().start(&start, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);
    assert_eq!(result.trans_status, Some(TransStatus::N));
    start.external_authentication = Some(external("2.2.0", TransStatus::C));
    assert_eq!(
        done(adapter().start(&start, &cx())).error.unwrap().code,
        ResultCode::ProviderRejected
    );
}

// --- answers to the create ----------------------------------------------------------

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
    ] {
        let (challenge, order) = in_doubt(adapter().on_response(creating(), lost, &cx()));
        assert_eq!(order.order_number, "order-25");
        assert_eq!(challenge, None, "no challenge ran");
    }

    for (status, text) in [
        (200, "{\"id\":"),
        (200, "{\"approved\":\"1\"}"),
        (302, "{}"),
        (204, ""),
    ] {
        let response = Ok(HttpResponse {
            status,
            headers: Vec::new(),
            body: text.into(),
        });
        let result = done(adapter().on_response(creating(), response, &cx()));
        assert_eq!(
            result.error.unwrap().code,
            ResultCode::ProviderBadResponse,
            "{status} {text}"
        );
    }
}

// --- the 302 and the challenge --------------------------------------------------------

#[test]
fn a_2x_redirect_becomes_a_creq_challenge_with_only_the_expected_fields() {
    let (state, action) =
        browser_step(adapter().on_response(creating(), answer(302, redirect_2x()), &cx()));
    let BrowserAction::Challenge { form, window_size } = action else {
        panic!("{action:?}")
    };
    assert_eq!(form.action, "http://sandbox.test/acs/challenge");
    assert_eq!(form.method, FormMethod::Post);
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["creq", "threeDSSessionData"]);
    assert_eq!(form.field("threeDSSessionData"), Some(SESSION_DATA));
    assert_eq!(
        window_size,
        ChallengeWindowSize::W500xH600,
        "the CReq's own"
    );
    let State::AwaitingIssuer { continue_id, .. } = &state else {
        panic!()
    };
    assert_eq!(continue_id, SESSION_DATA);
}

#[test]
fn a_1x_redirect_keeps_pareq_md_and_term_url_only() {
    let (state, action) =
        browser_step(adapter().on_response(creating(), answer(302, redirect_1x()), &cx()));
    let BrowserAction::Challenge { form, window_size } = action else {
        panic!()
    };
    assert_eq!(form.action, "https://acs.issuer.test/pareq");
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["PaReq", "MD", "TermUrl"]);
    assert_eq!(form.field("TermUrl"), Some(RETURN_URL));
    assert_eq!(window_size, ChallengeWindowSize::W390xH400, "the page's");
    let stored = serde_json::to_string(&state).unwrap();
    assert!(
        !stored.contains("XXXX"),
        "display fields are dropped: {stored}"
    );
}

/// The seed's own 302, verbatim: read, and refused because its TermUrl is not this
/// session's return route (the PaRes would go elsewhere).
#[test]
fn the_seeds_redirect_is_read_and_its_foreign_term_url_refused() {
    let seed = "%3cHTML%3e%3cHEAD%3e%3c%2fHEAD%3e%3cBODY%3e%3cFORM+action%3d%22https%3a%2f%2fapi.na.bambora.com%2factiveMerchantEmulator%2fgateway.asp%22+method%3d%22POST%22+id%3d%22form1%22+name%3d%22form1%22%3e%3cINPUT+type%3d%22hidden%22+name%3d%22PaReq%22+value%3d%22TEST_paRaq%22%3e%3cinput+type%3d%22hidden%22+name%3d%22merchant_name%22+value%3d%22Seven+Sparrow+Inc.%22%3e%3cinput+type%3d%22hidden%22+name%3d%22trnDatetime%22+value%3d%222%2f23%2f2017+5%3a05%3a42+PM%22%3e%3cinput+type%3d%22hidden%22+name%3d%22trnAmount%22+value%3d%22100.00%22%3e%3cinput+type%3d%22hidden%22+name%3d%22trnEncCardNumber%22+value%3d%22XXXX+XXXX+XXXX+3312%22%3e%3cINPUT+type%3d%22hidden%22+name%3d%22MD%22+value%3d%222CCD7715-9E97-4F11-9FFF36E6584E3200%22%3e%3cINPUT+type%3d%22hidden%22+name%3d%22TermUrl%22+value%3d%22http%3a%2f%2f10.240.9.64%3a5000%2fpayment%2fenhanced%2fredirect%2f3d-secure%22%3e%3c%2fFORM%3e%3cSCRIPT+language%3d%22JavaScript%22%3edocument.form1.submit()%3b%3c%2fSCRIPT%3e%3c%2fBODY%3e%3c%2fHTML%3e";
    let term_url = "http://10.240.9.64:5000/payment/enhanced/redirect/3d-secure";
    let expected = contents::Expected {
        continue_id: MERCHANT_DATA,
        term_url,
        sandbox_origin: None,
    };
    let IssuerForm::PaReq(form) = IssuerForm::parse(seed, expected).unwrap() else {
        panic!()
    };
    assert_eq!(
        form.acs_url,
        "https://api.na.bambora.com/activeMerchantEmulator/gateway.asp"
    );
    assert_eq!(form.pa_req, "TEST_paRaq");
    assert_eq!(form.md, "2CCD7715-9E97-4F11-9FFF36E6584E3200");
    assert_eq!(form.term_url, term_url);

    let redirect = json!({"merchant_data": MERCHANT_DATA, "contents": seed});
    let result = done(adapter().on_response(creating(), answer(302, redirect), &cx()));
    assert_eq!(result.status, PaymentStatus::Error);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderBadResponse);
    assert_eq!(error.provider_code.as_deref(), Some("bad_contents"));
    assert!(error.provider_message.unwrap().contains("TermUrl"));
}

#[test]
fn a_redirect_that_cannot_be_trusted_ends_the_payment() {
    let creq = creq().to_base64url();
    let cases = [
        // Posts to a plain-http origin that is not the configured sandbox.
        page(
            "http://evil.test/acs",
            &[("creq", &creq), ("threeDSSessionData", SESSION_DATA)],
        ),
        page(
            "javascript:alert(1)",
            &[("creq", &creq), ("threeDSSessionData", SESSION_DATA)],
        ),
        page(
            "https://user@evil.test/acs",
            &[("creq", &creq), ("threeDSSessionData", SESSION_DATA)],
        ),
        // Session data of another payment.
        page(
            "https://acs.test/c",
            &[("creq", &creq), ("threeDSSessionData", "b3RoZXI")],
        ),
        // Both protocols at once, a repeated field, no creq at all, a creq that is not one.
        page(
            "https://acs.test/c",
            &[
                ("creq", &creq),
                ("PaReq", "x"),
                ("threeDSSessionData", SESSION_DATA),
            ],
        ),
        page(
            "https://acs.test/c",
            &[
                ("creq", &creq),
                ("creq", &creq),
                ("threeDSSessionData", SESSION_DATA),
            ],
        ),
        page(
            "https://acs.test/c",
            &[("threeDSSessionData", SESSION_DATA)],
        ),
        page(
            "https://acs.test/c",
            &[
                ("creq", "bm90IGEgY3JlcQ"),
                ("threeDSSessionData", SESSION_DATA),
            ],
        ),
        // Not URL-encoded.
        "%3cFORM%zz".to_owned(),
    ];
    for contents in cases {
        let redirect = json!({"3d_session_data": SESSION_DATA, "contents": contents});
        let result = done(adapter().on_response(creating(), answer(302, redirect), &cx()));
        assert_eq!(
            result.error.unwrap().code,
            ResultCode::ProviderBadResponse,
            "{contents}"
        );
    }
    // A payment id that does not fit a URL path.
    let mut redirect = redirect_2x();
    for id in ["../../refunds", "..", "a b", ""] {
        redirect["3d_session_data"] = json!(id);
        let result = done(adapter().on_response(creating(), answer(302, redirect.clone()), &cx()));
        assert_eq!(
            result.error.unwrap().code,
            ResultCode::ProviderBadResponse,
            "{id}"
        );
    }
    // Two ids that disagree name two payments.
    let mut redirect = redirect_2x();
    redirect["merchant_data"] = json!(MERCHANT_DATA);
    let result = done(adapter().on_response(creating(), answer(302, redirect), &cx()));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
}

// --- the browser's return and continue ------------------------------------------------

#[test]
fn a_1x_return_continues_with_the_pares() {
    let state = awaiting(redirect_1x());
    let md = MERCHANT_DATA.to_ascii_uppercase();
    let back = returned(&[("PaRes", "eJzLSM3JyVcozy/KSQEAGgQEXQ=="), ("MD", &md)]);
    assert_eq!(
        adapter().verify_browser_return(&state, &back, &cx()),
        Ok(())
    );
    let (state, request) = call(adapter().on_browser_return(state, &back, &cx()).unwrap());
    assert_eq!(
        request.url,
        format!("http://sandbox.test/bambora/v1/payments/{MERCHANT_DATA}/continue")
    );
    assert_eq!(request.purpose, "bambora.continue");
    assert!(!request.retry_safe);
    assert!(request
        .headers
        .contains(&("Authorization".into(), SEED_AUTH.into())));
    assert_eq!(
        body(&request),
        json!({"payment_method": "credit_card",
               "card_response": {"pa_res": "eJzLSM3JyVcozy/KSQEAGgQEXQ=="}})
    );
    let result =
        done(adapter().on_response(state, answer(200, approved(5, "Succeeded", true)), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("1.0.2"));
    assert!(!result.liability_shift, "1.0.2 shifts nothing for Visa");
}

#[test]
fn a_2x_return_continues_with_the_cres() {
    let state = awaiting(redirect_2x());
    let cres = cres(&creq().acs_trans_id, "Y");
    let back = returned(&[("cres", &cres), ("threeDSSessionData", SESSION_DATA)]);
    let (state, request) = call(adapter().on_browser_return(state, &back, &cx()).unwrap());
    assert_eq!(
        request.url,
        format!("http://sandbox.test/bambora/v1/payments/{SESSION_DATA}/continue")
    );
    assert_eq!(body(&request)["card_response"], json!({"cres": cres}));
    let result = done(adapter().on_response(
        state.clone(),
        answer(200, approved(5, "Succeeded", false)),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
    assert!(result.liability_shift);

    let failed = json!({"code": 311, "category": 1, "message": "3D Secure Failed",
                        "reference": "", "3d_secure": {"status": "Failed", "downgraded": false}});
    let result = done(adapter().on_response(state.clone(), answer(402, failed), &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.trans_status, Some(TransStatus::N));
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);

    let (challenge, _) =
        in_doubt(adapter().on_response(state, Err(TransportFailure::Timeout), &cx()));
    assert_eq!(
        challenge.map(|c| c.version).as_deref(),
        Some("2.2.0"),
        "the lookup reports the challenge that ran"
    );
}

#[test]
fn forged_incomplete_or_malformed_returns_are_refused_and_change_nothing() {
    let md = MERCHANT_DATA.to_ascii_uppercase();
    let legacy = awaiting(redirect_1x());
    let emv = awaiting(redirect_2x());
    let good_cres = cres(&creq().acs_trans_id, "Y");
    let cases = [
        (
            &legacy,
            vec![
                ("PaRes", "eJzL"),
                ("MD", "2CCD7715-9E97-4F11-9FFF36E6584E3201"),
            ],
            "return_foreign",
        ),
        (&legacy, vec![("PaRes", "eJzL")], "return_incomplete"),
        (
            &legacy,
            vec![("PaRes", "eJzL"), ("MD", &md), ("MD", &md)],
            "return_incomplete",
        ),
        (
            &legacy,
            vec![("PaRes", "<xml/>"), ("MD", &md)],
            "return_malformed",
        ),
        (&legacy, vec![("MD", &md)], "return_incomplete"),
        (
            &emv,
            vec![("cres", &good_cres), ("threeDSSessionData", "b3RoZXI")],
            "return_foreign",
        ),
        (&emv, vec![("cres", &good_cres)], "return_incomplete"),
        (
            &emv,
            vec![
                ("cres", "bm90IGEgY3Jlcw"),
                ("threeDSSessionData", SESSION_DATA),
            ],
            "return_malformed",
        ),
        (
            &emv,
            vec![("PaRes", "eJzL"), ("threeDSSessionData", SESSION_DATA)],
            "return_incomplete",
        ),
    ];
    for (state, fields, code) in cases {
        let back = returned(&fields);
        let refused = adapter()
            .verify_browser_return(state, &back, &cx())
            .unwrap_err();
        assert_eq!(refused.code, code, "{fields:?}");
        // Acting on it anyway is refused the same way: nothing to store.
        let acted = adapter().on_browser_return(state.clone(), &back, &cx());
        assert_eq!(acted.map(drop).map_err(|e| e.code), Err(code), "{fields:?}");
    }
    // A CRes of another transaction (the ids of the CReq this payment sent are known).
    let other = cres("00000000-0000-4000-8000-000000000000", "Y");
    let back = returned(&[("cres", &other), ("threeDSSessionData", SESSION_DATA)]);
    assert_eq!(
        adapter()
            .verify_browser_return(&emv, &back, &cx())
            .unwrap_err()
            .code,
        "return_foreign"
    );
    // No return is expected while a call is under way.
    let back = returned(&[("PaRes", "eJzL"), ("MD", &md)]);
    assert_eq!(
        adapter()
            .verify_browser_return(&creating(), &back, &cx())
            .unwrap_err()
            .code,
        "no_return_expected"
    );
}

#[test]
fn events_without_a_call_keep_the_browser_step() {
    let state = awaiting(redirect_2x());
    let (after, _) = browser_step(adapter().on_response(
        state.clone(),
        answer(200, approved(5, "Succeeded", false)),
        &cx(),
    ));
    assert_eq!(after, state, "an answer nobody asked for is ignored");
    let (after, _) =
        browser_step(adapter().on_method_completed(state.clone(), ThreeDsCompInd::Y, &cx()));
    assert_eq!(after, state);
}

#[test]
fn a_token_payment_learns_the_brand_from_the_answer() {
    let mut start = payment();
    start.method = PaymentMethod::Token {
        token: "gt7-1".into(),
    };
    start.payer.name = Some("John Doe".into());
    let (state, _) = call(adapter().start(&start, &cx()));
    let mut answer_body = approved(2, "Succeeded", false);
    answer_body["card"]["card_type"] = json!("MC");
    let result = done(adapter().on_response(state, answer(200, answer_body), &cx()));
    assert!(result.liability_shift, "Mastercard ECI 02 shifts");
    assert_eq!(wire::brand_of_card_type("PV"), CardBrand::Visa);
}

#[test]
fn config_hides_the_passcode_and_needs_a_currency() {
    let config = Config::sandbox("http://127.0.0.1:8081/");
    assert_eq!(config.base_url, "http://127.0.0.1:8081/bambora");
    assert_eq!(config.origin().as_deref(), Some("http://127.0.0.1:8081"));
    let printed = format!("{config:?}");
    assert!(!printed.contains(config.api_passcode.expose()), "{printed}");
    let parsed: Result<Config, _> =
        serde_json::from_value(json!({"merchant_id": "1", "api_passcode": "p"}));
    assert!(parsed.is_err(), "currency is required");
    let parsed: Config =
        serde_json::from_value(json!({"merchant_id": "1", "api_passcode": "p", "currency": "USD"}))
            .unwrap();
    assert_eq!(parsed.base_url, PRODUCTION_URL);
    assert!(!parsed.auth_required);
    let _ = Generation::Emv;
}

// --- a continue Bambora refuses -------------------------------------------------------

fn invalid_cres() -> Value {
    json!({"code": 314, "category": 3, "reference": "",
           "message": "Missing or invalid payment information - Please fix the errors below.",
           "details": [{"field": "card_response.cres",
                        "message": "The cardholder has not completed authentication"}]})
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

#[test]
fn a_continue_refused_as_invalid_input_waits_on_the_same_challenge() {
    let first = awaiting(redirect_2x());
    let (_, action) = browser_step(issuer_step(first.clone()));
    let forged = returned(&[
        ("cres", &cres(&creq().acs_trans_id, "Y")),
        ("threeDSSessionData", SESSION_DATA),
    ]);
    let mut state = first.clone();
    for refusal in 1..MAX_REFUSED_RETURNS {
        let Step::Refused {
            state: again,
            action: shown,
            refused,
        } = continued(state, &forged, answer(400, invalid_cres()))
        else {
            panic!("refusal {refusal}: expected a refused return")
        };
        assert_eq!(refused.code, "return_refused");
        assert_eq!(shown, action, "the same challenge");
        let State::AwaitingIssuer { refused: count, .. } = &again else {
            panic!("{again:?}")
        };
        assert_eq!(*count, refusal);
        state = again;
    }
    // The last refusal ends the payment with Bambora's words; nothing was charged.
    let result = done(continued(
        state.clone(),
        &forged,
        answer(400, invalid_cres()),
    ));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(
        (error.code, error.provider_code.as_deref()),
        (ResultCode::ProviderRejected, Some("314"))
    );
    // Before that, the genuine answer still authorizes.
    let genuine = done(continued(
        state,
        &forged,
        answer(200, approved(5, "Succeeded", false)),
    ));
    assert_eq!(genuine.status, PaymentStatus::Authorized);
}

#[test]
fn other_refusals_of_a_continue_end_the_payment() {
    let back = returned(&[
        ("cres", &cres(&creq().acs_trans_id, "Y")),
        ("threeDSSessionData", SESSION_DATA),
    ]);
    let unauthorized = json!({"code": 21, "category": 3, "message": "Authentication failed"});
    let unknown = json!({"code": 314, "category": 3, "message": "Missing or invalid payment information",
                         "details": [{"field": "merchant_data", "message": "Invalid transaction id"}]});
    for (status, body) in [(401, unauthorized), (404, unknown)] {
        let result = done(continued(
            awaiting(redirect_2x()),
            &back,
            answer(status, body),
        ));
        assert_eq!(result.status, PaymentStatus::Failed, "{status}");
        assert_eq!(result.error.unwrap().code, ResultCode::ProviderRejected);
    }
    // A continue stored before the waiting step was kept cannot go back to it.
    let (state, _) = call(
        adapter()
            .on_browser_return(awaiting(redirect_2x()), &back, &cx())
            .unwrap(),
    );
    let State::Continuing {
        order, challenge, ..
    } = state
    else {
        panic!()
    };
    let old = State::Continuing {
        order,
        challenge,
        waiting: None,
    };
    let result = done(adapter().on_response(old, answer(400, invalid_cres()), &cx()));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderRejected);
}

// --- reconciliation -------------------------------------------------------------------

const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// 2026-12-02T16:00:36Z.
const NOW_MS: u64 = 1_796_227_236_000;

fn cx_at(now_ms: u64) -> Context {
    Context { now_ms, ..cx() }
}

/// A create started at `NOW_MS` whose answer was lost.
fn doubt() -> State {
    let (state, _) = call(adapter().start(&payment(), &cx_at(NOW_MS)));
    match adapter().on_response(state, Err(TransportFailure::Timeout), &cx_at(NOW_MS)) {
        Step::Unknown { state } => state,
        other => panic!("{other:?}"),
    }
}

fn record(id: u64, response: u8) -> Value {
    json!({"row_id": 1, "trn_id": id, "trn_date_time": "2026-12-02T16:00:37.000+00:00",
           "trn_type": "P", "trn_order_number": "order-25", "trn_payment_method": "CC",
           "trn_masked_card": "400000XXXXXX1000", "trn_amount": 15.99, "trn_response": response,
           "trn_card_type": "VI", "message_id": 1, "message_text": "Approved",
           "currency_abbr": "CAD", "merchant_id": 300200578})
}

fn searched(records: Value) -> Step<State> {
    let (state, _) = call(adapter().reconcile(doubt(), &cx_at(NOW_MS + 2_000)));
    adapter().on_response(state, answer(200, records), &cx())
}

#[test]
fn reconcile_searches_the_order_number_with_the_reporting_passcode() {
    let (state, request) = call(adapter().reconcile(doubt(), &cx_at(NOW_MS + 5_000)));
    assert!(matches!(state, State::Searching { .. }));
    assert_eq!(request.url, "http://sandbox.test/bambora/v1/reports");
    assert_eq!(request.purpose, "bambora.search");
    assert!(request.retry_safe, "a search moves no money");
    assert!(request
        .headers
        .contains(&("Authorization".into(), SEED_AUTH.into())));
    assert_eq!(
        body(&request),
        json!({"name": "Search",
               "start_date": wire::report_date(NOW_MS - DAY_MS),
               "end_date": wire::report_date(NOW_MS + 5_000 + DAY_MS),
               "start_row": 1, "end_row": 500,
               "criteria": [{"field": 5, "operator": "%3D", "value": "order-25"}]})
    );
    assert_eq!(wire::report_date(NOW_MS), "2026-12-02T16:00:36");

    let mut config = Config::sandbox("http://sandbox.test");
    config.reporting_passcode = Some("reporting-passcode".into());
    let (_, request) = call(BamboraAdapter::new(config).reconcile(doubt(), &cx()));
    let expected = format!(
        "Passcode {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "300200578:reporting-passcode"
        )
    );
    assert!(request
        .headers
        .contains(&("Authorization".into(), expected)));
}

#[test]
fn no_transaction_for_the_order_is_nothing_charged() {
    for empty in [json!({"records": []}), json!([])] {
        let result = done(searched(empty));
        assert_eq!(result.status, PaymentStatus::Failed);
        assert_eq!(
            result.error.unwrap().provider_code.as_deref(),
            Some("not_found")
        );
    }
    // Records that are not this order's payment are never adopted.
    let mut other_order = record(10000040, 1);
    other_order["trn_order_number"] = json!("order-250");
    let mut other_amount = record(10000041, 1);
    other_amount["trn_amount"] = json!("15.90");
    let mut other_currency = record(10000042, 1);
    other_currency["currency_abbr"] = json!("USD");
    let mut other_card = record(10000043, 1);
    other_card["trn_masked_card"] = json!("400000XXXXXX2008");
    let mut a_return = record(10000044, 1);
    a_return["trn_type"] = json!("R");
    let others =
        json!({"records": [other_order, other_amount, other_currency, other_card, a_return]});
    assert_eq!(
        done(searched(others))
            .error
            .unwrap()
            .provider_code
            .as_deref(),
        Some("not_found")
    );
}

#[test]
fn the_order_s_transaction_is_read_and_its_answer_is_the_result() {
    let mut as_text = record(10000050, 1);
    as_text["trn_amount"] = json!("15.99");
    as_text["trn_id"] = json!("10000050");
    let declined_before = record(10000049, 0);
    let (state, request) = call(searched(json!({"records": [declined_before, as_text]})));
    assert_eq!(
        request.url, "http://sandbox.test/bambora/v1/payments/10000050",
        "the approved one"
    );
    assert_eq!(request.purpose, "bambora.read");
    assert!(request.retry_safe);
    let mut payment = approved(5, "Succeeded", false);
    payment["id"] = json!("10000050");
    payment["order_number"] = json!("order-25");
    let result = done(adapter().on_response(state.clone(), answer(200, payment.clone()), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("10000050"));
    assert_eq!((result.eci, result.liability_shift), (Eci::new(5), true));

    // Another order's, another amount's or another id's answer is not adopted.
    for (member, value) in [
        ("order_number", json!("order-26")),
        ("amount", json!(1.0)),
        ("id", json!("10000051")),
    ] {
        let mut other = payment.clone();
        other[member] = value;
        let (_, order) = in_doubt(adapter().on_response(state.clone(), answer(200, other), &cx()));
        assert_eq!(order.order_number, "order-25", "{member}");
    }
    // The read's answer lost or refused: still in doubt.
    in_doubt(adapter().on_response(state.clone(), Err(TransportFailure::Timeout), &cx()));
    in_doubt(adapter().on_response(state, answer(404, json!({"code": 314})), &cx()));

    // Only declined transactions: the last one is read (and is the decline).
    let (_, request) = call(searched(json!([record(10000060, 0), record(10000061, 0)])));
    assert!(request.url.ends_with("/v1/payments/10000061"));
}

#[test]
fn a_search_that_cannot_tell_keeps_the_payment_in_doubt() {
    let two_approved = json!({"records": [record(10000070, 1), record(10000071, 1)]});
    in_doubt(searched(two_approved));
    in_doubt(searched(json!({"records": "none"})));
    let (state, _) = call(adapter().reconcile(doubt(), &cx()));
    for lost in [
        answer(503, json!("busy")),
        answer(
            401,
            json!({"code": 21, "category": 3, "message": "Authentication failed"}),
        ),
        Err(TransportFailure::Connection("reset".into())),
    ] {
        in_doubt(adapter().on_response(state.clone(), lost, &cx()));
    }
}

#[test]
fn a_continue_in_doubt_reports_the_challenge_that_ran() {
    let state = awaiting(redirect_2x());
    let back = returned(&[
        ("cres", &cres(&creq().acs_trans_id, "Y")),
        ("threeDSSessionData", SESSION_DATA),
    ]);
    let Step::Unknown { state } = continued(state, &back, Err(TransportFailure::Timeout)) else {
        panic!()
    };
    let (state, _) = call(adapter().reconcile(state, &cx()));
    let (state, _) =
        call(adapter().on_response(state, answer(200, json!([record(10000080, 1)])), &cx()));
    let mut payment = approved(5, "Succeeded", false);
    payment["id"] = json!(10000080);
    let result = done(adapter().on_response(state, answer(200, payment), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
}

#[test]
fn amounts_and_dates_as_bambora_writes_them() {
    for (text, cents) in [
        ("15.99", Some(1599)),
        ("100", Some(10_000)),
        ("100.0", Some(10_000)),
        ("100.00", Some(10_000)),
        ("0.5", Some(50)),
        ("15.999", None),
        ("-1.00", None),
        ("", None),
        (".5", None),
        ("1e3", None),
    ] {
        assert_eq!(wire::cents_of(text), cents, "{text}");
    }
    assert_eq!(wire::report_date(0), "1970-01-01T00:00:00");
    assert_eq!(wire::report_date(951_782_400_000), "2000-02-29T00:00:00");
}

#[test]
fn states_stored_before_refusals_and_doubts_were_kept_still_read() {
    let mut stored = serde_json::to_value(awaiting(redirect_2x())).unwrap();
    stored.as_object_mut().unwrap().remove("refused");
    stored["order"]
        .as_object_mut()
        .unwrap()
        .remove("started_ms");
    let state: State = serde_json::from_value(stored).unwrap();
    let State::AwaitingIssuer { refused, order, .. } = &state else {
        panic!("{state:?}")
    };
    assert_eq!((*refused, order.started_ms), (0, 0));
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

/// One state of every step (`stored.rs` reads them by hand), each optional member both
/// set and not.
fn every_state() -> Vec<State> {
    let State::Creating { order } = creating() else {
        panic!("creating");
    };
    let (two, one) = (awaiting(redirect_2x()), awaiting(redirect_1x()));
    let State::AwaitingIssuer {
        continue_id,
        issuer,
        window_size,
        ..
    } = two.clone()
    else {
        panic!("awaiting the issuer");
    };
    let challenge = Challenged {
        version: "2.2.0".into(),
        legacy: false,
    };
    let doubt = |challenge: Option<Challenged>| Doubt {
        order: order.clone(),
        challenge,
    };
    vec![
        State::Creating {
            order: order.clone(),
        },
        two,
        one,
        State::Continuing {
            order: order.clone(),
            challenge: challenge.clone(),
            waiting: None,
        },
        State::Continuing {
            order: order.clone(),
            challenge: challenge.clone(),
            waiting: Some(Waiting {
                continue_id,
                issuer,
                window_size,
                refused: 2,
            }),
        },
        State::InDoubt { doubt: doubt(None) },
        State::Searching {
            doubt: doubt(Some(challenge.clone())),
        },
        State::Reading {
            doubt: doubt(Some(challenge)),
            transaction_id: "10000001".into(),
        },
    ]
}

/// The stored shape is the derived `Serialize`'s (tag `step`), read back by hand: every
/// step, from a JSON value and from text; a missing member is refused unless it is
/// optional or has a default (`refused`, `waiting`), an unknown step too.
#[test]
fn every_state_reads_back_as_it_was_written() {
    for state in every_state() {
        let stored = serde_json::to_value(&state).expect("serializes");
        assert_eq!(
            State::deserialize(&stored).expect("reads"),
            state,
            "{stored}"
        );
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), state);
        let Value::Object(members) = stored else {
            panic!("an object");
        };
        for name in members.keys().filter(|name| *name != "step") {
            let mut without = members.clone();
            without.remove(name);
            let read = serde_json::from_value::<State>(without.into());
            let optional = ["refused", "waiting"].contains(&name.as_str());
            assert_eq!(read.is_ok(), optional, "{name} missing: {members:?}");
        }
        let mut unknown = members.clone();
        unknown.insert("step".into(), json!("levitating"));
        assert!(serde_json::from_value::<State>(unknown.into()).is_err());
    }
    let mut old = serde_json::to_value(awaiting(redirect_2x())).unwrap();
    old.as_object_mut().unwrap().remove("refused");
    let State::AwaitingIssuer { refused, .. } = serde_json::from_value(old).unwrap() else {
        panic!("awaiting the issuer");
    };
    assert_eq!(
        refused, 0,
        "a state stored before `refused` existed reads as none"
    );
}

/// At every depth, as the derive read it (`provider::stored_checks`): every state with
/// both issuer forms and Bambora's authentication, and the merchant's authentication,
/// read back; a missing member is refused unless optional or defaulted, an unknown step,
/// `by` or `protocol` too; an unknown member is ignored.
#[test]
fn every_state_and_its_tagged_parts_read_as_the_derive_read_them() {
    let states = every_state();
    let written: Vec<String> = states
        .iter()
        .map(|state| serde_json::to_string(state).unwrap())
        .collect();
    for tag in [
        r#""protocol":"pa_req""#,
        r#""protocol":"c_req""#,
        r#""by":"bambora""#,
    ] {
        assert!(
            written.iter().any(|w| w.contains(tag)),
            "no state has {tag}"
        );
    }
    assert_reads_as_the_derive(
        &states,
        &["step", "by", "protocol"],
        |path, name| match name {
            "refused" | "waiting" => path.is_empty(),
            "challenge" => path.last().is_some_and(|p| p == "doubt"),
            "version" => path.last().is_some_and(|p| p == "authentication"),
            "started_ms" | "card" => true,
            _ => false,
        },
    );
    let merchant = Authentication::Merchant {
        version: "2.2.0".into(),
        trans_status: TransStatus::A,
        eci: crate::emv::Eci::new(6).unwrap(),
    };
    let bambora = [
        Authentication::Bambora { version: Some(2) },
        Authentication::Bambora { version: None },
    ];
    assert_reads_as_the_derive(&[merchant], &["by"], |_, _| false);
    assert_reads_as_the_derive(&bambora, &["by"], |_, name| name == "version");
}

/// The adapter's state is stored as text read back as a value
/// (`backend::providers::encode`): every step, the same JSON as `to_value` wrote.
#[test]
fn every_state_is_stored_as_to_value_stored_it() {
    crate::backend::providers::assert_encodes_as_to_value(&every_state());
}

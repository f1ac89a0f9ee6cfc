//! The adapter's pure functions fed with canned dLocal answers: no network. Signatures
//! are recomputed here with `hmac` directly (`independent_hmac`), and checked in
//! `create.rs` against values computed with Python's `hmac` module.

use crate::order::{Currency, OrderId};
use crate::payment::{
    CaptureMode, CardSummary, ChallengePreference, PaymentMethod, PaymentResult, PaymentStatus,
    ResultCode,
};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::*;
use crate::emv::{
    BrowserDetails, BrowserReadings, ChallengeWindowSize, Eci, Pan, ServerReadings, TransStatus,
};
use crate::payment::{CardDetails, Cvv, DisplayMode, ExternalAuthentication, Payer};
use crate::provider::{HttpMethod, Secret};

mod cancel;
mod create;
mod notifications;
mod returns;
mod stored_states;

const LOGIN: &str = "sak223k2wdksdl2";
const SECRET: &str = "sandbox-dlocal-secret";
/// 2018-07-12T13:46:28.629Z
const NOW_MS: u64 = 1_531_403_188_629;

fn adapter() -> DlocalAdapter {
    DlocalAdapter::new(Config::sandbox("http://127.0.0.1:8081"))
}

fn cx() -> Context {
    Context {
        now_ms: NOW_MS,
        session_id: "0123456789abcdef0123456789abcdef".into(),
        public_url: "https://shop.example".into(),
    }
}

fn independent_hmac(message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(message.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn start(pan: &str) -> PaymentStart {
    let browser = BrowserDetails::build(
        &BrowserReadings::default(),
        &ServerReadings {
            accept_header: Some("text/html".into()),
            user_agent: Some("Mozilla/5.0".into()),
            ip: Some("179.27.83.210".into()),
            ..ServerReadings::default()
        },
    )
    .unwrap();
    PaymentStart {
        order_id: OrderId::parse("order-1").unwrap(),
        amount: 12_000,
        currency: Currency::parse("BRL").unwrap(),
        description: None,
        method: PaymentMethod::Card(CardDetails {
            number: Pan::parse(pan).unwrap(),
            expiry_month: 10,
            expiry_year: 2040,
            cvv: Cvv::parse("123").unwrap(),
            holder_name: "Thiago Gabriel".into(),
        }),
        payer: Payer {
            name: None,
            email: Some("thiago@example.com".into()),
            document: Some("53033315550".into()),
            country: Some("BR".into()),
        },
        browser,
        challenge: ChallengePreference::NoPreference,
        display: DisplayMode::Iframe,
        window_size: ChallengeWindowSize::FullScreen,
        external_authentication: None,
        capture_mode: crate::payment::CaptureMode::Automatic,
        exemption: None,
    }
}

fn order() -> Order {
    Order {
        order_id: OrderId::parse("order-1").unwrap(),
        amount: Some(Amount {
            minor: 12_000,
            currency: Currency::parse("BRL").unwrap(),
        }),
        card: Some(CardSummary::from(&Pan::parse("4000000000001000").unwrap())),
        external: None,
    }
}

fn creating() -> State {
    State::Creating { order: order() }
}

fn authenticating() -> State {
    State::Authenticating {
        order: order(),
        payment_id: "D-4-abc".into(),
        redirect_url: "http://127.0.0.1:8081/dlocal/three-ds/D-4-abc".into(),
    }
}

/// The doubt of a payment whose create's answer was lost.
fn doubt_by_order() -> Doubt {
    Doubt {
        order: order(),
        payment_id: None,
        redirect_url: None,
    }
}

fn in_doubt(payment_id: Option<&str>, redirect_url: Option<&str>) -> Step<State> {
    Step::Unknown {
        state: State::InDoubt(Doubt {
            order: order(),
            payment_id: payment_id.map(str::to_owned),
            redirect_url: redirect_url.map(str::to_owned),
        }),
    }
}

const PAGE: &str = "http://127.0.0.1:8081/dlocal/three-ds/D-4-abc";

fn answer(status: u16, body: &str) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: vec![],
        body: body.into(),
    })
}

fn payment(status: &str, code: &str, three_ds: &str) -> String {
    format!(
        r#"{{"id":"D-4-abc","amount":120,"currency":"BRL","status":"{status}","status_code":"{code}",
        "status_detail":"detail {code}","order_id":"order-1","card":{{"brand":"VI","last4":"1000"}}{three_ds}}}"#
    )
}

fn done(step: Step<State>) -> PaymentResult {
    match step {
        Step::Done(result) => result,
        other => panic!("expected a result, got {other:?}"),
    }
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> &'a str {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn in_doubt_state(payment_id: Option<&str>, redirect_url: Option<&str>) -> State {
    let Step::Unknown { state } = in_doubt(payment_id, redirect_url) else {
        unreachable!()
    };
    state
}

fn abandoned() -> Abandoned {
    Abandoned {
        order: order(),
        payment_id: "D-4-abc".into(),
        cancelled_by: None,
    }
}

#[test]
fn paid_and_authorized_finish_with_the_eci() {
    let paid = done(adapter().on_response(
        creating(),
        answer(
            200,
            &payment("PAID", "200", r#","three_dsecure":{"eci":"05"}"#),
        ),
        &cx(),
    ));
    assert_eq!(paid.status, PaymentStatus::Authorized);
    assert_eq!(paid.provider_payment_id.as_deref(), Some("D-4-abc"));
    assert_eq!(paid.eci, Eci::parse("05").ok());
    assert_eq!(paid.trans_status, Some(TransStatus::Y));
    assert!(paid.liability_shift);
    assert_eq!(paid.error, None);

    let unavailable = done(adapter().on_response(
        creating(),
        answer(
            200,
            &payment("AUTHORIZED", "600", r#","three_dsecure":{"eci":"07"}"#),
        ),
        &cx(),
    ));
    assert_eq!(unavailable.status, PaymentStatus::Authorized);
    assert_eq!(unavailable.trans_status, Some(TransStatus::U));
    assert!(!unavailable.liability_shift);
}

#[test]
fn rejections_keep_dlocal_code_and_detail() {
    let cases = [
        (
            "320",
            PaymentStatus::Failed,
            ResultCode::AuthenticationFailed,
            Some(TransStatus::N),
        ),
        (
            "311",
            PaymentStatus::Failed,
            ResultCode::AuthenticationFailed,
            Some(TransStatus::R),
        ),
        (
            "301",
            PaymentStatus::Declined,
            ResultCode::Declined,
            Some(TransStatus::Y),
        ),
    ];
    for (code, status, result_code, trans_status) in cases {
        let result = done(adapter().on_response(
            creating(),
            answer(
                200,
                &payment("REJECTED", code, r#","three_dsecure":{"eci":"05"}"#),
            ),
            &cx(),
        ));
        assert_eq!(result.status, status, "{code}");
        assert_eq!(result.trans_status, trans_status, "{code}");
        assert!(!result.liability_shift);
        let error = result.error.unwrap();
        assert_eq!(error.code, result_code);
        assert_eq!(error.provider_code.as_deref(), Some(code));
        assert_eq!(error.provider_message, Some(format!("detail {code}")));
    }
}

#[test]
fn pending_sends_the_whole_page_to_the_redirect_url() {
    let step = adapter().on_response(
        creating(),
        answer(
            200,
            &payment(
                "PENDING",
                "101",
                r#","three_dsecure":{"redirect_url":"http://127.0.0.1:8081/dlocal/three-ds/D-4-abc"}"#,
            ),
        ),
        &cx(),
    );
    assert_eq!(
        step,
        Step::Browser {
            state: authenticating(),
            action: redirect("http://127.0.0.1:8081/dlocal/three-ds/D-4-abc"),
        }
    );
    // Only https, or the configured API's own origin.
    for url in [
        "http://evil.example/three-ds/x",
        "http://127.0.0.1:8081.evil.example/x",
        "javascript:alert(1)",
    ] {
        let three_ds = format!(r#","three_dsecure":{{"redirect_url":"{url}"}}"#);
        let result = done(adapter().on_response(
            creating(),
            answer(200, &payment("PENDING", "101", &three_ds)),
            &cx(),
        ));
        assert_eq!(result.status, PaymentStatus::Error, "{url}");
    }
}

/// dLocal's own 3DS examples (seed 001) give `http://api.dlocal.com/three-ds/…`: with the
/// https API configured, that page is its host's https one; another host on plain http is
/// still refused.
#[test]
fn a_plain_http_page_of_the_https_api_is_sent_over_https() {
    let production = DlocalAdapter::new(Config::sandbox("https://api.dlocal.com"));
    let three_ds = r#","three_dsecure":{"redirect_url":"http://api.dlocal.com/three-ds/M-1"}"#;
    let step = production.on_response(
        creating(),
        answer(200, &payment("PENDING", "101", three_ds)),
        &cx(),
    );
    let Step::Browser { action, state } = step else {
        panic!("a browser step: {step:?}");
    };
    assert_eq!(action, redirect("https://api.dlocal.com/three-ds/M-1"));
    assert_eq!(
        state.redirect_url(),
        Some("https://api.dlocal.com/three-ds/M-1")
    );
    for url in [
        "http://api.dlocal.com.evil.example/three-ds/x",
        "http://evil.example/three-ds/x",
    ] {
        let three_ds = format!(r#","three_dsecure":{{"redirect_url":"{url}"}}"#);
        let result = done(production.on_response(
            creating(),
            answer(200, &payment("PENDING", "101", &three_ds)),
            &cx(),
        ));
        assert_eq!(result.status, PaymentStatus::Error, "{url}");
    }
}

#[test]
fn errors_and_bad_answers() {
    let rejected = done(adapter().on_response(
        creating(),
        answer(403, r#"{"code":3001,"message":"Invalid credentials"}"#),
        &cx(),
    ));
    assert_eq!(rejected.status, PaymentStatus::Failed);
    let error = rejected.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("3001"));
    assert_eq!(
        error.provider_message.as_deref(),
        Some("Invalid credentials")
    );

    let missing = done(adapter().on_response(
        creating(),
        answer(
            400,
            r#"{"code":5001,"message":"Missing parameter: payer.email","param":"payer.email"}"#,
        ),
        &cx(),
    ));
    assert_eq!(
        missing.error.unwrap().provider_code.as_deref(),
        Some("5001")
    );

    // A refusal without dLocal's error document is still a refusal: nothing was created.
    let bare = done(adapter().on_response(creating(), answer(400, "<html>"), &cx()));
    assert_eq!(bare.status, PaymentStatus::Failed);
    assert_eq!(
        bare.error.unwrap().provider_code.as_deref(),
        Some("http_400")
    );

    // No answer, a 5xx, or a 2xx that is not this order's payment: dLocal may have
    // created and charged it. The payment waits in doubt, to be looked up by its order.
    let lost: [Result<HttpResponse, TransportFailure>; 7] = [
        answer(500, r#"{"code":7000}"#),
        answer(502, "<html>bad gateway</html>"),
        answer(200, "{not json"),
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        // An answer about another order, or another amount, is not believed.
        answer(
            200,
            &payment("PAID", "200", "").replace("order-1", "order-2"),
        ),
        answer(200, &payment("PAID", "200", "").replace("120", "1200")),
    ];
    for response in lost {
        assert_eq!(
            adapter().on_response(creating(), response.clone(), &cx()),
            in_doubt(None, None),
            "{response:?}"
        );
    }
    // A status this adapter does not know, or PENDING without a page: dLocal's payment
    // exists, undecided: looked up by its id.
    for status in ["SOMETHING", "PENDING"] {
        assert_eq!(
            adapter().on_response(creating(), answer(200, &payment(status, "100", "")), &cx()),
            in_doubt(Some("D-4-abc"), None),
            "{status}"
        );
    }
}

#[test]
fn amounts_read_back_in_minor_units() {
    let number = |text: &str| serde_json::from_str::<serde_json::Number>(text).unwrap();
    assert_eq!(wire::minor_amount(&number("120"), "BRL"), Some(12_000));
    assert_eq!(wire::minor_amount(&number("120.00"), "BRL"), Some(12_000));
    assert_eq!(wire::minor_amount(&number("10.99"), "BRL"), Some(1_099));
    assert_eq!(wire::minor_amount(&number("0.07"), "USD"), Some(7));
    assert_eq!(wire::minor_amount(&number("5000"), "CLP"), Some(5_000));
    assert_eq!(wire::minor_amount(&number("1.234"), "KWD"), Some(1_234));
    assert_eq!(wire::minor_amount(&number("10.999"), "BRL"), None);
    assert_eq!(wire::minor_amount(&number("-1"), "BRL"), None);
    assert_eq!(wire::minor_amount(&number("1e300"), "BRL"), None);
    for minor in [1, 99, 1_099, 12_000, 123_456_789] {
        let major = wire::major_amount(minor, "BRL");
        assert_eq!(wire::minor_amount(&major, "BRL"), Some(minor), "{major}");
    }
    // Large amounts with cents: the float times the scale was off by 2e-6 and read as
    // another payment's amount (a real charge left unknown for good).
    assert_eq!(
        wire::minor_amount(&number("150000000.55"), "IDR"),
        Some(15_000_000_055)
    );
    assert_eq!(
        wire::minor_amount(&number("16777216.123"), "KWD"),
        Some(16_777_216_123)
    );
    for (minor, currency) in [
        (15_000_000_055, "IDR"),
        (wire::MAX_AMOUNT_MINOR, "BRL"),
        (wire::MAX_AMOUNT_MINOR - 1, "KWD"),
        (wire::MAX_AMOUNT_MINOR, "CLP"),
        (987_654_321_987, "COP"),
    ] {
        let major = wire::major_amount(minor, currency);
        let sent: serde_json::Number = serde_json::from_str(&major.to_string()).unwrap();
        assert_eq!(
            wire::minor_amount(&sent, currency),
            Some(minor),
            "{major} {currency}"
        );
    }
}

#[test]
fn config_debug_prints_no_key() {
    let config = Config::sandbox("http://127.0.0.1:8081");
    let printed = format!("{config:?}");
    assert!(!printed.contains(config.x_trans_key.expose()), "{printed}");
    assert!(!printed.contains(SECRET), "{printed}");
}

#[test]
fn manual_capture_authorizes_only_and_automatic_captures() {
    let capture_flag = |mode| {
        let mut payment = start("4000000000001000");
        payment.capture_mode = mode;
        let Step::Call { request, .. } = adapter().start(&payment, &cx()) else {
            panic!("expected a call");
        };
        let json: serde_json::Value =
            serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
        json["card"]["capture"].clone()
    };
    assert_eq!(capture_flag(CaptureMode::Manual), serde_json::json!(false));
    assert_eq!(
        capture_flag(CaptureMode::Automatic),
        serde_json::json!(true)
    );
}

#[test]
fn the_removed_backend_wide_capture_key_is_refused_by_name() {
    let config = |extra: &str| {
        serde_json::from_str::<Config>(&format!(
            r#"{{"x_login":"l","x_trans_key":"t","secret_key":"s"{extra}}}"#
        ))
    };
    assert!(config("").is_ok());
    for value in ["true", "false"] {
        let error = config(&format!(r#","capture":{value}"#))
            .unwrap_err()
            .to_string();
        assert!(error.contains("`capture` was removed"), "{error}");
        assert!(error.contains("capture_mode"), "{error}");
    }
}

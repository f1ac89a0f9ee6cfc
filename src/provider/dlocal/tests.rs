//! The adapter's pure functions fed with canned dLocal answers: no network. Signatures
//! are recomputed here with `hmac` directly, and checked against values computed with
//! Python's `hmac` module.

use crate::order::{Currency, OrderId};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::*;
use crate::emv::{
    BrowserDetails, BrowserReadings, ChallengeWindowSize, Eci, Pan, ServerReadings, TransStatus,
};
use crate::payment::{CardDetails, Cvv, DisplayMode, ExternalAuthentication, Payer};
use crate::provider::{HttpMethod, Secret};

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

#[test]
fn x_date_is_iso_utc_with_milliseconds() {
    assert_eq!(x_date(NOW_MS), "2018-07-12T13:46:28.629Z");
    assert_eq!(x_date(0), "1970-01-01T00:00:00.000Z");
    // A leap day and the last millisecond of a year.
    assert_eq!(x_date(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(x_date(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
}

#[test]
fn signature_matches_an_independent_hmac_and_python() {
    let date = "2018-07-12T13:46:28.629Z";
    let body = r#"{"a":1}"#;
    let ours = signature(&Secret::from(SECRET), LOGIN, date, body.as_bytes());
    assert_eq!(ours, independent_hmac(&format!("{LOGIN}{date}{body}")));
    assert_eq!(
        ours,
        "7127f42cae25ea2155debbe5e6213bc3ea74f79aeb572540049788cf83831dc9"
    );
}

#[test]
fn create_is_signed_keyed_and_carries_what_dlocal_needs() {
    let Step::Call { state, request } = adapter().start(&start("4000000000001000"), &cx()) else {
        panic!("expected a call");
    };
    assert!(matches!(state, State::Creating { .. }));
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/secure_payments");
    assert!(
        request.retry_safe,
        "the idempotency key makes a resend harmless"
    );
    let body = request.body.as_deref().unwrap();
    assert_eq!(header(&request, "X-Date"), "2018-07-12T13:46:28.629Z");
    assert_eq!(header(&request, "X-Version"), "2.1");
    assert_eq!(header(&request, "X-Trans-Key"), "fm12O7G9");
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z{body}"))
        )
    );
    assert_eq!(
        header(&request, "X-Idempotency-Key"),
        cx().idempotency_key("secure-payment")
    );
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["amount"], serde_json::json!(120));
    assert_eq!(json["country"], "BR");
    assert_eq!(json["payer"]["name"], "Thiago Gabriel");
    assert_eq!(json["payer"]["ip"], "179.27.83.210");
    assert_eq!(json["card"]["number"], "4000000000001000");
    assert_eq!(json["card"]["capture"], true);
    assert_eq!(
        json["callback_url"],
        "https://shop.example/v1/returns/0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        json["notification_url"],
        "https://shop.example/v1/webhooks/dlocal"
    );
    assert!(json.get("three_dsecure").is_none());
    // The state keeps no card number, CVV or credential.
    let stored = serde_json::to_string(&state).unwrap();
    for secret in ["4000000000001000", "\"123\"", SECRET, "fm12O7G9"] {
        assert!(!stored.contains(secret), "{secret} in {stored}");
    }
}

#[test]
fn challenge_wish_forces_3ds_and_external_authentication_is_mpi() {
    let mut wish = start("4000000000001000");
    wish.challenge = ChallengePreference::Mandated;
    let Step::Call { request, .. } = adapter().start(&wish, &cx()) else {
        panic!()
    };
    let json: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(json["three_dsecure"], serde_json::json!({"force": true}));

    let mut mpi = start("4000000000001000");
    mpi.external_authentication = Some(ExternalAuthentication {
        version: "2.2.0".into(),
        trans_status: TransStatus::Y,
        eci: Eci::parse("05").unwrap(),
        cavv: "AAABBBCCC".into(),
        xid: None,
        ds_transaction_id: Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b".into()),
    });
    let Step::Call { request, .. } = adapter().start(&mpi, &cx()) else {
        panic!()
    };
    let json: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(json["three_dsecure"]["mpi"], true);
    assert_eq!(json["three_dsecure"]["three_dsecure_version"], "2.2.0");
    assert_eq!(json["three_dsecure"]["eci"], "05");
    assert_eq!(json["three_dsecure"]["authentication_response"], "Y");
    assert!(json["three_dsecure"].get("xid").is_none());

    mpi.external_authentication.as_mut().unwrap().trans_status = TransStatus::N;
    let result = done(adapter().start(&mpi, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);
}

#[test]
fn missing_country_fails_before_any_call() {
    let mut no_country = start("4000000000001000");
    no_country.payer.country = None;
    let result = done(adapter().start(&no_country, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert!(error.provider_message.unwrap().contains("country"));
}

#[test]
fn amounts_follow_the_currency_exponent() {
    assert_eq!(wire::major_amount(12_000, "BRL").to_string(), "120");
    assert_eq!(wire::major_amount(1_050, "BRL").to_string(), "10.5");
    assert_eq!(wire::major_amount(7, "USD").to_string(), "0.07");
    assert_eq!(wire::major_amount(5_000, "CLP").to_string(), "5000");
    assert_eq!(wire::major_amount(1_234, "KWD").to_string(), "1.234");
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

fn callback(status: &str, payment_id: &str, signed_status: &str) -> BrowserReturn {
    let date = "2024-05-01T10:00:00.000Z";
    let signature = independent_hmac(&format!(
        "{LOGIN}{date}{{status:{signed_status},paymentId:{payment_id}}}"
    ));
    BrowserReturn {
        fields: vec![
            ("paymentId".into(), payment_id.into()),
            ("status".into(), status.into()),
            ("date".into(), date.into()),
            ("signature".into(), signature),
        ],
    }
}

#[test]
fn a_signed_callback_rereads_the_payment_and_ignores_its_status() {
    let back = callback("APPROVED", "D-4-abc", "APPROVED");
    assert_eq!(
        adapter().verify_browser_return(&authenticating(), &back, &cx()),
        Ok(())
    );
    let Ok(Step::Call { state, request }) =
        adapter().on_browser_return(authenticating(), &back, &cx())
    else {
        panic!("expected the payment to be re-read");
    };
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
    assert!(request.retry_safe);
    assert_eq!(request.body, None);
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z"))
        )
    );
    // The callback said APPROVED; dLocal says REJECTED: dLocal wins.
    let result = done(adapter().on_response(
        state.clone(),
        answer(200, &payment("REJECTED", "320", "")),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Failed);
    // Still pending: back to dLocal's page.
    let step = adapter().on_response(state, answer(200, &payment("PENDING", "101", "")), &cx());
    assert_eq!(
        step,
        Step::Browser {
            state: authenticating(),
            action: redirect("http://127.0.0.1:8081/dlocal/three-ds/D-4-abc"),
        }
    );
}

#[test]
fn a_read_naming_a_foreign_page_never_ends_a_payment_whose_payer_was_sent() {
    let back = callback("PAID", "D-4-abc", "PAID");
    let Ok(Step::Call { state, .. }) = adapter().on_browser_return(authenticating(), &back, &cx())
    else {
        panic!("expected the payment to be re-read");
    };
    let elsewhere = payment(
        "PENDING",
        "101",
        r#","three_dsecure":{"redirect_url":"http://evil.example/three-ds"}"#,
    );
    // Not sent there, but the payer may still be on dLocal's own page.
    assert_eq!(
        adapter().on_response(state, answer(200, &elsewhere), &cx()),
        in_doubt(Some("D-4-abc"), Some(PAGE))
    );
}

#[test]
fn a_confirming_read_without_an_answer_leaves_the_payment_in_doubt() {
    let back = callback("PAID", "D-4-abc", "PAID");
    let Ok(Step::Call { state, .. }) = adapter().on_browser_return(authenticating(), &back, &cx())
    else {
        panic!("expected the payment to be re-read");
    };
    // dLocal may have charged: a read that gets no answer dLocal can be believed on ends
    // nothing, and no session expiry can end it either: the payment is looked up (and
    // the notification dLocal repeats finds it too).
    for unanswered in [
        answer(503, r#"{"error":"sandbox fault injected"}"#),
        answer(500, r#"{"code":7000}"#),
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        // A refusal of the read is no word on the payment.
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
        answer(403, r#"{"code":3001,"message":"Invalid credentials"}"#),
        answer(
            200,
            &payment("PAID", "200", "").replace("D-4-abc", "D-4-zzz"),
        ),
    ] {
        assert_eq!(
            adapter().on_response(state.clone(), unanswered.clone(), &cx()),
            in_doubt(Some("D-4-abc"), Some(PAGE)),
            "{unanswered:?}"
        );
    }
}

#[test]
fn reconcile_looks_a_lost_create_up_by_its_order() {
    let adapter = adapter();
    let Step::Call { state, request } = adapter.reconcile(creating(), &cx()) else {
        panic!("expected a lookup");
    };
    assert_eq!(state, State::InDoubt(doubt_by_order()));
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/orders/order-1");
    assert!(request.retry_safe);
    assert_eq!(request.body, None);
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z"))
        )
    );

    // dLocal has no payment for the order: the create never reached it.
    let not_found = done(adapter.on_response(
        state.clone(),
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
        &cx(),
    ));
    assert_eq!(not_found, answer::not_found());

    // It has one: read it whole, by its id.
    let order_object = r#"{"order_id":"order-1","payment_id":"D-4-abc","currency":"BRL",
        "amount":120.00,"status":"PAID","status_code":"200","status_detail":"Paid"}"#;
    let Step::Call {
        state: next,
        request,
    } = adapter.on_response(state.clone(), answer(200, order_object), &cx())
    else {
        panic!("expected the payment to be read");
    };
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
    assert_eq!(next, in_doubt_state(Some("D-4-abc"), None));

    // No answer, a 404 not in dLocal's shape, a refusal, another order's object: still
    // in doubt, looked up again later.
    for response in [
        Err(TransportFailure::Timeout),
        answer(503, r#"{"error":"sandbox fault injected"}"#),
        answer(404, "<html>not found</html>"),
        answer(403, r#"{"code":3001,"message":"Invalid signature"}"#),
        answer(200, &order_object.replace("order-1", "order-2")),
        answer(200, "[]"),
    ] {
        assert_eq!(
            adapter.on_response(state.clone(), response.clone(), &cx()),
            in_doubt(None, None),
            "{response:?}"
        );
    }
}

fn in_doubt_state(payment_id: Option<&str>, redirect_url: Option<&str>) -> State {
    let Step::Unknown { state } = in_doubt(payment_id, redirect_url) else {
        unreachable!()
    };
    state
}

#[test]
fn a_looked_up_payment_ends_the_doubt_only_with_dlocals_final_word() {
    let adapter = adapter();
    let sent = in_doubt_state(Some("D-4-abc"), Some(PAGE));
    let never_sent = in_doubt_state(Some("D-4-abc"), None);
    let Step::Call { request, .. } = adapter.reconcile(sent.clone(), &cx()) else {
        panic!("expected a lookup");
    };
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");

    let paid = done(adapter.on_response(
        sent.clone(),
        answer(
            200,
            &payment("PAID", "200", r#","three_dsecure":{"eci":"05"}"#),
        ),
        &cx(),
    ));
    assert_eq!(paid.status, PaymentStatus::Authorized);
    assert_eq!(paid.provider_payment_id.as_deref(), Some("D-4-abc"));
    assert_eq!(paid.eci, Eci::parse("05").ok());
    let declined = done(adapter.on_response(
        never_sent.clone(),
        answer(200, &payment("REJECTED", "301", "")),
        &cx(),
    ));
    assert_eq!(declined.status, PaymentStatus::Declined);

    // Never adopted: another payment, order, amount or currency.
    for foreign in [
        payment("PAID", "200", "").replace("D-4-abc", "D-4-zzz"),
        payment("PAID", "200", "").replace("order-1", "order-2"),
        payment("PAID", "200", "").replace(r#""amount":120"#, r#""amount":120.01"#),
        payment("PAID", "200", "").replace("BRL", "USD"),
        payment("PAID", "200", "").replace(r#""amount":120,"#, ""),
    ] {
        assert_eq!(
            adapter.on_response(sent.clone(), answer(200, &foreign), &cx()),
            Step::Unknown {
                state: sent.clone()
            },
            "{foreign}"
        );
    }

    // Pending at dLocal's page: a payer who was sent there may still finish it, so the
    // payment stays in doubt; one who never was goes there now.
    let pending = payment(
        "PENDING",
        "101",
        &format!(r#","three_dsecure":{{"redirect_url":"{PAGE}"}}"#),
    );
    assert_eq!(
        adapter.on_response(sent.clone(), answer(200, &pending), &cx()),
        Step::Unknown {
            state: sent.clone()
        }
    );
    assert_eq!(
        adapter.on_response(never_sent.clone(), answer(200, &pending), &cx()),
        Step::Browser {
            state: authenticating(),
            action: redirect(PAGE),
        }
    );
    let elsewhere = pending.replace(PAGE, "http://evil.example/three-ds");
    assert_eq!(
        adapter.on_response(never_sent.clone(), answer(200, &elsewhere), &cx()),
        Step::Unknown { state: never_sent }
    );

    // A lookup that gets no answer, or a refusal: looked up again later.
    for response in [
        Err(TransportFailure::Connection("reset".into())),
        answer(500, r#"{"code":7000}"#),
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
    ] {
        assert_eq!(
            adapter.on_response(sent.clone(), response, &cx()),
            Step::Unknown {
                state: sent.clone()
            }
        );
    }
}

fn abandoned() -> Abandoned {
    Abandoned {
        order: order(),
        payment_id: "D-4-abc".into(),
        cancelled_by: None,
    }
}

#[test]
fn a_session_expiring_on_dlocals_page_is_put_in_doubt_to_be_cancelled_there() {
    let adapter = adapter();
    assert_eq!(
        adapter.on_expiry(authenticating(), &cx()),
        Step::Unknown {
            state: State::Cancelling(abandoned())
        }
    );
    // Any other state keeps today's doubt (hosts only expire a session awaiting the
    // browser, whose state is `Authenticating`).
    assert_eq!(
        adapter.on_expiry(in_doubt_state(Some("D-4-abc"), Some(PAGE)), &cx()),
        in_doubt(Some("D-4-abc"), Some(PAGE))
    );

    // The host's lookup of it is the cancel: POST, signed over an empty body, safe to
    // send again.
    let Step::Call { state, request } = adapter.reconcile(State::Cancelling(abandoned()), &cx())
    else {
        panic!("expected the cancel");
    };
    assert_eq!(state, State::Cancelling(abandoned()));
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(
        request.url,
        "http://127.0.0.1:8081/dlocal/payments/D-4-abc/cancel"
    );
    assert_eq!(request.purpose, "dlocal.cancel");
    assert!(request.retry_safe);
    assert_eq!(request.body, None);
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z"))
        )
    );
    assert_eq!(header(&request, "X-Trans-Key"), "fm12O7G9");
}

#[test]
fn a_cancelled_payment_ends_session_expired_with_dlocals_id() {
    let adapter = adapter();
    let cancelling = State::Cancelling(abandoned());
    let cancelled = payment("CANCELLED", "400", "");
    let expired = done(adapter.on_response(cancelling.clone(), answer(200, &cancelled), &cx()));
    assert_eq!(expired.status, PaymentStatus::Error);
    let error = expired.error.as_ref().expect("error");
    assert_eq!(error.code, ResultCode::SessionExpired);
    assert_eq!(error.provider_code.as_deref(), Some("400"));
    assert_eq!(expired.provider_payment_id.as_deref(), Some("D-4-abc"));
    assert!(!expired.liability_shift);
    // dLocal's own expiry of the payment is the same end.
    let by_dlocal = done(adapter.on_response(
        cancelling.clone(),
        answer(200, &payment("EXPIRED", "", "")),
        &cx(),
    ));
    assert_eq!(
        by_dlocal.error.map(|e| e.code),
        Some(ResultCode::SessionExpired)
    );
}

#[test]
fn a_cancel_on_dlocals_page_cancels_there_and_ends_cancelled_by_whoever_asked() {
    use crate::payment::Canceller;
    let adapter = adapter();
    let asked = Abandoned {
        cancelled_by: Some(Canceller::Shopper),
        ..abandoned()
    };
    // Not `cancelled` yet: the cancel goes to dLocal first, at once.
    let Step::Call { state, request } =
        adapter.on_cancel(authenticating(), Canceller::Shopper, &cx())
    else {
        panic!("expected the cancel at dLocal");
    };
    assert_eq!(state, State::Cancelling(asked.clone()));
    assert_eq!(request.purpose, "dlocal.cancel");
    let cancelled = done(adapter.on_response(
        state.clone(),
        answer(200, &payment("CANCELLED", "400", "")),
        &cx(),
    ));
    assert_eq!(cancelled.status, PaymentStatus::Cancelled);
    let error = cancelled.error.as_ref().expect("error");
    assert_eq!(error.code, ResultCode::CancelledByShopper);
    assert_eq!(error.provider_code.as_deref(), Some("400"));
    assert_eq!(cancelled.provider_payment_id.as_deref(), Some("D-4-abc"));
    // Its answer lost: in doubt, the cancel (and who asked) kept for the reconciler.
    assert_eq!(
        adapter.on_response(
            state,
            Err(TransportFailure::Connection("reset".into())),
            &cx()
        ),
        Step::Unknown {
            state: State::Cancelling(asked)
        }
    );
    // A state not on dLocal's page: what an expiry does, never `cancelled`.
    assert_eq!(
        adapter.on_cancel(
            in_doubt_state(Some("D-4-abc"), Some(PAGE)),
            Canceller::Merchant,
            &cx()
        ),
        in_doubt(Some("D-4-abc"), Some(PAGE))
    );
}

#[test]
fn a_refused_cancel_reads_the_payment_and_ends_with_dlocals_word() {
    let adapter = adapter();
    let cancelling = State::Cancelling(abandoned());
    let not_pending = r#"{"code":5002,"message":"Invalid status: the payment is PAID"}"#;
    let Step::Call { state, request } =
        adapter.on_response(cancelling.clone(), answer(400, not_pending), &cx())
    else {
        panic!("expected the payment to be read");
    };
    let reading = State::ReadingAfterCancel(abandoned());
    assert_eq!(state, reading);
    assert_eq!(request.method, HttpMethod::Get);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
    assert!(request.retry_safe);

    // The payer finished first: paid, rejected, or cancelled by an earlier cancel whose
    // answer was lost.
    let paid = done(adapter.on_response(
        reading.clone(),
        answer(
            200,
            &payment("PAID", "200", r#","three_dsecure":{"eci":"05"}"#),
        ),
        &cx(),
    ));
    assert_eq!(paid.status, PaymentStatus::Authorized);
    assert_eq!(paid.provider_payment_id.as_deref(), Some("D-4-abc"));
    assert_eq!(paid.eci, Eci::parse("05").ok());
    let rejected = done(adapter.on_response(
        reading.clone(),
        answer(200, &payment("REJECTED", "320", "")),
        &cx(),
    ));
    assert_eq!(rejected.status, PaymentStatus::Failed);
    assert_eq!(
        rejected.error.map(|e| e.code),
        Some(ResultCode::AuthenticationFailed)
    );
    let cancelled = done(adapter.on_response(
        reading.clone(),
        answer(200, &payment("CANCELLED", "400", "")),
        &cx(),
    ));
    assert_eq!(
        cancelled.error.map(|e| e.code),
        Some(ResultCode::SessionExpired)
    );

    // Still pending, no answer, a refusal, another payment's: cancelled again later.
    for response in [
        answer(
            200,
            &payment(
                "PENDING",
                "101",
                &format!(r#","three_dsecure":{{"redirect_url":"{PAGE}"}}"#),
            ),
        ),
        Err(TransportFailure::Timeout),
        answer(503, r#"{"code":7000}"#),
        answer(404, r#"{"code":4000,"message":"Payment not found"}"#),
        answer(
            200,
            &payment("PAID", "200", "").replace("order-1", "order-2"),
        ),
        answer(
            200,
            &payment("PAID", "200", "").replace(r#""amount":120"#, r#""amount":1"#),
        ),
    ] {
        assert_eq!(
            adapter.on_response(reading.clone(), response.clone(), &cx()),
            Step::Unknown {
                state: cancelling.clone()
            },
            "{response:?}"
        );
    }
}

#[test]
fn a_cancel_without_an_answer_dlocal_can_be_believed_on_is_sent_again_later() {
    let adapter = adapter();
    let cancelling = State::Cancelling(abandoned());
    for response in [
        Err(TransportFailure::Timeout),
        Err(TransportFailure::Connection("reset".into())),
        answer(500, r#"{"code":7000}"#),
        answer(200, "<html>"),
        answer(
            200,
            &payment("CANCELLED", "400", "").replace("D-4-abc", "D-4-zzz"),
        ),
        answer(200, &payment("CANCELLED", "400", "").replace("BRL", "USD")),
        // Accepted but not yet cancelled: dLocal has not decided.
        answer(200, &payment("PENDING", "101", "")),
    ] {
        assert_eq!(
            adapter.on_response(cancelling.clone(), response.clone(), &cx()),
            Step::Unknown {
                state: cancelling.clone()
            },
            "{response:?}"
        );
    }
    // A paid answer to the cancel itself is dLocal's word too.
    let paid =
        done(adapter.on_response(cancelling, answer(200, &payment("PAID", "200", "")), &cx()));
    assert_eq!(paid.status, PaymentStatus::Authorized);
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
}

#[test]
fn forged_callbacks_change_nothing() {
    let mut bad_signature = callback("APPROVED", "D-4-abc", "APPROVED");
    bad_signature.fields[3].1 = "0".repeat(64);
    let mut duplicated = callback("APPROVED", "D-4-abc", "APPROVED");
    duplicated
        .fields
        .push(("paymentId".into(), "D-4-abc".into()));
    let cases = [
        (bad_signature, "bad_signature"),
        // Signed for REJECTED, sent as APPROVED.
        (callback("APPROVED", "D-4-abc", "REJECTED"), "bad_signature"),
        // Validly signed by dLocal, but for another payment (replayed from elsewhere).
        (
            callback("APPROVED", "D-4-other", "APPROVED"),
            "foreign_payment",
        ),
        (duplicated, "malformed_callback"),
        (BrowserReturn::default(), "malformed_callback"),
    ];
    for (back, code) in cases {
        assert_eq!(
            adapter()
                .verify_browser_return(&authenticating(), &back, &cx())
                .map_err(|e| e.code),
            Err(code)
        );
        assert_eq!(
            adapter()
                .on_browser_return(authenticating(), &back, &cx())
                .map_err(|e| e.code),
            Err(code)
        );
    }
    // A session still creating its payment awaits no browser.
    let back = callback("APPROVED", "D-4-abc", "APPROVED");
    assert_eq!(
        adapter()
            .verify_browser_return(&creating(), &back, &cx())
            .map_err(|e| e.code),
        Err("not_awaiting_browser")
    );
}

fn notification(body: &str, login: &str, secret_ok: bool) -> Notification {
    let date = "2024-05-01T10:00:00.000Z";
    let mut signature = independent_hmac(&format!("{login}{date}{body}"));
    if !secret_ok {
        signature = signature.replace('a', "b");
    }
    Notification {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-date".into(), date.into()),
            ("x-login".into(), login.into()),
            (
                "authorization".into(),
                format!("V2-HMAC-SHA256, Signature: {signature}"),
            ),
        ],
        body: body.into(),
    }
}

#[test]
fn x_date_reads_back_what_it_writes() {
    for ms in [
        0,
        NOW_MS,
        951_782_400_000,
        1_735_689_599_999,
        4_102_444_800_123,
    ] {
        assert_eq!(parse_x_date(&x_date(ms)), Some(ms), "{ms}");
    }
    assert_eq!(parse_x_date("2018-07-12T13:46:28Z"), Some(NOW_MS - 629));
    for bad in [
        "",
        "2018-07-12 13:46:28.629Z",
        "2018-13-12T13:46:28.629Z",
        "2018-07-12T13:46:28.6Z",
        "x018-07-12T13:46:28.629Z",
        "2018-07-12T13:46:28.629",
    ] {
        assert_eq!(parse_x_date(bad), None, "{bad}");
    }
}

#[test]
fn notifications_outside_the_window_are_stale() {
    let body = payment("PAID", "200", "");
    let sent = parse_x_date("2024-05-01T10:00:00.000Z").unwrap();
    let n = notification(&body, LOGIN, true);
    assert!(notification_is_fresh(&n, sent));
    assert!(notification_is_fresh(&n, sent + NOTIFICATION_WINDOW_MS));
    assert!(!notification_is_fresh(
        &n,
        sent + NOTIFICATION_WINDOW_MS + 1
    ));
    assert!(!notification_is_fresh(
        &n,
        sent - NOTIFICATION_WINDOW_MS - 1
    ));
    let mut undated = n.clone();
    undated.headers.retain(|(name, _)| name != "x-date");
    assert!(!notification_is_fresh(&undated, sent));
}

#[test]
fn notifications_are_verified_before_anything_is_read() {
    let config = Config::sandbox("http://127.0.0.1:8081");
    let body = payment("PAID", "200", "");
    assert_eq!(
        verify_notification(&config, &notification(&body, LOGIN, true)),
        Ok(NotificationHint {
            payment_id: "D-4-abc".into(),
            order_id: Some("order-1".into()),
            status: "PAID".into(),
        })
    );
    assert_eq!(
        verify_notification(&config, &notification(&body, LOGIN, false)),
        Err(DlocalError::BadSignature)
    );
    assert_eq!(
        verify_notification(&config, &notification(&body, "someone-else", true)),
        Err(DlocalError::WrongLogin)
    );
    let mut tampered = notification(&body, LOGIN, true);
    tampered.body = tampered.body.replace("PAID", "REJECTED");
    assert_eq!(
        verify_notification(&config, &tampered),
        Err(DlocalError::BadSignature)
    );
    let mut unsigned = notification(&body, LOGIN, true);
    unsigned.headers.retain(|(n, _)| n != "authorization");
    assert_eq!(
        verify_notification(&config, &unsigned),
        Err(DlocalError::MissingHeader("Authorization"))
    );
    assert_eq!(
        verify_notification(&config, &notification("[1]", LOGIN, true)),
        Err(DlocalError::MalformedBody)
    );
}

#[test]
fn a_final_notification_for_this_session_rereads_the_payment() {
    let adapter = adapter();
    let paid = notification(&payment("PAID", "200", ""), LOGIN, true);
    // Awaiting the browser, and even before the create answered (found by order id).
    for state in [authenticating(), creating()] {
        let Some(Step::Call { request, state }) = adapter.on_notification(state, &paid, &cx())
        else {
            panic!("expected a re-read");
        };
        assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
        assert!(matches!(state, State::Confirming { .. }));
    }
    // In doubt (the create's answer lost, found by order id; or a read's answer lost
    // after the payer was sent to dLocal's page): looked up by the payment id the
    // notification names.
    for state in [
        State::InDoubt(doubt_by_order()),
        in_doubt_state(Some("D-4-abc"), Some(PAGE)),
    ] {
        let Some(Step::Call { request, state }) =
            adapter.on_notification(state.clone(), &paid, &cx())
        else {
            panic!("expected a lookup");
        };
        assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
        assert!(
            matches!(&state, State::InDoubt(Doubt { payment_id: Some(id), .. }) if id == "D-4-abc"),
            "{state:?}"
        );
    }
    // Abandoned on dLocal's page (being cancelled): read as after a refused cancel.
    for state in [
        State::Cancelling(abandoned()),
        State::ReadingAfterCancel(abandoned()),
    ] {
        let Some(Step::Call { request, state }) = adapter.on_notification(state, &paid, &cx())
        else {
            panic!("expected a read");
        };
        assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/payments/D-4-abc");
        assert_eq!(state, State::ReadingAfterCancel(abandoned()));
    }
    // Pending is no news; forged, foreign or unsigned changes nothing.
    let pending = notification(&payment("PENDING", "101", ""), LOGIN, true);
    let forged = notification(&payment("PAID", "200", ""), LOGIN, false);
    let foreign = notification(
        &payment("PAID", "200", "").replace("D-4-abc", "D-4-zzz"),
        LOGIN,
        true,
    );
    for n in [pending, forged, foreign] {
        assert_eq!(adapter.on_notification(authenticating(), &n, &cx()), None);
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

/// A pending refund's outcome comes to the same webhook as payments: it is accepted (so
/// dLocal stops retrying) and changes no payment, since it names the refund's id.
#[test]
fn a_refund_notification_is_acknowledged_and_moves_no_payment() {
    let refund = r#"{"id":"REF-1","payment_id":"D-4-abc","amount":25,"currency":"BRL",
        "status":"SUCCESS","status_code":200,"status_detail":"The refund was paid.",
        "order_id":"order-1"}"#;
    let n = notification(refund, LOGIN, true);
    let sent = parse_x_date("2024-05-01T10:00:00.000Z").unwrap();
    assert_eq!(
        adapter().order_of_notification(&n, sent),
        Ok(Some("order-1".into()))
    );
    assert_eq!(adapter().on_notification(authenticating(), &n, &cx()), None);
}

/// One state of every stage (`stored.rs` reads them by hand).
fn every_state() -> Vec<State> {
    let abandoned = |cancelled_by| Abandoned {
        order: order(),
        payment_id: "D-1".into(),
        cancelled_by,
    };
    vec![
        creating(),
        authenticating(),
        State::Confirming {
            order: order(),
            payment_id: "D-1".into(),
            redirect_url: Some("https://3ds.dlocal.test/r".into()),
        },
        State::Confirming {
            order: order(),
            payment_id: "D-1".into(),
            redirect_url: None,
        },
        in_doubt_state(None, None),
        in_doubt_state(Some("D-1"), Some("https://3ds.dlocal.test/r")),
        State::InDoubt(doubt_by_order()),
        State::Cancelling(abandoned(None)),
        State::ReadingAfterCancel(abandoned(Some(crate::payment::Canceller::Merchant))),
    ]
}

/// The stored shape is the derived `Serialize`'s (tag `stage`, newtype variants' members
/// beside it), read back by hand: every stage, from a JSON value and from text; a missing
/// member is refused unless it is an `Option`, an unknown stage too.
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
        let serde_json::Value::Object(members) = stored else {
            panic!("an object");
        };
        let stage = members["stage"].as_str().unwrap().to_owned();
        for name in members.keys().filter(|name| *name != "stage") {
            let mut without = members.clone();
            without.remove(name);
            let read = serde_json::from_value::<State>(without.into());
            let optional = matches!(
                (stage.as_str(), name.as_str()),
                ("confirming", "redirect_url")
                    | ("in_doubt", "payment_id" | "redirect_url")
                    | ("cancelling" | "reading_after_cancel", "cancelled_by")
            );
            assert_eq!(read.is_ok(), optional, "{name} missing: {members:?}");
        }
        let mut unknown = members.clone();
        unknown.insert("stage".into(), "levitating".into());
        assert!(serde_json::from_value::<State>(unknown.into()).is_err());
    }
}

/// The adapter's state is stored as text read back as a value
/// (`backend::providers::encode`): every step, the same JSON as `to_value` wrote.
#[test]
fn every_state_is_stored_as_to_value_stored_it() {
    crate::backend::providers::assert_encodes_as_to_value(&every_state());
}

/// `status_code` (text or any number, or `null`/absent) and the error body's `code` (text
/// or any number) read every kind of JSON value as the derive's untagged
/// `StringOrNumber` did: same strings, same errors and positions.
#[test]
fn string_or_number_members_read_as_the_derive_read_them() {
    use crate::text_or_number::{outcome, INPUTS};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrNumber {
        Text(String),
        Number(serde_json::Number),
    }
    impl From<StringOrNumber> for String {
        fn from(value: StringOrNumber) -> String {
            match value {
                StringOrNumber::Text(text) => text,
                StringOrNumber::Number(number) => number.to_string(),
            }
        }
    }
    #[derive(Debug, Deserialize)]
    struct BeforeCode {
        #[serde(deserialize_with = "required")]
        code: String,
    }
    fn required<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        StringOrNumber::deserialize(d).map(String::from)
    }
    fn optional<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<StringOrNumber>::deserialize(d)?.map(String::from))
    }
    #[derive(Debug, Deserialize)]
    struct BeforeStatus {
        #[serde(default, deserialize_with = "optional")]
        status_code: Option<String>,
    }
    for input in INPUTS {
        let body = format!(r#"{{"code": {input}, "message": "m"}}"#);
        let now = serde_json::from_str::<wire::ErrorBody>(&body).map(|e| e.code);
        let before = serde_json::from_str::<BeforeCode>(&body).map(|e| e.code);
        assert_eq!(outcome(now), outcome(before), "{body}");
        let body = format!(r#"{{"id": "D-1", "status": "PAID", "status_code": {input}}}"#);
        let now = serde_json::from_str::<wire::PaymentObject>(&body).map(|p| p.status_code);
        let before = serde_json::from_str::<BeforeStatus>(&body).map(|p| p.status_code);
        assert_eq!(outcome(now), outcome(before), "{body}");
    }
    let code: wire::ErrorBody = serde_json::from_str(r#"{"code": 5008}"#).unwrap();
    assert_eq!(code.code, "5008");
}

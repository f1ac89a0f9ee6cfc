//! The Paysafe adapter end to end against the sandbox over real HTTP: every contract card
//! Paysafe's flow supports, the sandbox ledger after each, the stored state never
//! holding the card number, and a lost authentication answer recovered by its
//! merchantRefNum.

use crate::support;

use support::flow::{self, payment, Cardholder, Trace, CVV};
use support::recording::Recording;
use threeds_bridge::emv::{Eci, Pan, ThreeDsCompInd, TransStatus};
use threeds_bridge::payment::{PaymentMethod, PaymentResult, PaymentStatus, ResultCode};
use threeds_bridge::provider::paysafe::{Config, PaysafeAdapter};
use threeds_bridge::provider::{Adapter, Step};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{LedgerEntry, Provider};
use threeds_bridge::sandbox::RunningSandbox;

fn ledger(sandbox: &RunningSandbox) -> Vec<LedgerEntry> {
    sandbox
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .filter(|e| e.provider == Provider::Paysafe)
        .collect()
}

fn session_id(pan: &str, tag: &str) -> String {
    let mut id = format!("{pan}{tag}").replace(|c: char| !c.is_ascii_alphanumeric(), "");
    id.push_str(&"0".repeat(32));
    id.truncate(32);
    id
}

/// Runs `pan` through the adapter and checks what every run must satisfy: the state
/// never holds the number, and the ledger has one entry exactly when authorized.
async fn pay(pan: &str, cardholder: Cardholder) -> (PaymentResult, Trace) {
    let sandbox = support::sandbox().await;
    let adapter = Recording::new(PaysafeAdapter::new(Config::sandbox(&sandbox.url)));
    let (result, trace) =
        flow::run(&adapter, &payment(pan), &session_id(pan, "s"), cardholder).await;
    let stored = adapter.stored();
    assert!(!stored.is_empty());
    for state in stored.iter() {
        assert!(
            !state.contains(pan),
            "the stored state holds the PAN: {state}"
        );
        assert!(
            !state.contains(&format!("\"{CVV}\"")),
            "the stored state holds the CVV: {state}"
        );
    }
    let entries = ledger(&sandbox);
    if result.status == PaymentStatus::Authorized {
        assert_eq!(entries.len(), 1, "{pan}: one charge");
        assert_eq!(
            Some(&entries[0].provider_payment_id),
            result.provider_payment_id.as_ref()
        );
        assert_eq!(entries[0].amount, 1099);
        assert_eq!(entries[0].card, Pan::parse(pan).unwrap().masked());
    } else {
        assert!(entries.is_empty(), "{pan}: nothing charged for {result:?}");
    }
    (result, trace)
}

fn eci(value: u8) -> Option<Eci> {
    Eci::new(value)
}

fn assert_authorized(
    result: &PaymentResult,
    version: &str,
    status: Option<TransStatus>,
    eci_value: u8,
    shift: bool,
) {
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert!(result.provider_payment_id.is_some());
    assert_eq!(result.three_ds_version.as_deref(), Some(version));
    assert_eq!(result.trans_status, status, "{result:?}");
    assert_eq!(result.eci, eci(eci_value), "{result:?}");
    assert_eq!(result.liability_shift, shift, "{result:?}");
    assert!(result.error.is_none());
}

fn assert_not_authorized(result: &PaymentResult, status: PaymentStatus, code: ResultCode) {
    assert_eq!(result.status, status, "{result:?}");
    assert_eq!(
        result.error.as_ref().map(|e| e.code),
        Some(code),
        "{result:?}"
    );
    assert!(result.provider_payment_id.is_none());
    assert!(!result.liability_shift);
}

#[tokio::test]
async fn frictionless_cards() {
    for (pan, status, eci_value, shift) in [
        ("4000000000001000", TransStatus::Y, 5, true),
        ("4000000000001109", TransStatus::A, 6, true),
        ("4000000000001307", TransStatus::U, 7, false),
        ("5200000000001005", TransStatus::Y, 2, true),
        ("5200000000001104", TransStatus::A, 1, true),
    ] {
        let (result, trace) = pay(pan, Cardholder::Types("1234")).await;
        assert_authorized(&result, "2.2.0", Some(status), eci_value, shift);
        assert_eq!(
            trace.calls,
            [
                "paysafe.token",
                "paysafe.jwt",
                "paysafe.authentication",
                "paysafe.auth"
            ],
            "{pan}"
        );
        assert!(trace.browser.is_empty(), "{pan}: {:?}", trace.browser);
    }
}

#[tokio::test]
async fn not_authenticated_and_rejected_are_not_authorized() {
    for (pan, status) in [
        ("4000000000001208", TransStatus::N),
        ("4000000000001406", TransStatus::R),
    ] {
        let (result, trace) = pay(pan, Cardholder::Types("1234")).await;
        assert_not_authorized(
            &result,
            PaymentStatus::Failed,
            ResultCode::AuthenticationFailed,
        );
        assert_eq!(result.trans_status, Some(status));
        assert_eq!(result.eci, eci(7));
        assert!(
            !trace.calls.contains(&"paysafe.auth"),
            "{pan}: {:?}",
            trace.calls
        );
    }
}

#[tokio::test]
async fn challenge_with_the_right_code_is_authorized() {
    for (pan, eci_value) in [
        ("4000000000002008", 5),
        ("5200000000002003", 2),
        ("370000000000200", 5),
    ] {
        let (result, trace) = pay(pan, Cardholder::Types("1234")).await;
        assert_authorized(&result, "2.2.0", Some(TransStatus::Y), eci_value, true);
        assert_eq!(trace.browser, ["challenge"], "{pan}");
        assert_eq!(
            trace.calls,
            [
                "paysafe.token",
                "paysafe.jwt",
                "paysafe.authentication",
                "paysafe.finalize",
                "paysafe.authentication.get",
                "paysafe.auth"
            ],
            "{pan}"
        );
    }
}

#[tokio::test]
async fn challenge_with_a_wrong_code_fails_and_cancel_is_cancelled() {
    let (result, _) = pay("4000000000002008", Cardholder::Types("9999")).await;
    assert_not_authorized(
        &result,
        PaymentStatus::Failed,
        ResultCode::AuthenticationFailed,
    );
    assert_eq!(result.trans_status, Some(TransStatus::N));

    let (result, trace) = pay("4000000000002008", Cardholder::Cancels).await;
    assert_not_authorized(
        &result,
        PaymentStatus::Cancelled,
        ResultCode::ChallengeCancelled,
    );
    assert_eq!(result.trans_status, Some(TransStatus::N));
    assert!(!trace.calls.contains(&"paysafe.auth"));
}

#[tokio::test]
async fn method_cards() {
    let (result, trace) = pay("4000000000002107", Cardholder::Types("1234")).await;
    assert_eq!(trace.browser, ["method", "challenge"]);
    assert!(trace.method.is_some());
    assert_authorized(&result, "2.2.0", Some(TransStatus::Y), 5, true);

    let (result, trace) = pay("4000000000002206", Cardholder::Types("1234")).await;
    assert_eq!(trace.browser, ["method"]);
    assert_eq!(
        trace.method,
        Some(ThreeDsCompInd::N),
        "the Method page never answers"
    );
    assert_authorized(&result, "2.2.0", Some(TransStatus::Y), 5, true);
}

#[tokio::test]
async fn three_ds_one_cards() {
    // Enrolled: the PaReq challenge; 1.0.2 no longer shifts liability for Visa.
    let (result, trace) = pay("4000000000003006", Cardholder::Types("1234")).await;
    assert_eq!(trace.browser, ["challenge"]);
    assert_authorized(&result, "1.0.2", Some(TransStatus::Y), 5, false);

    let (result, _) = pay("4000000000003006", Cardholder::Types("0000")).await;
    assert_not_authorized(
        &result,
        PaymentStatus::Failed,
        ResultCode::AuthenticationFailed,
    );

    // Not enrolled: authorized without authentication or liability shift.
    let (result, trace) = pay("4000000000003105", Cardholder::Types("1234")).await;
    assert!(trace.browser.is_empty());
    assert_authorized(&result, "1.0.2", None, 7, false);
}

#[tokio::test]
async fn issuer_decline() {
    let (result, _) = pay("4000000000004004", Cardholder::Types("1234")).await;
    assert_eq!(result.status, PaymentStatus::Declined, "{result:?}");
    let error = result.error.expect("error");
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("3009"));
    assert!(error.provider_message.is_some());
    assert_eq!(result.trans_status, Some(TransStatus::Y));
    assert!(!result.liability_shift);
}

#[tokio::test]
async fn wrong_credentials_are_a_provider_rejection() {
    let sandbox = support::sandbox().await;
    let mut config = Config::sandbox(&sandbox.url);
    config.api_password = "wrong".into();
    let adapter = PaysafeAdapter::new(config);
    let (result, trace) = flow::run(
        &adapter,
        &payment("4000000000001000"),
        &session_id("creds", "x"),
        Cardholder::Types("1234"),
    )
    .await;
    assert_not_authorized(&result, PaymentStatus::Failed, ResultCode::ProviderRejected);
    assert_eq!(result.error.unwrap().provider_code.as_deref(), Some("5279"));
    assert_eq!(trace.calls, ["paysafe.token"]);
}

/// A page-made token (Paysafe.js's, the sandbox's fields here) pays with the card's BIN the
/// token answer told: Paysafe's `/jwt` takes `cardBin`. Without it the payment is refused
/// before any call, where it used to send `/jwt` without the BIN, which only the sandbox
/// accepted.
#[tokio::test]
async fn a_token_pays_with_its_bin_and_is_refused_without_one() {
    let sandbox = support::sandbox().await;
    // The sandbox's fields: the token, and the BIN its answer tells.
    let tokenized = crate::token_no_pan::tokenize(&sandbox, "paysafe", "4000000000001000").await;
    let token = tokenized["token"].as_str().expect("token").to_owned();
    let adapter = PaysafeAdapter::new(Config::sandbox(&sandbox.url));
    let mut start = payment("4000000000001000");
    start.method = PaymentMethod::Token {
        token: token.clone(),
        bin: None,
    };
    let (result, trace) = flow::run(
        &adapter,
        &start,
        &session_id("tok", "a"),
        Cardholder::Cancels,
    )
    .await;
    assert_not_authorized(&result, PaymentStatus::Failed, ResultCode::ProviderRejected);
    assert_eq!(
        result.error.unwrap().provider_code.as_deref(),
        Some("paymentMethod.bin")
    );
    assert!(trace.calls.is_empty(), "{:?}", trace.calls);

    start.method = PaymentMethod::Token {
        token,
        bin: tokenized["bin"].as_str().map(str::to_owned),
    };
    let (result, trace) = flow::run(
        &adapter,
        &start,
        &session_id("tok", "b"),
        Cardholder::Cancels,
    )
    .await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert_eq!(trace.calls.first(), Some(&"paysafe.jwt"));
}

/// The authentication's answer is lost after Paysafe created it; the host repeats the
/// request (it is retry-safe), Paysafe answers 5031, and the adapter reads the existing
/// authentication instead of failing or creating another.
#[tokio::test]
async fn a_lost_authentication_answer_is_recovered_by_merchant_ref_num() {
    let sandbox = support::sandbox().await;
    let adapter = PaysafeAdapter::new(Config::sandbox(&sandbox.url));
    let cx = flow::context(&session_id("lost", "a"));
    let mut step = adapter.start(&payment("4000000000001000"), &cx);
    let endpoint = "/threedsecure/v2/accounts/89987201/authentications".to_owned();
    let mut dropped = false;
    for _ in 0..10 {
        step = match step {
            Step::Unknown { .. } => panic!("a money call in doubt"),
            Step::Call { state, request } => {
                let answer = if request.purpose == "paysafe.authentication" && !dropped {
                    sandbox.sandbox.faults.set(vec![FaultRule {
                        provider: Some(Provider::Paysafe),
                        endpoint: Some(endpoint.clone()),
                        drop_after_commit: true,
                        ..FaultRule::default()
                    }]);
                    let lost = flow::send(&request).await;
                    assert!(lost.is_err(), "the answer is dropped: {lost:?}");
                    sandbox.sandbox.faults.set(Vec::new());
                    assert!(request.retry_safe);
                    dropped = true;
                    // The host's retry of the same request.
                    let again = flow::send(&request).await;
                    assert_eq!(again.as_ref().map(|r| r.status).ok(), Some(409));
                    again
                } else {
                    flow::send(&request).await
                };
                adapter.on_response(state, answer, &cx)
            }
            Step::Done(result) => {
                assert!(dropped);
                assert_authorized(&result, "2.2.0", Some(TransStatus::Y), 5, true);
                assert_eq!(ledger(&sandbox).len(), 1);
                return;
            }
            Step::Browser { .. } | Step::Refused { .. } => panic!("frictionless card"),
        };
    }
    panic!("did not finish");
}

//! The Bambora adapter end to end against the sandbox over real HTTP: every contract card
//! Bambora's flow can express (Bambora's own 4012… cards included), challenges answered,
//! failed and cancelled at the sandbox ACS, 3-D Secure 1.0.2, tokens, the merchant's own
//! authentication (here), forged returns, one through the real backend (`returns.rs`), and
//! lost answers looked up by order number (`lost_answers.rs`) — with the sandbox ledger
//! after each, and the stored state never holding the card number or CVD.

use crate::support;

use support::flow::{self, Cardholder, Trace, CVV};
use support::recording::Recording;
use threeds_bridge::emv::{Eci, Pan, TransStatus};
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{
    BrowserAction, ExternalAuthentication, PaymentMethod, PaymentResult, PaymentStart,
    PaymentStatus, ResultCode,
};
use threeds_bridge::provider::bambora::{BamboraAdapter, Config, State};
use threeds_bridge::provider::{Adapter, BrowserReturn, Context, Step, TransportFailure};
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{LedgerEntry, Provider};
use threeds_bridge::sandbox::RunningSandbox;

mod lost_answers;
mod returns;

const AMOUNT: u64 = 1599;

/// A payment of `pan` as Bambora's Canadian sandbox merchant takes it.
fn payment(pan: &str) -> PaymentStart {
    PaymentStart {
        order_id: OrderId::parse(&format!("order-{}", &pan[pan.len() - 4..])).expect("an order id"),
        amount: AMOUNT,
        currency: Currency::parse("CAD").expect("a currency"),
        browser: flow::browser_details("en-CA", 300),
        ..flow::payment(pan)
    }
}

fn ledger(sandbox: &RunningSandbox) -> Vec<LedgerEntry> {
    sandbox
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .filter(|e| e.provider == Provider::Bambora)
        .collect()
}

/// A 32-hex-digit session id from `tag` (hex of its bytes, so that an id made from a
/// PAN does not hold the PAN).
fn session_id(tag: &str) -> String {
    let mut id: String = tag.bytes().map(|b| format!("{b:02x}")).collect();
    id.push_str(&"0".repeat(32));
    id.truncate(32);
    id
}

/// Checks what every run must satisfy: no stored state holds the number or CVD, and
/// the ledger has exactly one charge, this one, when authorized, and none otherwise.
fn check_run(
    sandbox: &RunningSandbox,
    adapter: &Recording<BamboraAdapter>,
    start: &PaymentStart,
    pan: &str,
    result: &PaymentResult,
) {
    let stored = adapter.stored();
    assert!(!stored.is_empty() || result.status != PaymentStatus::Authorized);
    for state in stored.iter() {
        assert!(
            !state.contains(pan),
            "the stored state holds the PAN: {state}"
        );
        assert!(
            !state.contains(&format!("\"{CVV}\"")),
            "the stored state holds the CVD: {state}"
        );
    }
    let entries = ledger(sandbox);
    if result.status == PaymentStatus::Authorized {
        assert_eq!(entries.len(), 1, "{pan}: one charge, {entries:?}");
        let entry = &entries[0];
        assert_eq!(
            Some(&entry.provider_payment_id),
            result.provider_payment_id.as_ref()
        );
        assert_eq!(entry.amount, AMOUNT as i64);
        assert_eq!(entry.currency, "CAD");
        assert_eq!(entry.order_id, start.order_id);
        assert_eq!(entry.card, Pan::parse(pan).unwrap().masked());
    } else {
        assert!(entries.is_empty(), "{pan}: nothing charged for {result:?}");
    }
}

async fn pay_with(
    start: PaymentStart,
    pan: &str,
    cardholder: Cardholder,
    configure: impl FnOnce(&mut Config),
) -> (PaymentResult, Trace) {
    let sandbox = support::sandbox().await;
    let mut config = Config::sandbox(&sandbox.url);
    configure(&mut config);
    let adapter = Recording::new(BamboraAdapter::new(config));
    let (result, trace) = flow::run(&adapter, &start, &session_id(pan), cardholder).await;
    check_run(&sandbox, &adapter, &start, pan, &result);
    (result, trace)
}

async fn pay(pan: &str, cardholder: Cardholder) -> (PaymentResult, Trace) {
    pay_with(payment(pan), pan, cardholder, |_| {}).await
}

fn assert_authorized(
    result: &PaymentResult,
    version: &str,
    status: TransStatus,
    eci: u8,
    shift: bool,
) {
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert!(result.provider_payment_id.is_some());
    assert_eq!(
        result.three_ds_version.as_deref(),
        Some(version),
        "{result:?}"
    );
    assert_eq!(result.trans_status, Some(status), "{result:?}");
    assert_eq!(result.eci, Eci::new(eci), "{result:?}");
    assert_eq!(result.liability_shift, shift, "{result:?}");
    assert!(result.error.is_none());
    assert_eq!(result.trans_status_reason, None, "no rejection, no reason");
}

fn assert_not_authenticated(result: &PaymentResult, status: TransStatus) {
    assert_eq!(result.status, PaymentStatus::Failed, "{result:?}");
    assert_eq!(result.trans_status, Some(status), "{result:?}");
    assert!(result.provider_payment_id.is_none());
    assert!(!result.liability_shift);
    let error = result.error.as_ref().expect("error");
    assert_eq!(error.code, ResultCode::AuthenticationFailed);
    assert_eq!(error.provider_code.as_deref(), Some("311"));
    // Bambora's `3d_secure.reason_merchant`, named after the EMV transStatusReason.
    let reason = match status {
        TransStatus::N => 1,  // CardAuthenticationFailed
        TransStatus::R => 12, // TransactionNotPermittedToCardholder
        _ => 22,              // ACSTechnicalIssue
    };
    assert_eq!(
        result.trans_status_reason.map(|r| r.code()),
        Some(reason),
        "{result:?}"
    );
}

#[tokio::test]
async fn frictionless_cards_are_authorized_at_once() {
    for (pan, status, eci, shift) in [
        ("4000000000001000", TransStatus::Y, 5, true),
        ("4000000000001109", TransStatus::A, 6, true),
        ("5200000000001005", TransStatus::Y, 2, true),
        ("5200000000001104", TransStatus::A, 1, true),
        ("4000000000001307", TransStatus::U, 7, false),
        // The Method page that never answers is invisible through Bambora's API.
        ("4000000000002206", TransStatus::Y, 5, true),
        // Bambora's documented cards: frictionless success, attempted.
        ("4012000033330026", TransStatus::Y, 5, true),
        ("4012004040524514", TransStatus::A, 6, true),
    ] {
        let (result, trace) = pay(pan, Cardholder::Types("1234")).await;
        assert_authorized(&result, "2", status, eci, shift);
        assert_eq!(trace.calls, ["bambora.payment"], "{pan}");
        assert!(trace.browser.is_empty(), "{pan}: {:?}", trace.browser);
    }
}

#[tokio::test]
async fn not_authenticated_and_rejected_end_with_311() {
    for (pan, status) in [
        ("4000000000001208", TransStatus::N),
        ("4000000000001406", TransStatus::R),
        // Bambora's documented "failed" card.
        ("4012001775445550", TransStatus::N),
    ] {
        let (result, trace) = pay(pan, Cardholder::Types("1234")).await;
        assert_not_authenticated(&result, status);
        assert_eq!(trace.calls, ["bambora.payment"], "{pan}");
    }
}

#[tokio::test]
async fn auth_required_refuses_an_unavailable_authentication() {
    let pan = "4000000000001307";
    let (result, _) = pay_with(payment(pan), pan, Cardholder::Types("1234"), |config| {
        config.auth_required = true
    })
    .await;
    assert_not_authenticated(&result, TransStatus::U);
}

#[tokio::test]
async fn challenge_with_the_right_code_is_authorized() {
    for (pan, eci) in [
        ("4000000000002008", 5),
        ("5200000000002003", 2),
        ("370000000000200", 5),
        // Bambora's documented challenge card.
        ("4012007153923001", 5),
        // No 3DS Method step through Bambora's API: the challenge follows directly.
        ("4000000000002107", 5),
    ] {
        let (result, trace) = pay(pan, Cardholder::Types("1234")).await;
        assert_authorized(&result, "2.2.0", TransStatus::Y, eci, true);
        assert_eq!(trace.browser, ["challenge"], "{pan}");
        assert_eq!(
            trace.calls,
            ["bambora.payment", "bambora.continue"],
            "{pan}"
        );
    }
}

#[tokio::test]
async fn challenge_with_a_wrong_code_or_cancelled_is_not_authorized() {
    for cardholder in [Cardholder::Types("9999"), Cardholder::Cancels] {
        let (result, trace) = pay("4000000000002008", cardholder).await;
        // Bambora's 311 does not tell a cancel from a failure: both are N.
        assert_not_authenticated(&result, TransStatus::N);
        assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
        assert_eq!(trace.calls, ["bambora.payment", "bambora.continue"]);
    }
}

#[tokio::test]
async fn three_ds_one_cards() {
    // Enrolled: the PaReq challenge; 1.0.2 shifts no liability for Visa.
    let (result, trace) = pay("4000000000003006", Cardholder::Types("1234")).await;
    assert_eq!(trace.browser, ["challenge"]);
    assert_authorized(&result, "1.0.2", TransStatus::Y, 5, false);

    let (result, _) = pay("4000000000003006", Cardholder::Types("0000")).await;
    assert_not_authenticated(&result, TransStatus::N);
    assert_eq!(result.three_ds_version.as_deref(), Some("1.0.2"));

    // Not enrolled: authorized without authentication or liability shift.
    let (result, trace) = pay("4000000000003105", Cardholder::Types("1234")).await;
    assert!(trace.browser.is_empty());
    assert_authorized(&result, "1.0.2", TransStatus::U, 7, false);
}

#[tokio::test]
async fn issuer_decline() {
    let (result, _) = pay("4000000000004004", Cardholder::Types("1234")).await;
    assert_eq!(result.status, PaymentStatus::Declined, "{result:?}");
    assert!(
        result.provider_payment_id.is_some(),
        "the declined transaction"
    );
    assert!(!result.liability_shift);
    let error = result.error.expect("error");
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("7"));
    assert_eq!(error.provider_message.as_deref(), Some("DECLINE"));
}

#[tokio::test]
async fn a_currency_the_account_does_not_settle_in_is_refused_before_any_call() {
    let pan = "4000000000001000";
    let mut start = payment(pan);
    start.currency = Currency::parse("USD").expect("a currency");
    let (result, trace) = pay_with(start, pan, Cardholder::Types("1234"), |_| {}).await;
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.expect("error");
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("currency"));
    assert!(trace.calls.is_empty());
}

#[tokio::test]
async fn wrong_credentials_are_a_provider_rejection() {
    let pan = "4000000000001000";
    let (result, trace) = pay_with(payment(pan), pan, Cardholder::Types("1234"), |config| {
        config.api_passcode = "wrong".into()
    })
    .await;
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.expect("error");
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("21"));
    assert_eq!(trace.calls, ["bambora.payment"]);
}

/// A single-use token from Bambora's tokenization, as the page would get it.
async fn token(sandbox: &RunningSandbox, pan: &str) -> String {
    let answer: serde_json::Value = support::browser()
        .post(format!("{}/bambora/scripts/tokenization/tokens", sandbox.url))
        .json(&serde_json::json!({"number": pan, "expiry_month": "12", "expiry_year": "40", "cvd": CVV}))
        .send()
        .await
        .expect("tokenize")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["code"], "1", "{answer}");
    answer["token"].as_str().expect("token").to_owned()
}

#[tokio::test]
async fn token_payments_frictionless_and_challenged() {
    for (pan, browser) in [
        ("4000000000001000", Vec::<&str>::new()),
        ("4000000000002008", vec!["challenge"]),
    ] {
        let sandbox = support::sandbox().await;
        let adapter = Recording::new(BamboraAdapter::new(Config::sandbox(&sandbox.url)));
        let mut start = payment(pan);
        start.method = PaymentMethod::Token {
            token: token(&sandbox, pan).await,
            bin: None,
        };
        start.payer.name = Some("John Doe".to_owned());
        let (result, trace) = flow::run(
            &adapter,
            &start,
            &session_id(pan),
            Cardholder::Types("1234"),
        )
        .await;
        assert_authorized(
            &result,
            if browser.is_empty() { "2" } else { "2.2.0" },
            TransStatus::Y,
            5,
            true,
        );
        assert_eq!(trace.browser, browser);
        check_run(&sandbox, &adapter, &start, pan, &result);
    }
}

fn merchant_authentication(version: &str) -> ExternalAuthentication {
    ExternalAuthentication {
        version: version.to_owned(),
        trans_status: TransStatus::Y,
        eci: Eci::new(5).unwrap(),
        cavv: "AAABAXlHEQAAAAGXAEcRAAAAAAA=".to_owned(),
        xid: Some("1368023".to_owned()),
        ds_transaction_id: Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b".to_owned()),
    }
}

#[tokio::test]
async fn the_merchants_own_authentication_is_authorized_without_a_challenge() {
    for (version, shift) in [("2.2.0", true), ("1.0.2", false)] {
        let pan = "4000000000002008";
        let mut start = payment(pan);
        start.external_authentication = Some(merchant_authentication(version));
        let (result, trace) = pay_with(start, pan, Cardholder::Types("1234"), |_| {}).await;
        assert_authorized(&result, version, TransStatus::Y, 5, shift);
        assert!(trace.browser.is_empty(), "{version}");
        assert_eq!(trace.calls, ["bambora.payment"]);
    }
    // The issuer still decides.
    let pan = "4000000000004004";
    let mut start = payment(pan);
    start.external_authentication = Some(merchant_authentication("2.2.0"));
    let (result, _) = pay_with(start, pan, Cardholder::Types("1234"), |_| {}).await;
    assert_eq!(result.status, PaymentStatus::Declined);
}

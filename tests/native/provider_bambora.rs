//! The Bambora adapter end to end against the sandbox over real HTTP: every contract card
//! Bambora's flow can express (Bambora's own 4012… cards included), challenges answered,
//! failed and cancelled at the sandbox ACS, 3-D Secure 1.0.2, tokens, the merchant's own
//! authentication, forged returns (one through the real backend), and lost answers
//! looked up by order number — with the sandbox ledger after each, and the stored state
//! never holding the card number or CVD.

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

/// Runs the create for `pan` and returns the challenge step's state and form.
async fn to_the_issuer(
    adapter: &BamboraAdapter,
    pan: &str,
    cx: &Context,
) -> (State, threeds_bridge::emv::FormPost) {
    let Step::Call { state, request } = adapter.start(&payment(pan), cx) else {
        panic!("a create")
    };
    match adapter.on_response(state, flow::send(&request).await, cx) {
        Step::Browser {
            state,
            action: BrowserAction::Challenge { form, .. },
        } => (state, form),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

fn field<'a>(ret: &'a BrowserReturn, name: &str) -> &'a str {
    ret.single(name).expect(name)
}

fn with(ret: &BrowserReturn, name: &str, value: &str) -> BrowserReturn {
    let mut forged = ret.clone();
    for (n, v) in &mut forged.fields {
        if n == name {
            *v = value.to_owned();
        }
    }
    forged
}

/// Finishes a payment from a browser return, sending `continue` as the host would.
async fn finish(
    adapter: &BamboraAdapter,
    state: State,
    ret: &BrowserReturn,
    cx: &Context,
) -> PaymentResult {
    let Ok(Step::Call { state, request }) = adapter.on_browser_return(state, ret, cx) else {
        panic!("a continue")
    };
    assert!(!request.retry_safe);
    match adapter.on_response(state, flow::send(&request).await, cx) {
        Step::Done(result) => result,
        other => panic!("expected the end, got {other:?}"),
    }
}

#[tokio::test]
async fn a_forged_md_is_refused_and_the_real_return_still_authorizes() {
    let sandbox = support::sandbox().await;
    let adapter = BamboraAdapter::new(Config::sandbox(&sandbox.url));
    let cx = flow::context(&session_id("forgedmd"));
    let (state, form) = to_the_issuer(&adapter, "4000000000003006", &cx).await;
    let back = flow::follow((&form).into(), Cardholder::Types("1234")).await;
    let md = field(&back, "MD").to_owned();
    assert_eq!(md, form.field("MD").unwrap());

    let forged = with(&back, "MD", &md.replace(|c: char| c.is_ascii_digit(), "0"));
    let refused = adapter
        .verify_browser_return(&state, &forged, &cx)
        .unwrap_err();
    assert_eq!(refused.code, "return_foreign");
    let acted = adapter.on_browser_return(state.clone(), &forged, &cx);
    assert_eq!(acted.map(drop).map_err(|e| e.code), Err("return_foreign"));
    let incomplete = BrowserReturn {
        fields: vec![("MD".to_owned(), md.clone())],
    };
    assert_eq!(
        adapter
            .verify_browser_return(&state, &incomplete, &cx)
            .unwrap_err()
            .code,
        "return_incomplete"
    );
    assert!(ledger(&sandbox).is_empty());

    assert_eq!(adapter.verify_browser_return(&state, &back, &cx), Ok(()));
    let result = finish(&adapter, state, &back, &cx).await;
    assert_authorized(&result, "1.0.2", TransStatus::Y, 5, false);
    assert_eq!(ledger(&sandbox).len(), 1);
}

#[tokio::test]
async fn another_payments_challenge_result_is_refused() {
    let sandbox = support::sandbox().await;
    let adapter = BamboraAdapter::new(Config::sandbox(&sandbox.url));
    let (cx_a, cx_b) = (
        flow::context(&session_id("paymenta")),
        flow::context(&session_id("paymentb")),
    );
    let (state_a, form_a) = to_the_issuer(&adapter, "4000000000002008", &cx_a).await;
    let (state_b, form_b) = to_the_issuer(&adapter, "4000000000002008", &cx_b).await;
    let back_a = flow::follow((&form_a).into(), Cardholder::Types("1234")).await;
    let back_b = flow::follow((&form_b).into(), Cardholder::Types("9999")).await;

    // B's failed challenge brought to A's return route, as is, or relabelled as A's.
    assert_eq!(
        adapter
            .verify_browser_return(&state_a, &back_b, &cx_a)
            .unwrap_err()
            .code,
        "return_foreign"
    );
    let relabelled = with(
        &back_b,
        "threeDSSessionData",
        field(&back_a, "threeDSSessionData"),
    );
    assert_eq!(
        adapter
            .verify_browser_return(&state_a, &relabelled, &cx_a)
            .unwrap_err()
            .code,
        "return_foreign"
    );
    // A's successful challenge brought to B's route.
    assert_eq!(
        adapter
            .verify_browser_return(&state_b, &back_a, &cx_b)
            .unwrap_err()
            .code,
        "return_foreign"
    );
    assert!(ledger(&sandbox).is_empty());

    let a = finish(&adapter, state_a, &back_a, &cx_a).await;
    assert_authorized(&a, "2.2.0", TransStatus::Y, 5, true);
    let b = finish(&adapter, state_b, &back_b, &cx_b).await;
    assert_not_authenticated(&b, TransStatus::N);
    assert_eq!(ledger(&sandbox).len(), 1);
}

/// A CRes made up from the form's ids (transStatus Y) before the cardholder answered.
fn made_up_cres(form: &threeds_bridge::emv::FormPost) -> BrowserReturn {
    let creq = threeds_bridge::emv::CReq::from_base64url(form.field("creq").unwrap()).unwrap();
    let cres = threeds_bridge::emv::base64url::encode(
        serde_json::json!({"threeDSServerTransID": creq.three_ds_server_trans_id,
            "acsTransID": creq.acs_trans_id, "messageType": "CRes",
            "messageVersion": "2.2.0", "transStatus": "Y"})
        .to_string(),
    );
    BrowserReturn {
        fields: vec![
            ("cres".to_owned(), cres),
            (
                "threeDSSessionData".to_owned(),
                form.field("threeDSSessionData").unwrap().to_owned(),
            ),
        ],
    }
}

/// A made-up CRes passes the adapter's checks, but Bambora's continue believes the ACS,
/// not the browser: it refuses it, nothing is authorized, and the payment waits on the
/// same challenge, whose genuine answer then authorizes it.
#[tokio::test]
async fn a_made_up_cres_authorizes_nothing_and_the_genuine_one_still_does() {
    let sandbox = support::sandbox().await;
    let adapter = BamboraAdapter::new(Config::sandbox(&sandbox.url));
    let cx = flow::context(&session_id("madeup"));
    let (state, form) = to_the_issuer(&adapter, "4000000000002008", &cx).await;
    let Ok(Step::Call {
        state: sent,
        request,
    }) = adapter.on_browser_return(state.clone(), &made_up_cres(&form), &cx)
    else {
        panic!("a continue")
    };
    let Step::Refused {
        state: waiting,
        action: BrowserAction::Challenge { form: again, .. },
        refused,
    } = adapter.on_response(sent, flow::send(&request).await, &cx)
    else {
        panic!("a refused return")
    };
    assert_eq!(refused.code, "return_refused");
    assert_eq!(again, form, "the same challenge again");
    assert!(ledger(&sandbox).is_empty());

    let back = flow::follow((&form).into(), Cardholder::Types("1234")).await;
    let result = finish(&adapter, waiting, &back, &cx).await;
    assert_authorized(&result, "2.2.0", TransStatus::Y, 5, true);
    assert_eq!(ledger(&sandbox).len(), 1);
}

/// Finding 5 of #13, through the real backend: a CRes forged from the challenge form's
/// ids and posted to the return route before the cardholder answers gets the error page
/// and changes nothing the cardholder needs; the genuine CRes afterwards authorizes.
#[tokio::test]
async fn a_forged_cres_posted_first_is_refused_by_the_backend_and_the_genuine_one_authorizes() {
    use support::backend::{follow, harness, next_form, start_body};
    let h = harness().await;
    let (status, view) = h
        .start(&start_body("bambora", "4000000000002008", "iframe"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    let form = next_form(&view);
    let creq = threeds_bridge::emv::CReq::from_base64url(form.field("creq").unwrap()).unwrap();
    let cres = threeds_bridge::emv::base64url::encode(
        serde_json::json!({"threeDSServerTransID": creq.three_ds_server_trans_id,
            "acsTransID": creq.acs_trans_id, "messageType": "CRes",
            "messageVersion": "2.2.0", "transStatus": "Y"})
        .to_string(),
    );
    let forged = support::browser()
        .post(format!("{}/v1/returns/{id}", h.url))
        .form(&[
            ("cres", cres.as_str()),
            (
                "threeDSSessionData",
                form.field("threeDSSessionData").unwrap(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400, "the forger gets the error page");
    let (_, after) = h.view(&id).await;
    assert_eq!(after["status"], "requires_action", "{after}");
    assert_eq!(after["next"], view["next"], "the same challenge");
    assert!(h.ledger("bambora").is_empty());

    follow(&h.url, next_form(&after), Cardholder::Types("1234")).await;
    let (_, done) = h.view(&id).await;
    assert_eq!(done["result"]["status"], "authorized", "{done}");
    let charges = h.ledger("bambora");
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(
        done["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str())
    );
}

/// Sends the create (or continue) of `pan` with `rule` in force for it; a payment in
/// doubt is looked up (`reconcile`) with the fault cleared, as the host would later.
/// Also says whether the payment was in doubt.
async fn under_fault(
    rule: FaultRule,
    pan: &str,
    at_continue: bool,
) -> (PaymentResult, RunningSandbox, bool) {
    let sandbox = support::sandbox().await;
    let adapter = BamboraAdapter::new(Config::sandbox(&sandbox.url));
    let cx = flow::context(&session_id(&format!("fault{pan}")));
    let mut step = adapter.start(&payment(pan), &cx);
    let mut in_doubt = false;
    for _ in 0..8 {
        step = match step {
            Step::Unknown { state } => {
                in_doubt = true;
                adapter.reconcile(state, &cx)
            }
            Step::Call { state, request } => {
                let lookup = matches!(request.purpose, "bambora.search" | "bambora.read");
                assert_eq!(request.retry_safe, lookup, "{}", request.purpose);
                let faulty = !lookup && (request.purpose == "bambora.continue") == at_continue;
                if faulty && !in_doubt {
                    sandbox.sandbox.faults.set(vec![rule.clone()]);
                }
                // The host's own deadline for a provider call.
                let answer =
                    tokio::time::timeout(std::time::Duration::from_secs(2), flow::send(&request))
                        .await
                        .unwrap_or(Err(TransportFailure::Timeout));
                sandbox.sandbox.faults.set(Vec::new());
                adapter.on_response(state, answer, &cx)
            }
            Step::Browser { state, action } => {
                let BrowserAction::Challenge { form, .. } = action else {
                    panic!()
                };
                let back = flow::follow((&form).into(), Cardholder::Types("1234")).await;
                adapter
                    .on_browser_return(state, &back, &cx)
                    .expect("the genuine return")
            }
            Step::Refused { refused, .. } => panic!("refused: {refused:?}"),
            Step::Done(result) => return (result, sandbox, in_doubt),
        };
    }
    panic!("did not finish");
}

fn rule(endpoint: &str) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Bambora),
        endpoint: Some(endpoint.to_owned()),
        ..FaultRule::default()
    }
}

/// Bambora charged, and the create's answer was lost: the payment is in doubt, the
/// create is never sent again, and the lookup by order number finds the one charge.
#[tokio::test]
async fn a_lost_create_answer_is_looked_up_and_never_sent_twice() {
    let (result, sandbox, in_doubt) = under_fault(
        FaultRule {
            drop_after_commit: true,
            ..rule("/v1/payments")
        },
        "4000000000001000",
        false,
    )
    .await;
    assert!(in_doubt);
    assert_authorized(&result, "2", TransStatus::Y, 5, true);
    let entries = ledger(&sandbox);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].order_id, "order-1000");
    assert_eq!(
        result.provider_payment_id.as_deref(),
        Some(entries[0].provider_payment_id.as_str())
    );
}

#[tokio::test]
async fn a_lost_continue_answer_is_looked_up_with_one_charge() {
    let (result, sandbox, in_doubt) = under_fault(
        FaultRule {
            drop_after_commit: true,
            ..rule("/v1/payments/")
        },
        "4000000000002008",
        true,
    )
    .await;
    assert!(in_doubt);
    assert_authorized(&result, "2.2.0", TransStatus::Y, 5, true);
    assert_eq!(ledger(&sandbox).len(), 1);
}

/// A 5xx or no answer at all: in doubt, looked up, and nothing was charged.
#[tokio::test]
async fn an_outage_or_a_hung_bambora_is_looked_up_and_charges_nothing() {
    for fault in [
        FaultRule {
            error_rate: 1.0,
            error_status: Some(500),
            ..rule("/v1/payments")
        },
        FaultRule {
            hang: true,
            ..rule("/v1/payments")
        },
    ] {
        let (result, sandbox, in_doubt) = under_fault(fault, "4000000000001000", false).await;
        assert!(in_doubt);
        assert_eq!(result.status, PaymentStatus::Failed, "{result:?}");
        let error = result.error.unwrap();
        assert_eq!(error.provider_code.as_deref(), Some("not_found"));
        assert!(ledger(&sandbox).is_empty());
    }
}

/// The lookup's own answer lost (the search fails): the payment stays in doubt, and the
/// next lookup, answered, finds the charge.
#[tokio::test]
async fn a_lost_lookup_keeps_the_payment_in_doubt_until_one_is_answered() {
    let sandbox = support::sandbox().await;
    let adapter = BamboraAdapter::new(Config::sandbox(&sandbox.url));
    let cx = flow::context(&session_id("lostlookup"));
    let Step::Call { state, request } = adapter.start(&payment("4000000000001000"), &cx) else {
        panic!("a create")
    };
    sandbox.sandbox.faults.set(vec![FaultRule {
        drop_after_commit: true,
        ..rule("/v1/payments")
    }]);
    let answer = flow::send(&request).await;
    let Step::Unknown { state } = adapter.on_response(state, answer, &cx) else {
        panic!("in doubt")
    };
    sandbox.sandbox.faults.set(vec![FaultRule {
        error_rate: 1.0,
        error_status: Some(503),
        ..rule("/v1/reports")
    }]);
    let Step::Call { state, request } = adapter.reconcile(state, &cx) else {
        panic!("a search")
    };
    assert_eq!(request.purpose, "bambora.search");
    assert!(request.retry_safe, "a search moves no money");
    let Step::Unknown { state } = adapter.on_response(state, flow::send(&request).await, &cx)
    else {
        panic!("still in doubt")
    };
    sandbox.sandbox.faults.set(Vec::new());
    let mut step = adapter.reconcile(state, &cx);
    let mut purposes = Vec::new();
    let result = loop {
        step = match step {
            Step::Call { state, request } => {
                purposes.push(request.purpose);
                adapter.on_response(state, flow::send(&request).await, &cx)
            }
            Step::Done(result) => break result,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(purposes, ["bambora.search", "bambora.read"]);
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    let entries = ledger(&sandbox);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        result.provider_payment_id.as_deref(),
        Some(entries[0].provider_payment_id.as_str())
    );
}

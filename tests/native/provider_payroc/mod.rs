//! The Payroc adapter end to end against the sandbox over real HTTP: every contract card
//! Payroc's hosted MPI can express, challenges typed or cancelled on the sandbox ACS pages,
//! the thirdParty variant and a payment finished from its stored state (here), forged
//! receipts (`receipts.rs`), and provided tokens and the Bearer token's cache and refresh
//! (`tokens.rs`). Each authorized result must have exactly one ledger entry; every other
//! result none.

use crate::support;

use std::time::Duration;

use threeds_bridge::emv::{
    BrowserDetails, BrowserReadings, ChallengeWindowSize, Eci, Pan, ServerReadings, TransStatus,
};
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{
    BrowserAction, CardDetails, ChallengePreference, Cvv, DisplayMode, ExternalAuthentication,
    Payer, PaymentMethod, PaymentResult, PaymentStart, PaymentStatus, ResultCode,
};
use threeds_bridge::provider::payroc::{Config, PayrocAdapter, State};
use threeds_bridge::provider::{Adapter, BrowserReturn, Context, ReturnRefused, Step};
use threeds_bridge::sandbox::ledger::Provider;
use threeds_bridge::sandbox::{RunningSandbox, SandboxConfig};

use support::flow::{self, Cardholder, BACKEND};

mod receipts;
mod tokens;

const TERMINAL: &str = "4479001";

async fn payroc_sandbox() -> RunningSandbox {
    let mut config = SandboxConfig::new("");
    config
        .payroc_receipt_urls
        .insert(TERMINAL.to_owned(), format!("{BACKEND}/v1/returns/payroc"));
    support::sandbox_with(config).await
}

fn adapter(running: &RunningSandbox) -> PayrocAdapter {
    PayrocAdapter::new(Config::sandbox(&running.url))
}

fn session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn start(pan: &str) -> PaymentStart {
    PaymentStart {
        order_id: OrderId::parse(&format!("order-{}", uuid::Uuid::new_v4().simple()))
            .expect("an order id"),
        amount: 4999,
        currency: Currency::parse("EUR").expect("a currency"),
        description: Some("Concert tickets".into()),
        method: PaymentMethod::Card(CardDetails {
            number: Pan::parse(pan).expect("pan"),
            expiry_month: 12,
            expiry_year: 2040,
            cvv: Cvv::parse("123").expect("cvv"),
            holder_name: "Sarah Hazel Hopper".into(),
        }),
        payer: Payer {
            email: Some("sarah@example.com".into()),
            ..Payer::default()
        },
        browser: BrowserDetails::build(
            &BrowserReadings::default(),
            &ServerReadings {
                accept_header: Some("text/html".into()),
                user_agent: Some("Mozilla/5.0 (test)".into()),
                ip: Some("203.0.113.9".into()),
                ..ServerReadings::default()
            },
        )
        .expect("browser details"),
        challenge: ChallengePreference::NoPreference,
        display: DisplayMode::Iframe,
        window_size: ChallengeWindowSize::FullScreen,
        external_authentication: None,
        capture_mode: threeds_bridge::payment::CaptureMode::Automatic,
        exemption: None,
    }
}

/// The sandbox ledger's entries for `order_id`.
fn charged(
    running: &RunningSandbox,
    order_id: &str,
) -> Vec<threeds_bridge::sandbox::ledger::LedgerEntry> {
    running
        .sandbox
        .ledger
        .entries()
        .into_iter()
        .filter(|e| e.order_id == order_id)
        .collect()
}

/// Authorized with exactly one ledger entry, under the sale's key; anything else, none.
fn assert_ledger(
    running: &RunningSandbox,
    start: &PaymentStart,
    session: &str,
    result: &PaymentResult,
) {
    let entries = charged(running, &start.order_id);
    if result.status == PaymentStatus::Authorized {
        assert_eq!(entries.len(), 1, "one charge for {result:?}");
        let entry = &entries[0];
        assert_eq!(entry.provider, Provider::Payroc);
        assert_eq!(
            Some(&entry.provider_payment_id),
            result.provider_payment_id.as_ref()
        );
        assert_eq!(entry.amount, 4999);
        assert_eq!(entry.currency, "EUR");
        assert_eq!(
            entry.idempotency_key.as_deref(),
            Some(flow::context(session).idempotency_key("sale").as_str())
        );
    } else {
        assert!(entries.is_empty(), "no charge for {result:?}: {entries:?}");
    }
}

struct Expect {
    status: PaymentStatus,
    trans_status: TransStatus,
    eci: u8,
    liability_shift: bool,
    code: Option<ResultCode>,
    /// Whether the sale was attempted.
    sale: bool,
}

const fn authorized(trans_status: TransStatus, eci: u8, liability_shift: bool) -> Expect {
    Expect {
        status: PaymentStatus::Authorized,
        trans_status,
        eci,
        liability_shift,
        code: None,
        sale: true,
    }
}

const fn not_authenticated(trans_status: TransStatus, eci: u8) -> Expect {
    Expect {
        status: PaymentStatus::Failed,
        trans_status,
        eci,
        liability_shift: false,
        code: Some(ResultCode::AuthenticationFailed),
        sale: false,
    }
}

async fn check(running: &RunningSandbox, pan: &str, cardholder: Cardholder, expect: Expect) {
    let adapter = adapter(running);
    let start = start(pan);
    let session = session_id();
    let (result, trace) = flow::run(&adapter, &start, &session, cardholder).await;
    let case = format!("{pan} {cardholder:?}: {result:?} {trace:?}");
    assert_eq!(result.status, expect.status, "{case}");
    assert_eq!(result.trans_status, Some(expect.trans_status), "{case}");
    assert_eq!(result.eci, Eci::new(expect.eci), "{case}");
    assert_eq!(result.liability_shift, expect.liability_shift, "{case}");
    assert_eq!(result.error.as_ref().map(|e| e.code), expect.code, "{case}");
    assert_eq!(
        result.three_ds_version, None,
        "the receipt does not say: {case}"
    );
    // Payroc's MPI is one full-page redirect; it runs any Method and challenge itself.
    assert_eq!(trace.browser, ["redirect"], "{case}");
    assert_eq!(trace.method, None, "{case}");
    assert_eq!(
        trace.calls,
        if expect.sale {
            vec!["payroc.authorize", "payroc.single_use_token", "payroc.sale"]
        } else {
            vec!["payroc.authorize", "payroc.single_use_token"]
        },
        "{case}"
    );
    assert_ledger(running, &start, &session, &result);
}

#[tokio::test]
async fn frictionless_cards() {
    let running = payroc_sandbox().await;
    let typed = Cardholder::Types("1234");
    #[rustfmt::skip]
    let cards = [
        ("4000000000001000", authorized(TransStatus::Y, 5, true)),
        ("4000000000001109", authorized(TransStatus::A, 6, true)),
        ("4000000000001208", not_authenticated(TransStatus::N, 7)),
        ("4000000000001307", not_authenticated(TransStatus::U, 7)),
        // R is shown by Payroc's receipt as N (Payroc documents Y/A/N/U only).
        ("4000000000001406", not_authenticated(TransStatus::N, 7)),
        // Payroc's receipt gives 05/06/07 whatever the brand; Mastercard's liability
        // shift is decided on its own scale (02/01).
        ("5200000000001005", authorized(TransStatus::Y, 5, true)),
        ("5200000000001104", authorized(TransStatus::A, 6, true)),
        ("4012000033330026", authorized(TransStatus::Y, 5, true)),
        ("4012001775445550", not_authenticated(TransStatus::N, 7)),
    ];
    for (pan, expect) in cards {
        check(&running, pan, typed, expect).await;
    }
}

#[tokio::test]
async fn challenges_through_the_hosted_mpi() {
    let running = payroc_sandbox().await;
    let right = Cardholder::Types("1234");
    let wrong = Cardholder::Types("0000");
    #[rustfmt::skip]
    let cards = [
        ("4000000000002008", right, authorized(TransStatus::Y, 5, true)),
        ("4000000000002008", wrong, not_authenticated(TransStatus::N, 7)),
        // Payroc's receipt has no challengeCancel: a cancel reads as not authenticated.
        ("4000000000002008", Cardholder::Cancels, not_authenticated(TransStatus::N, 7)),
        ("5200000000002003", right, authorized(TransStatus::Y, 5, true)),
        ("5200000000002003", wrong, not_authenticated(TransStatus::N, 7)),
        ("370000000000200", right, authorized(TransStatus::Y, 5, true)),
        ("4012007153923001", right, authorized(TransStatus::Y, 5, true)),
    ];
    for (pan, cardholder, expect) in cards {
        check(&running, pan, cardholder, expect).await;
    }
}

#[tokio::test]
async fn method_cards_run_their_method_inside_payrocs_page() {
    let running = payroc_sandbox().await;
    let right = Cardholder::Types("1234");
    #[rustfmt::skip]
    let cards = [
        ("4000000000002107", right, authorized(TransStatus::Y, 5, true)),
        ("4000000000002107", Cardholder::Cancels, not_authenticated(TransStatus::N, 7)),
        ("4000000000002206", right, authorized(TransStatus::Y, 5, true)),
    ];
    for (pan, cardholder, expect) in cards {
        check(&running, pan, cardholder, expect).await;
    }
}

#[tokio::test]
async fn three_ds_1_cards() {
    let running = payroc_sandbox().await;
    // The receipt does not tell 1.0.2 from 2.x; see docs/backend/payroc.md on liability.
    #[rustfmt::skip]
    let cards = [
        ("4000000000003006", Cardholder::Types("1234"), authorized(TransStatus::Y, 5, true)),
        ("4000000000003006", Cardholder::Types("9999"), not_authenticated(TransStatus::N, 7)),
        ("4000000000003105", Cardholder::Types("1234"), not_authenticated(TransStatus::N, 7)),
    ];
    for (pan, cardholder, expect) in cards {
        check(&running, pan, cardholder, expect).await;
    }
}

#[tokio::test]
async fn an_issuer_decline_after_authentication() {
    let running = payroc_sandbox().await;
    check(
        &running,
        "4000000000004004",
        Cardholder::Types("1234"),
        Expect {
            status: PaymentStatus::Declined,
            trans_status: TransStatus::Y,
            eci: 5,
            liability_shift: false,
            code: Some(ResultCode::Declined),
            sale: true,
        },
    )
    .await;
    let adapter = adapter(&running);
    let (result, _) = flow::run(
        &adapter,
        &start("4000000000004004"),
        &session_id(),
        Cardholder::Types("1234"),
    )
    .await;
    let error = result.error.expect("an error");
    assert_eq!(error.provider_code.as_deref(), Some("D"));
    assert_eq!(error.provider_message.as_deref(), Some("DECLINED"));
    assert!(result.provider_payment_id.is_some());
}

#[tokio::test]
async fn a_challenge_preference_makes_a_frictionless_card_challenge() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let mut payment = start("4000000000001000");
    payment.challenge = ChallengePreference::Mandated;
    // A wrong code fails where the card alone would have passed frictionlessly.
    let (result, _) = flow::run(&adapter, &payment, &session_id(), Cardholder::Types("0000")).await;
    assert_eq!(result.status, PaymentStatus::Failed, "{result:?}");
    assert!(charged(&running, &payment.order_id).is_empty());
}

/// Drives the adapter until the browser is sent to the MPI, with the test as host.
async fn to_mpi(
    adapter: &PayrocAdapter,
    payment: &PaymentStart,
    cx: &Context,
) -> (State, BrowserAction) {
    let mut step = flow::begin(adapter, payment, cx, &mut flow::Trace::default()).await;
    loop {
        step = match step {
            Step::Unknown { .. } => panic!("a money call in doubt"),
            Step::Call { state, request } => {
                adapter.on_response(state, flow::send(&request).await, cx)
            }
            Step::Browser { state, action } => return (state, action),
            Step::Refused { refused, .. } => panic!("nothing was returned yet: {refused:?}"),
            Step::Done(result) => panic!("ended before the MPI: {result:?}"),
        };
    }
}

/// Drives the adapter from a step to its result, with the test as host.
async fn to_end(adapter: &PayrocAdapter, mut step: Step<State>, cx: &Context) -> PaymentResult {
    loop {
        step = match step {
            Step::Unknown { .. } => panic!("a money call in doubt"),
            Step::Call { state, request } => {
                adapter.on_response(state, flow::send(&request).await, cx)
            }
            Step::Browser { action, .. } | Step::Refused { action, .. } => {
                panic!("unexpected browser step {action:?}")
            }
            Step::Done(result) => return result,
        };
    }
}

/// Follows the MPI as the cardholder: the receipt the browser would bring back.
async fn receipt_of(action: &BrowserAction) -> BrowserReturn {
    let BrowserAction::Redirect { form } = action else {
        panic!("Payroc's MPI is a redirect: {action:?}");
    };
    flow::follow(support::PageForm::from(form), Cardholder::Types("1234")).await
}

/// The step a return the adapter accepted leads to.
fn accepted(step: Result<Step<State>, ReturnRefused>) -> Step<State> {
    step.unwrap_or_else(|refused| panic!("the return was refused: {refused:?}"))
}

#[tokio::test]
async fn third_party_authentication_skips_the_mpi() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let mut payment = start("4000000000001000");
    payment.payer.email = None;
    payment.external_authentication = Some(ExternalAuthentication {
        version: "2.2.0".into(),
        trans_status: TransStatus::Y,
        eci: Eci::new(5).expect("eci"),
        cavv: "AAABBEg0VhI0VniQEjRWAAAAAAA=".into(),
        xid: None,
        ds_transaction_id: Some(uuid::Uuid::new_v4().to_string()),
    });
    let session = session_id();
    let (result, trace) = flow::run(&adapter, &payment, &session, Cardholder::Cancels).await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
    assert_eq!(result.trans_status, Some(TransStatus::Y));
    assert!(result.liability_shift);
    assert!(trace.browser.is_empty());
    assert_eq!(
        trace.calls,
        ["payroc.authorize", "payroc.single_use_token", "payroc.sale"]
    );
    assert_ledger(&running, &payment, &session, &result);

    // An authentication Payroc's thirdParty block cannot express never reaches Payroc.
    let mut unable = start("4000000000001000");
    unable.external_authentication = payment.external_authentication.clone().map(|mut a| {
        a.trans_status = TransStatus::U;
        a.eci = Eci::new(7).expect("eci");
        a
    });
    let (result, trace) = flow::run(&adapter, &unable, &session_id(), Cardholder::Cancels).await;
    assert_eq!(result.status, PaymentStatus::Failed);
    assert!(trace.calls.is_empty());
    assert!(charged(&running, &unable.order_id).is_empty());
}

/// No adapter keeps anything a step depends on: one process starts the payment (its
/// token, the card tokenized), the state goes through the store, and another process,
/// with its own adapter and no token, takes the receipt, makes the sale and ends it.
#[tokio::test]
async fn another_process_finishes_a_payment_from_the_stored_state() {
    let running = payroc_sandbox().await;
    let payment = start("4000000000002008");
    let session = session_id();
    let cx = flow::context(&session);
    let starter = adapter(&running);
    let (state, action) = to_mpi(&starter, &payment, &cx).await;
    let stored = serde_json::to_string(&state).expect("state");
    for secret in ["4000000000002008", "\"123\""] {
        assert!(!stored.contains(secret), "{stored}");
    }
    drop(starter);
    let ret = receipt_of(&action).await;

    let finisher = adapter(&running);
    let state: State = serde_json::from_str(&stored).expect("stored state");
    let step = accepted(finisher.on_browser_return(state, &ret, &cx));
    let Step::Call { request, .. } = &step else {
        panic!("a call: {step:?}");
    };
    assert_eq!(
        request.purpose, "payroc.authorize",
        "a token of its own first"
    );
    let result = to_end(&finisher, step, &cx).await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert_ledger(&running, &payment, &session, &result);
}

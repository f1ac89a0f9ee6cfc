//! The dLocal adapter against the sandbox over real HTTP: every contract card dLocal's
//! flow can express, the redirect page and the ACS, a create resent after a dropped
//! answer, and a create in doubt looked up by its order (notifications, to a receiver:
//! provider_dlocal_notify.rs). Each test asserts the sandbox ledger.

use crate::support;

use threeds_bridge::emv::{
    BrowserDetails, BrowserReadings, ChallengeWindowSize, Eci, Pan, ServerReadings, TransStatus,
};
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{
    CardDetails, ChallengePreference, Cvv, DisplayMode, ExternalAuthentication, Payer,
    PaymentMethod, PaymentResult, PaymentStart, PaymentStatus, ResultCode,
};
use threeds_bridge::provider::dlocal::{Config, DlocalAdapter, State};
use threeds_bridge::provider::{Adapter, Step, TransportFailure};
use threeds_bridge::sandbox::RunningSandbox;

use support::flow::{self, Cardholder, Trace};

pub(crate) fn session_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(crate) fn start(pan: &str) -> PaymentStart {
    let browser = BrowserDetails::build(
        &BrowserReadings::default(),
        &ServerReadings {
            accept_header: Some("text/html".into()),
            user_agent: Some("Mozilla/5.0 (test)".into()),
            ip: Some("179.27.83.210".into()),
            ..ServerReadings::default()
        },
    )
    .expect("browser details");
    PaymentStart {
        order_id: OrderId::parse(&format!("order-{}", uuid::Uuid::new_v4().simple()))
            .expect("an order id"),
        amount: 12_000,
        currency: Currency::parse("BRL").expect("a currency"),
        description: None,
        method: PaymentMethod::Card(CardDetails {
            number: Pan::parse(pan).expect("pan"),
            expiry_month: 10,
            expiry_year: 2040,
            cvv: Cvv::parse("123").expect("cvv"),
            holder_name: "Thiago Gabriel".into(),
        }),
        payer: Payer {
            name: Some("Thiago Gabriel".into()),
            email: Some("thiago@example.com".into()),
            document: Some("53033315550".into()),
            country: Some("BR".into()),
        },
        browser,
        challenge: ChallengePreference::NoPreference,
        display: DisplayMode::Iframe,
        window_size: ChallengeWindowSize::FullScreen,
        external_authentication: None,
        capture_mode: threeds_bridge::payment::CaptureMode::Automatic,
        exemption: None,
    }
}

fn adapter(sb: &RunningSandbox) -> DlocalAdapter {
    DlocalAdapter::new(Config::sandbox(&sb.url))
}

/// The dLocal ledger entries: (payment id, order id).
fn ledger(sb: &RunningSandbox) -> Vec<(String, String)> {
    sb.sandbox
        .ledger
        .entries()
        .into_iter()
        .map(|e| (e.provider_payment_id, e.order_id))
        .collect()
}

pub(crate) fn eci(text: &str) -> Option<Eci> {
    Eci::parse(text).ok()
}

async fn pay(
    adapter: &DlocalAdapter,
    start: &PaymentStart,
    who: Cardholder,
) -> (PaymentResult, Trace) {
    flow::run(adapter, start, &session_id(), who).await
}

/// An authorized result is in the ledger exactly once under its payment id; any other
/// result is not in it at all.
pub(crate) fn assert_ledger(sb: &RunningSandbox, result: &PaymentResult, order_id: &str) {
    let entries: Vec<_> = ledger(sb)
        .into_iter()
        .filter(|(_, o)| o == order_id)
        .collect();
    if result.status == PaymentStatus::Authorized {
        let id = result.provider_payment_id.clone().expect("payment id");
        assert_eq!(entries, vec![(id, order_id.to_owned())]);
    } else {
        assert!(entries.is_empty(), "{entries:?} for {result:?}");
    }
}

#[tokio::test]
async fn frictionless_cards_finish_without_the_browser() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    type Expected = (
        &'static str,
        PaymentStatus,
        Option<TransStatus>,
        Option<&'static str>,
        bool,
        Option<ResultCode>,
        Option<&'static str>,
    );
    let cases: [Expected; 9] = [
        (
            "4000000000001000",
            PaymentStatus::Authorized,
            Some(TransStatus::Y),
            Some("05"),
            true,
            None,
            None,
        ),
        (
            "4000000000001109",
            PaymentStatus::Authorized,
            Some(TransStatus::A),
            Some("06"),
            true,
            None,
            None,
        ),
        (
            "4000000000001208",
            PaymentStatus::Failed,
            Some(TransStatus::N),
            None,
            false,
            Some(ResultCode::AuthenticationFailed),
            Some("320"),
        ),
        (
            "4000000000001307",
            PaymentStatus::Authorized,
            Some(TransStatus::U),
            Some("07"),
            false,
            None,
            None,
        ),
        (
            "4000000000001406",
            PaymentStatus::Failed,
            Some(TransStatus::R),
            None,
            false,
            Some(ResultCode::AuthenticationFailed),
            Some("311"),
        ),
        (
            "4000000000002206",
            PaymentStatus::Authorized,
            Some(TransStatus::Y),
            Some("05"),
            true,
            None,
            None,
        ),
        (
            "4000000000003105",
            PaymentStatus::Authorized,
            Some(TransStatus::U),
            Some("07"),
            false,
            None,
            None,
        ),
        (
            "5200000000001005",
            PaymentStatus::Authorized,
            Some(TransStatus::Y),
            Some("02"),
            true,
            None,
            None,
        ),
        (
            "5200000000001104",
            PaymentStatus::Authorized,
            Some(TransStatus::A),
            Some("01"),
            true,
            None,
            None,
        ),
    ];
    for (pan, status, trans_status, want_eci, shift, code, provider_code) in cases {
        let start = start(pan);
        let (result, trace) = pay(&adapter, &start, Cardholder::Types("1234")).await;
        assert_eq!(result.status, status, "{pan}: {result:?}");
        assert_eq!(result.trans_status, trans_status, "{pan}");
        if let Some(want) = want_eci {
            assert_eq!(result.eci, eci(want), "{pan}");
        }
        assert_eq!(result.liability_shift, shift, "{pan}");
        assert_eq!(result.error.as_ref().map(|e| e.code), code, "{pan}");
        assert_eq!(
            result
                .error
                .as_ref()
                .and_then(|e| e.provider_code.as_deref()),
            provider_code,
            "{pan}"
        );
        assert_eq!(trace.calls, vec!["dlocal.secure_payment"], "{pan}");
        assert!(trace.browser.is_empty(), "{pan}");
        assert_ledger(&sb, &result, &start.order_id);
    }
}

#[tokio::test]
async fn issuer_decline_after_authentication_is_declined() {
    let sb = support::sandbox().await;
    let start = start("4000000000004004");
    let (result, _) = pay(&adapter(&sb), &start, Cardholder::Types("1234")).await;
    assert_eq!(result.status, PaymentStatus::Declined);
    let error = result.error.clone().expect("error");
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("301"));
    assert_eq!(result.eci, eci("05"));
    assert!(!result.liability_shift);
    assert_ledger(&sb, &result, &start.order_id);
}

#[tokio::test]
async fn challenges_go_through_the_redirect_page_and_the_acs() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    #[rustfmt::skip]
    let cases = [
        ("4000000000002008", Cardholder::Types("1234"), PaymentStatus::Authorized, "05"),
        ("4000000000002107", Cardholder::Types("1234"), PaymentStatus::Authorized, "05"),
        ("5200000000002003", Cardholder::Types("1234"), PaymentStatus::Authorized, "02"),
        ("370000000000200", Cardholder::Types("1234"), PaymentStatus::Authorized, "05"),
        ("4012007153923001", Cardholder::Types("1234"), PaymentStatus::Authorized, "05"),
        // 3-D Secure 1.0.2: PaReq/PaRes behind dLocal's page.
        ("4000000000003006", Cardholder::Types("1234"), PaymentStatus::Authorized, "05"),
        ("4000000000002008", Cardholder::Types("9999"), PaymentStatus::Failed, ""),
        ("4000000000003006", Cardholder::Types("9999"), PaymentStatus::Failed, ""),
        // dLocal reports a cancelled challenge as 320, like a failed one.
        ("4000000000002008", Cardholder::Cancels, PaymentStatus::Failed, ""),
    ];
    for (pan, who, status, want_eci) in cases {
        let mut start = start(pan);
        start.display = DisplayMode::Iframe;
        let (result, trace) = pay(&adapter, &start, who).await;
        assert_eq!(result.status, status, "{pan} {who:?}: {result:?}");
        assert_eq!(
            trace.browser,
            vec!["redirect"],
            "{pan}: a full-page redirect"
        );
        assert_eq!(
            trace.calls,
            vec!["dlocal.secure_payment", "dlocal.retrieve"],
            "{pan}: the callback is confirmed by a re-read"
        );
        if status == PaymentStatus::Authorized {
            assert_eq!(result.eci, eci(want_eci), "{pan}");
            assert_eq!(result.trans_status, Some(TransStatus::Y), "{pan}");
        } else {
            let error = result.error.clone().expect("error");
            assert_eq!(error.code, ResultCode::AuthenticationFailed, "{pan}");
            assert_eq!(error.provider_code.as_deref(), Some("320"));
            assert_eq!(result.trans_status, Some(TransStatus::N));
        }
        assert_ledger(&sb, &result, &start.order_id);
    }
}

#[tokio::test]
async fn force_sends_a_frictionless_card_through_the_redirect() {
    let sb = support::sandbox().await;
    let mut start = start("4000000000001000");
    start.challenge = ChallengePreference::Mandated;
    let (result, trace) = pay(&adapter(&sb), &start, Cardholder::Types("1234")).await;
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.eci, eci("05"));
    assert_eq!(trace.browser, vec!["redirect"]);
    assert_ledger(&sb, &result, &start.order_id);
}

#[tokio::test]
async fn the_merchants_own_authentication_goes_as_mpi() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    for (version, xid, ds) in [
        ("2.2.0", None, Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b")),
        ("1.0.2", Some("MDAwMDAwMDAwMDAwMDAwMDAwMDE="), None),
    ] {
        let mut start = start("4000000000001000");
        start.external_authentication = Some(ExternalAuthentication {
            version: version.into(),
            trans_status: TransStatus::Y,
            eci: Eci::parse("05").expect("eci"),
            cavv: "AAABBEg0VhI0VniQEjRWAAAAAAA=".into(),
            xid: xid.map(str::to_owned),
            ds_transaction_id: ds.map(str::to_owned),
        });
        let (result, trace) = pay(&adapter, &start, Cardholder::Types("1234")).await;
        assert_eq!(
            result.status,
            PaymentStatus::Authorized,
            "{version}: {result:?}"
        );
        assert_eq!(result.eci, eci("05"));
        assert_eq!(result.three_ds_version.as_deref(), Some(version));
        assert_eq!(result.trans_status, Some(TransStatus::Y));
        // Visa on 3-D Secure 1.0.2 no longer shifts liability.
        assert_eq!(result.liability_shift, version == "2.2.0");
        assert!(trace.browser.is_empty());
        assert_ledger(&sb, &result, &start.order_id);
    }
    // A failed external authentication is not sent at all.
    let mut failed = start("4000000000001000");
    failed.external_authentication = Some(ExternalAuthentication {
        version: "2.2.0".into(),
        trans_status: TransStatus::N,
        eci: Eci::parse("07").expect("eci"),
        cavv: String::new(),
        xid: None,
        ds_transaction_id: Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b".into()),
    });
    let (result, trace) = pay(&adapter, &failed, Cardholder::Types("1234")).await;
    assert_eq!(result.status, PaymentStatus::Failed);
    assert!(trace.calls.is_empty());
    assert_eq!(sb.sandbox.dlocal.payment_count(), 2);
}

#[tokio::test]
async fn bad_credentials_and_bad_requests_are_provider_rejected() {
    let sb = support::sandbox().await;
    let mut config = Config::sandbox(&sb.url);
    config.secret_key = "wrong".into();
    let (result, _) = pay(
        &DlocalAdapter::new(config),
        &start("4000000000001000"),
        Cardholder::Cancels,
    )
    .await;
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.expect("error");
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("3001"));

    let mut no_email = start("4000000000001000");
    no_email.payer.email = None;
    let (result, _) = pay(&adapter(&sb), &no_email, Cardholder::Cancels).await;
    let error = result.error.expect("error");
    assert_eq!(error.provider_code.as_deref(), Some("5001"));
    assert!(error
        .provider_message
        .unwrap_or_default()
        .contains("payer.email"));
    assert_eq!(sb.sandbox.dlocal.payment_count(), 0);
}

/// Starts a challenge payment and brings it to dLocal's redirect page: the state the
/// session would hold while the browser is away, and the redirect form.
pub(crate) async fn to_redirect(
    adapter: &DlocalAdapter,
    start: &PaymentStart,
    sid: &str,
) -> (State, threeds_bridge::emv::FormPost) {
    let Step::Call { state, request } = adapter.start(start, &flow::context(sid)) else {
        panic!("expected the create");
    };
    match adapter.on_response(state, flow::send(&request).await, &flow::context(sid)) {
        Step::Browser {
            state,
            action: threeds_bridge::payment::BrowserAction::Redirect { form },
        } => (state, form),
        other => panic!("expected the redirect, got {other:?}"),
    }
}

/// Sends the adapter's calls until it finishes.
pub(crate) async fn finish(
    adapter: &DlocalAdapter,
    mut step: Step<State>,
    sid: &str,
) -> PaymentResult {
    loop {
        step = match step {
            Step::Unknown { .. } => panic!("a money call in doubt"),
            Step::Done(result) => return result,
            Step::Call { state, request } => {
                adapter.on_response(state, flow::send(&request).await, &flow::context(sid))
            }
            Step::Browser { .. } | Step::Refused { .. } => {
                panic!("the payment still waits for the browser")
            }
        }
    }
}

/// A host stopped before its create left: the payment is in doubt, and the lookup by
/// its order finds nothing at dLocal: nothing was charged.
#[tokio::test]
async fn a_create_that_never_reached_dlocal_is_looked_up_and_not_found() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let sid = session_id();
    let start = start("4000000000001000");
    let Step::Call { state, .. } = adapter.start(&start, &flow::context(&sid)) else {
        panic!("expected the create");
    };
    let stopped = Err(TransportFailure::Connection("the host stopped".into()));
    let Step::Unknown { state } = adapter.on_response(state, stopped, &flow::context(&sid)) else {
        panic!("in doubt");
    };
    let result = finish(
        &adapter,
        adapter.reconcile(state, &flow::context(&sid)),
        &sid,
    )
    .await;
    assert_eq!(result, threeds_bridge::provider::answer::not_found());
    assert_eq!(sb.sandbox.dlocal.payment_count(), 0);
}

#[tokio::test]
async fn a_create_resent_after_a_dropped_answer_charges_once() {
    let sb = support::sandbox().await;
    let adapter = adapter(&sb);
    let http = reqwest::Client::new();
    let faults = format!("{}/_sandbox/faults", sb.url);
    let rules = serde_json::json!({"rules": [
        {"provider": "dlocal", "endpoint": "/secure_payments", "drop_after_commit": true}
    ]});
    let answer = http
        .post(&faults)
        .json(&rules)
        .send()
        .await
        .expect("faults");
    assert!(answer.status().is_success());

    let sid = session_id();
    let start = start("4000000000001000");
    let Step::Call { state, request } = adapter.start(&start, &flow::context(&sid)) else {
        panic!("expected the create");
    };
    let dropped = flow::send(&request).await;
    assert!(
        matches!(dropped, Err(TransportFailure::Connection(_))),
        "{dropped:?}"
    );
    assert_eq!(ledger(&sb).len(), 1, "dLocal committed the charge");
    // If the host gave up here, the payment would wait in doubt (dLocal may have
    // charged), and the lookup by its order finds the charge.
    let Step::Unknown { state: doubt } =
        adapter.on_response(state.clone(), dropped, &flow::context(&sid))
    else {
        panic!("a lost create answer leaves the payment in doubt");
    };
    let found = finish(
        &adapter,
        adapter.reconcile(doubt, &flow::context(&sid)),
        &sid,
    )
    .await;
    assert_eq!(found.status, PaymentStatus::Authorized);
    assert_ledger(&sb, &found, &start.order_id);

    // The request is retry-safe: the host resends it as it is, same X-Idempotency-Key.
    assert!(request.retry_safe);
    http.delete(&faults).send().await.expect("clear faults");
    let resent = flow::send(&request).await;
    let Step::Done(result) = adapter.on_response(state, resent, &flow::context(&sid)) else {
        panic!("expected the result");
    };
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id, found.provider_payment_id);
    // Starting the same session again (a host restarted mid-call) builds the same key.
    let Step::Call { state, request } = adapter.start(&start, &flow::context(&sid)) else {
        panic!()
    };
    let again = finish(&adapter, Step::Call { state, request }, &sid).await;
    assert_eq!(again.provider_payment_id, result.provider_payment_id);
    let entries = sb.sandbox.ledger.entries();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0].idempotency_key.as_deref(),
        Some(
            flow::context(&sid)
                .idempotency_key("secure-payment")
                .as_str()
        )
    );
    assert_ledger(&sb, &result, &start.order_id);
}

//! Paysafe payments whose answers were lost, through the real backend over real HTTP and
//! the sandbox's fault injection: a process that dies during the authorization (after
//! Paysafe authorized, or before Paysafe saw it), an authorization that hangs, one whose
//! answer is lost on every attempt, and a finalize that gets only 5xx. None may end a payment `error` while
//! Paysafe holds (or may still make) its authorization, none may authorize twice, and a
//! challenge the cardholder has answered is never shown again. The payment waits
//! `unknown` and the reconciler (here: a read once the lookup is due) finds the truth by
//! the merchantRefNum that was sent.

use crate::support;

use std::time::Duration;

use serde_json::Value;
use support::backend::{
    follow, harness, harness_with, next_form, split_start, start_body, Cardholder, Harness,
    CHECKOUT,
};
use threeds_bridge::backend::CallPolicy;
use threeds_bridge::emv::challenge::ThreeDsSessionData;
use threeds_bridge::provider::Context;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::{LedgerEntry, Provider};
use threeds_bridge::session::Phase;
use threeds_bridge::store::SessionStore;

const RIGHT: Cardholder = Cardholder::Types("1234");
const FRICTIONLESS: &str = "4000000000001000";
const CHALLENGE: &str = "4000000000002008";
const ACCOUNT: &str = "89987201";
/// The backend's first lookup of a payment in doubt (`ReconcilePolicy::default`), and a
/// little more.
const FIRST_LOOKUP: Duration = Duration::from_millis(2_300);

fn rule(endpoint: &str) -> FaultRule {
    FaultRule {
        provider: Some(Provider::Paysafe),
        endpoint: Some(endpoint.to_owned()),
        ..Default::default()
    }
}

/// The merchantRefNum the adapter sends with the authorization of session `id`.
fn auth_ref(id: &str) -> String {
    Context {
        now_ms: 0,
        session_id: id.to_owned(),
        public_url: String::new(),
    }
    .idempotency_key("auth")
}

fn charges(h: &Harness) -> Vec<LedgerEntry> {
    h.ledger("paysafe")
}

/// What Paysafe holds under `reference` (its own lookup, as an operator would ask).
async fn auths_at_paysafe(h: &Harness, reference: &str) -> Vec<Value> {
    let config = threeds_bridge::provider::paysafe::Config::sandbox(&h.sandbox.url);
    let found: Value = support::browser()
        .get(format!(
            "{}/cardpayments/v1/accounts/{ACCOUNT}/auths",
            config.base_url
        ))
        .query(&[("merchantRefNum", reference)])
        .basic_auth(&config.api_user, Some(config.api_password.expose()))
        .send()
        .await
        .expect("lookup")
        .json()
        .await
        .expect("json");
    found["auths"].as_array().cloned().unwrap_or_default()
}

/// The payment is authorized with the one charge Paysafe made for its merchantRefNum.
async fn assert_authorized_once(h: &Harness, id: &str, view: &Value) {
    assert_eq!(view["status"], "authorized", "{view}");
    let charges = charges(h);
    assert_eq!(charges.len(), 1, "one charge: {charges:?}");
    assert_eq!(
        view["result"]["providerPaymentId"].as_str(),
        Some(charges[0].provider_payment_id.as_str()),
        "{view}"
    );
    assert_eq!(charges[0].idempotency_key.as_deref(), Some(&*auth_ref(id)));
    assert_eq!(auths_at_paysafe(h, &auth_ref(id)).await.len(), 1);
}

/// A backend on its own runtime at the harness's address (the harness's own is stopped):
/// shutting the runtime down drops every task of it mid-await, as a killed process would.
async fn doomed_backend(h: &mut Harness) -> tokio::runtime::Runtime {
    use threeds_bridge::backend::native::{self, ReqwestTransport, SystemEnv};
    h.stop().await;
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = std::net::TcpListener::bind(h.addr).expect("rebind");
    listener.set_nonblocking(true).expect("nonblocking");
    let backend = std::sync::Arc::new(threeds_bridge::backend::Backend::new(
        h.config(),
        h.store.clone(),
        ReqwestTransport::new(&h.policy).expect("transport"),
        SystemEnv,
    ));
    doomed.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
        let _running = native::spawn(listener, backend).expect("serve");
        std::future::pending::<()>().await;
    });
    doomed
}

/// Kills the process `doomed` stands for: every task dropped wherever it awaits, its
/// listener closed.
async fn kill(doomed: tokio::runtime::Runtime) {
    tokio::task::spawn_blocking(move || doomed.shutdown_timeout(Duration::from_secs(2)))
        .await
        .expect("shutdown");
}

/// Creates a frictionless payment as the merchant's server does and confirms it from a
/// task of its own (its answer may never come: the backend may die under it). Answers
/// the payment id.
async fn confirm_in_background(h: &Harness) -> String {
    let (create, confirm) = split_start(&start_body("paysafe", FRICTIONLESS, "iframe"));
    let (status, created) = h.create(&create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let (url, mut body) = (h.url.clone(), confirm);
    body["clientSecret"] = Value::from(h.secret(&id));
    let confirming = format!("{url}/v1/payments/{id}/confirm");
    tokio::spawn(async move {
        // As `support::backend::confirm_at`, but the answer may never come.
        let _ = support::browser()
            .post(confirming)
            .header("Origin", CHECKOUT)
            .header("Accept", "text/html,application/xhtml+xml")
            .header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) backend-test")
            .json(&body)
            .send()
            .await;
    });
    id
}

async fn calling_auth(h: &Harness, id: &str) -> bool {
    let session = h.store.load(id).await.expect("load").expect("session");
    matches!(&session.phase, Phase::Calling { purpose, .. } if purpose == "paysafe.auth")
}

/// After a restart, once the dead process's call lease is over, the next read resumes
/// the call; the payment waits `unknown` (never `error`), and the read after the first
/// lookup is due finds the truth.
async fn resumed_after_the_lease(h: &Harness, id: &str) -> Value {
    let (_, early) = h.view(id).await;
    assert_eq!(early["status"], "processing", "within the lease: {early}");
    tokio::time::sleep(Duration::from_millis(h.policy.lease_ms() + 100)).await;
    let (_, resumed) = h.view(id).await;
    assert_eq!(
        resumed["status"], "unknown",
        "a lost authorization is in doubt, not an error: {resumed}"
    );
    assert!(resumed["result"].is_null(), "{resumed}");
    tokio::time::sleep(FIRST_LOOKUP).await;
    h.view(id).await.1
}

fn dying_policy() -> CallPolicy {
    // Two attempts with a long pause between them: the process dies in that pause (a
    // second: room enough on a busy machine).
    CallPolicy {
        timeout_ms: 400,
        attempts: 2,
        backoff_ms: 1_000,
    }
}

/// Finding 1: Paysafe authorized, its answer was lost, and the process died before it
/// could store anything (or retry). On resume the payment used to end `error` /
/// `provider_unavailable` with the charge made; it must be looked up by its
/// merchantRefNum and end `authorized` with that charge.
#[tokio::test]
async fn a_process_that_dies_after_paysafe_authorized_finds_the_authorization() {
    let mut h = harness_with(dying_policy()).await;
    let doomed = doomed_backend(&mut h).await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        drop_after_commit: true,
        ..rule("/cardpayments")
    }]);
    let id = confirm_in_background(&h).await;
    let mut charged = false;
    for _ in 0..5_000 {
        if !charges(&h).is_empty() {
            charged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(charged, "Paysafe authorized");
    // Killed while it waits to retry: the answer never reached the store.
    kill(doomed).await;
    assert!(calling_auth(&h, &id).await, "the auth call was under way");

    h.sandbox.sandbox.faults.set(Vec::new());
    h.restart().await;
    let done = resumed_after_the_lease(&h, &id).await;
    assert_authorized_once(&h, &id, &done).await;
}

/// The process died while the authorization hung, before Paysafe processed it: the
/// lookup finds nothing, and the authorization is sent again with the same
/// merchantRefNum (Paysafe would refuse a second one as a duplicate): authorized once.
#[tokio::test]
async fn a_process_that_dies_before_paysafe_saw_the_auth_sends_it_again() {
    let mut h = harness_with(dying_policy()).await;
    let doomed = doomed_backend(&mut h).await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        hang: true,
        ..rule("/cardpayments")
    }]);
    let id = confirm_in_background(&h).await;
    let mut calling = false;
    for _ in 0..2_000 {
        if calling_auth(&h, &id).await {
            calling = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(calling, "the auth call was under way");
    kill(doomed).await;
    assert!(charges(&h).is_empty(), "the hung auth never ran");

    h.sandbox.sandbox.faults.set(Vec::new());
    h.restart().await;
    let done = resumed_after_the_lease(&h, &id).await;
    assert_authorized_once(&h, &id, &done).await;
}

/// The authorization hangs on every attempt (Paysafe never processes it). The browser
/// gets its answer within the lease, the payment is `unknown` (it could have been
/// authorized), not `error`; the lookup finds nothing and the same authorization is sent
/// again once Paysafe answers: authorized once.
#[tokio::test]
async fn a_hung_authorization_is_unknown_then_sent_again() {
    let h = harness().await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        hang: true,
        ..rule("/cardpayments")
    }]);
    let started = std::time::Instant::now();
    let (status, view) = h
        .start(&start_body("paysafe", FRICTIONLESS, "iframe"))
        .await;
    assert!(started.elapsed() < Duration::from_millis(h.policy.lease_ms()));
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "unknown", "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    assert!(charges(&h).is_empty());

    h.sandbox.sandbox.faults.set(Vec::new());
    tokio::time::sleep(FIRST_LOOKUP).await;
    let (_, done) = h.view(&id).await;
    assert_authorized_once(&h, &id, &done).await;
}

/// The authorization's answer is lost on every attempt (Paysafe authorized the first,
/// refused the repeats as duplicates, and each answer was dropped). The payment is
/// `unknown`; a lookup whose answer is lost too keeps it so; once Paysafe answers, the
/// lookup finds the authorization: `authorized`, one authorization at Paysafe.
#[tokio::test]
async fn an_auth_answer_lost_on_every_attempt_is_looked_up() {
    let h = harness_with(CallPolicy {
        timeout_ms: 800,
        attempts: 3,
        backoff_ms: 20,
    })
    .await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        drop_after_commit: true,
        ..rule("/cardpayments")
    }]);
    let (status, view) = h
        .start(&start_body("paysafe", FRICTIONLESS, "iframe"))
        .await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    assert_eq!(view["status"], "unknown", "{view}");
    assert_eq!(view["next"]["type"], "none", "{view}");
    assert_eq!(charges(&h).len(), 1, "Paysafe authorized the first attempt");

    // The lookup shares the path, so its answer is dropped too: still unknown, and the
    // store counts the lookup that was made.
    tokio::time::sleep(FIRST_LOOKUP).await;
    let (_, still) = h.view(&id).await;
    assert_eq!(still["status"], "unknown", "{still}");
    let stored = h.store.load(&id).await.expect("load").expect("stored");
    assert!(
        matches!(stored.phase, Phase::Unknown { lookups, .. } if lookups >= 1),
        "a lookup was made: {:?}",
        stored.phase
    );

    h.sandbox.sandbox.faults.set(Vec::new());
    // The second lookup waits twice as long as the first.
    tokio::time::sleep(FIRST_LOOKUP * 2).await;
    let (_, done) = h.view(&id).await;
    assert_authorized_once(&h, &id, &done).await;
}

/// Finding 4: finalize gets a 5xx on every attempt after the cardholder passed the
/// challenge. The backend used to re-read the still-PENDING authentication and show the
/// same challenge again (which the ACS refuses), leaving the payment to expire. It must
/// keep what finalize needs, never show the used challenge again, and finish once
/// Paysafe answers: finalize, the authentication's result, the authorization.
#[tokio::test]
async fn finalize_answered_only_5xx_is_finished_later_and_the_challenge_is_not_shown_again() {
    let h = harness_with(CallPolicy {
        timeout_ms: 800,
        attempts: 3,
        backoff_ms: 20,
    })
    .await;
    let (status, view) = h.start(&start_body("paysafe", CHALLENGE, "iframe")).await;
    assert_eq!(status, 200, "{view}");
    let id = view["id"].as_str().expect("id").to_owned();
    assert_eq!(view["next"]["type"], "challenge", "{view}");
    let form = next_form(&view);
    let authentication =
        ThreeDsSessionData::decode(form.field("threeDSSessionData").expect("session data"))
            .expect("the authentication id");
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        error_rate: 1.0,
        error_status: Some(500),
        ..rule(&format!(
            "/threedsecure/v2/accounts/{ACCOUNT}/authentications/{authentication}/finalize"
        ))
    }]);
    let landing = follow(&h.url, form, RIGHT).await;
    assert!(
        landing.status == 200 || landing.status == 303,
        "the return is accepted: {landing:?}"
    );
    let (_, waiting) = h.view(&id).await;
    assert_ne!(
        waiting["next"]["type"], "challenge",
        "a used challenge is never shown again: {waiting}"
    );
    assert_eq!(waiting["status"], "unknown", "{waiting}");
    assert!(charges(&h).is_empty());

    h.sandbox.sandbox.faults.set(Vec::new());
    tokio::time::sleep(FIRST_LOOKUP).await;
    let (_, done) = h.view(&id).await;
    assert_eq!(done["result"]["transStatus"], "Y", "{done}");
    assert_eq!(done["result"]["liabilityShift"], true, "{done}");
    assert_authorized_once(&h, &id, &done).await;
}

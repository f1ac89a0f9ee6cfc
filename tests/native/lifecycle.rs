//! Capture, void and refund through the real API over real HTTP, against the sandbox:
//! every step checks the payment's money as the backend answers it AND the sandbox
//! ledger's balance (`GET /_sandbox/ledger`), so a backend that says "captured" without
//! the provider having moved the money fails here.
//!
//! Each end-to-end test runs over [`PROVIDERS`]: all four providers, each through its own
//! adapter and sandbox emulation. Captures settled by the reconciler's sweep, on the SQL
//! stores, are in lifecycle_sweep.rs.

use crate::support;

use serde_json::{json, Value};
use support::backend::{
    harness, harness_configured, late_commit_reconcile, operate_at, pay, quick_policy, start_body,
    Cardholder, Harness, MERCHANT_KEY,
};
use support::browser;
use threeds_bridge::sandbox::faults::FaultRule;
use threeds_bridge::sandbox::ledger::Provider;

/// A provider the lifecycle tests run against.
pub(crate) struct Lifecycle {
    pub(crate) name: &'static str,
    pub(crate) ledger: Provider,
    /// A card that authorizes without a challenge.
    pub(crate) frictionless: &'static str,
    /// The sandbox endpoint (under the provider's prefix) a capture calls, given the
    /// provider's payment id: the faults tests drop its answer.
    pub(crate) capture_endpoint: fn(&str) -> String,
}

pub(crate) const PROVIDERS: &[Lifecycle] = &[
    Lifecycle {
        name: "bambora",
        ledger: Provider::Bambora,
        frictionless: "4000000000001000",
        capture_endpoint: |id| format!("/v1/payments/{id}/completions"),
    },
    Lifecycle {
        name: "payroc",
        ledger: Provider::Payroc,
        frictionless: "4000000000001000",
        capture_endpoint: |id| format!("/api/v1/payments/{id}/capture"),
    },
    Lifecycle {
        name: "dlocal",
        ledger: Provider::Dlocal,
        frictionless: "4000000000001000",
        capture_endpoint: |_| "/payments".to_owned(),
    },
    Lifecycle {
        name: "paysafe",
        ledger: Provider::Paysafe,
        frictionless: "4000000000001000",
        capture_endpoint: |id| format!("/cardpayments/v1/accounts/89987201/auths/{id}/settlements"),
    },
];

const RIGHT: Cardholder = Cardholder::Types("1234");

/// An authorized payment of 1099 in `mode`: its id and the provider's payment id.
pub(crate) async fn authorized(h: &Harness, p: &Lifecycle, mode: &str) -> (String, String) {
    let mut body = start_body(p.name, p.frictionless, "iframe");
    body["captureMode"] = json!(mode);
    let (view, _) = pay(h, &body, RIGHT).await;
    assert_eq!(view["status"], "authorized", "{}: {view}", p.name);
    let id = view["id"].as_str().expect("id").to_owned();
    let (_, merchant) = h.merchant_view(&id).await;
    assert_eq!(merchant["captureMode"], mode, "{merchant}");
    let provider_id = merchant["result"]["providerPaymentId"]
        .as_str()
        .expect("provider payment id")
        .to_owned();
    (id, provider_id)
}

/// `POST /v1/payments/{id}/{what}` with the merchant's key and `key`.
pub(crate) async fn operate(
    h: &Harness,
    id: &str,
    what: &str,
    key: &str,
    body: Value,
) -> (u16, Value) {
    operate_at(&h.url, id, what, key, &body).await
}

/// `POST /v1/payments/{id}/reconcile` on `h` with the merchant's key: the payment's view.
pub(crate) async fn reconcile(h: &Harness, id: &str) -> Value {
    browser()
        .post(format!("{}/v1/payments/{id}/reconcile", h.url))
        .bearer_auth(MERCHANT_KEY)
        .send()
        .await
        .expect("reconcile")
        .json()
        .await
        .expect("json")
}

/// The ledger's balance of the charge, read over HTTP as an operator would.
async fn ledger_balance(h: &Harness, p: &Lifecycle, provider_id: &str) -> Value {
    let ledger: Value = browser()
        .get(format!("{}/_sandbox/ledger", h.sandbox.url))
        .send()
        .await
        .expect("ledger")
        .json()
        .await
        .expect("ledger json");
    let provider = serde_json::to_value(p.ledger).unwrap();
    ledger["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .find(|b| b["provider"] == provider && b["provider_payment_id"] == provider_id)
        .cloned()
        .unwrap_or_else(|| panic!("no balance for {provider_id}: {ledger}"))
}

pub(crate) fn movements(h: &Harness, provider_id: &str) -> usize {
    h.sandbox
        .sandbox
        .ledger
        .movements()
        .iter()
        .filter(|m| m.provider_payment_id == provider_id)
        .count()
}

/// The balance (captured, refunded, voided) in the ledger and the money the backend
/// answered agree with `expected`.
pub(crate) async fn balances(
    h: &Harness,
    p: &Lifecycle,
    provider_id: &str,
    answer: &Value,
    expected: (i64, i64, bool),
) {
    let (captured, refunded, voided) = expected;
    let balance = ledger_balance(h, p, provider_id).await;
    assert_eq!(balance["authorized"], 1099, "{balance}");
    assert_eq!(balance["captured"], captured, "{}: {balance}", p.name);
    assert_eq!(balance["refunded"], refunded, "{}: {balance}", p.name);
    assert_eq!(balance["voided"], voided, "{}: {balance}", p.name);
    let money = &answer["money"];
    assert_eq!(money["authorized"], 1099, "{answer}");
    assert_eq!(money["captured"], captured, "{answer}");
    assert_eq!(money["refunded"], refunded, "{answer}");
    assert_eq!(
        money["voided"].as_u64().unwrap_or(0) > 0,
        voided,
        "{answer}"
    );
}

#[tokio::test]
async fn manual_authorize_partial_capture_partial_refund_then_the_rest() {
    let h = harness().await;
    for p in PROVIDERS {
        let (id, provider_id) = authorized(&h, p, "manual").await;
        let (_, view) = h.merchant_view(&id).await;
        balances(&h, p, &provider_id, &view, (0, 0, false)).await;

        let (status, capture) = operate(&h, &id, "capture", "cap-1", json!({"amount": 800})).await;
        assert_eq!(status, 200, "{capture}");
        assert_eq!(capture["status"], "succeeded", "{capture}");
        assert_eq!(
            (capture["kind"].as_str(), capture["amount"].as_u64()),
            (Some("capture"), Some(800))
        );
        balances(&h, p, &provider_id, &capture, (800, 0, false)).await;

        let (status, refund) = operate(&h, &id, "refunds", "ref-1", json!({"amount": 300})).await;
        assert_eq!(
            (status, &refund["status"]),
            (200, &json!("succeeded")),
            "{refund}"
        );
        balances(&h, p, &provider_id, &refund, (800, 300, false)).await;

        let (status, rest) = operate(&h, &id, "refunds", "ref-2", json!({})).await;
        assert_eq!(
            (status, &rest["status"]),
            (200, &json!("succeeded")),
            "{rest}"
        );
        assert_eq!(rest["amount"], 500, "the rest: {rest}");
        balances(&h, p, &provider_id, &rest, (800, 800, false)).await;

        let (status, nothing_left) = operate(&h, &id, "refunds", "ref-3", json!({})).await;
        assert_eq!(status, 409, "{nothing_left}");
        assert_eq!(nothing_left["error"]["code"], "amount_too_large");

        let (_, view) = h.merchant_view(&id).await;
        let kinds: Vec<&str> = view["operations"]
            .as_array()
            .expect("operations")
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(kinds, ["capture", "refund", "refund"], "{view}");
        assert_eq!(movements(&h, &provider_id), 3);
    }
}

#[tokio::test]
async fn authorize_then_void_releases_it_and_nothing_follows() {
    let h = harness().await;
    for p in PROVIDERS {
        let (id, provider_id) = authorized(&h, p, "manual").await;
        let (status, void) = operate(&h, &id, "void", "void-1", json!({})).await;
        assert_eq!(
            (status, &void["status"]),
            (200, &json!("succeeded")),
            "{void}"
        );
        balances(&h, p, &provider_id, &void, (0, 0, true)).await;
        for (what, body) in [
            ("capture", json!({})),
            ("refunds", json!({"amount": 1})),
            ("void", json!({})),
        ] {
            let (status, refused) = operate(&h, &id, what, &format!("after-{what}"), body).await;
            assert_eq!(status, 409, "{what}: {refused}");
            assert_eq!(
                refused["error"]["code"], "already_voided",
                "{what}: {refused}"
            );
        }
        assert_eq!(movements(&h, &provider_id), 1);
    }
}

#[tokio::test]
async fn an_automatic_payment_is_refunded_and_never_captured_again() {
    let h = harness().await;
    for p in PROVIDERS {
        let (id, provider_id) = authorized(&h, p, "automatic").await;
        let (_, view) = h.merchant_view(&id).await;
        balances(&h, p, &provider_id, &view, (1099, 0, false)).await;
        for what in ["capture", "void"] {
            let (status, refused) = operate(&h, &id, what, what, json!({})).await;
            assert_eq!(status, 409, "{refused}");
            assert_eq!(refused["error"]["code"], "already_captured", "{refused}");
        }
        let (status, refund) = operate(&h, &id, "refunds", "all", json!({})).await;
        assert_eq!(
            (status, &refund["status"]),
            (200, &json!("succeeded")),
            "{refund}"
        );
        assert_eq!(refund["amount"], 1099);
        balances(&h, p, &provider_id, &refund, (1099, 1099, false)).await;
    }
}

#[tokio::test]
async fn bad_amounts_and_wrong_orders_get_stable_codes_and_move_nothing() {
    let h = harness().await;
    for p in PROVIDERS {
        let (id, provider_id) = authorized(&h, p, "manual").await;
        let refused = |status: u16, body: &Value, code: &str| {
            assert_eq!(status, 409, "{code}: {body}");
            assert_eq!(body["error"]["code"], code, "{body}");
        };
        let (s, b) = operate(&h, &id, "capture", "k1", json!({"amount": 1100})).await;
        refused(s, &b, "amount_too_large");
        let (s, b) = operate(&h, &id, "refunds", "k2", json!({"amount": 100})).await;
        refused(s, &b, "not_captured");
        assert_eq!(movements(&h, &provider_id), 0, "nothing moved");

        let (s, b) = operate(&h, &id, "capture", "k3", json!({"amount": 500})).await;
        assert_eq!((s, &b["status"]), (200, &json!("succeeded")), "{b}");
        let (s, b) = operate(&h, &id, "capture", "k4", json!({"amount": 100})).await;
        refused(s, &b, "already_captured");
        let (s, b) = operate(&h, &id, "void", "k5", json!({})).await;
        refused(s, &b, "already_captured");
        let (s, b) = operate(&h, &id, "refunds", "k6", json!({"amount": 501})).await;
        refused(s, &b, "amount_too_large");
        let (_, view) = h.merchant_view(&id).await;
        balances(&h, p, &provider_id, &view, (500, 0, false)).await;
        assert_eq!(movements(&h, &provider_id), 1, "only the one capture");

        for (body, code) in [
            (json!({"amount": 0}), "invalid_amount"),
            (json!({"amount": -5}), "invalid_request"),
            // Not "all that is left": the merchant omits the member for that.
            (json!({"amount": null}), "invalid_request"),
            (json!({"amount": 5, "currency": "CAD"}), "invalid_request"),
        ] {
            let (status, answer) = operate(&h, &id, "refunds", "bad", body).await;
            assert_eq!(
                (status, &answer["error"]["code"]),
                (400, &json!(code)),
                "{answer}"
            );
        }
        let (status, answer) = operate(&h, &id, "void", "bad", json!({"amount": 5})).await;
        assert_eq!(status, 400, "a void takes no amount: {answer}");
    }
}

#[tokio::test]
async fn the_routes_refuse_without_key_payment_or_authorization() {
    let h = harness().await;
    let p = &PROVIDERS[0];
    let no_key = browser()
        .post(format!("{}/v1/payments/{}/capture", h.url, "0".repeat(32)))
        .header("Idempotency-Key", "k")
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(no_key.status().as_u16(), 401);
    let (status, missing) = operate(&h, &"0".repeat(32), "capture", "k", json!({})).await;
    assert_eq!(
        (status, &missing["error"]["code"]),
        (404, &json!("not_found"))
    );

    let mut body = start_body(p.name, p.frictionless, "iframe");
    body["captureMode"] = json!("manual");
    let (_, created) = h.create(&support::backend::split_start(&body).0).await;
    let id = created["id"].as_str().expect("id");
    let (status, early) = operate(&h, id, "capture", "k", json!({})).await;
    assert_eq!(
        (status, &early["error"]["code"]),
        (409, &json!("payment_not_authorized")),
        "{early}"
    );

    let response = browser()
        .post(format!("{}/v1/payments/{id}/capture", h.url))
        .bearer_auth(MERCHANT_KEY)
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 400);
    let answer: Value = response.json().await.expect("json");
    assert_eq!(answer["error"]["code"], "missing_idempotency_key");
}

#[tokio::test]
async fn an_idempotency_key_replays_its_operation_and_refuses_another_body() {
    let h = harness().await;
    for p in PROVIDERS {
        let (id, provider_id) = authorized(&h, p, "manual").await;
        let (status, first) = operate(&h, &id, "capture", "same", json!({"amount": 700})).await;
        assert_eq!(
            (status, &first["status"]),
            (200, &json!("succeeded")),
            "{first}"
        );
        let (status, again) = operate(&h, &id, "capture", "same", json!({"amount": 700})).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["id"], first["id"], "the same operation");
        assert_eq!(again["status"], "succeeded");
        assert_eq!(movements(&h, &provider_id), 1, "one movement for both");
        let (status, other) = operate(&h, &id, "capture", "same", json!({"amount": 600})).await;
        assert_eq!(
            (status, &other["error"]["code"]),
            (409, &json!("idempotency_key_reused")),
            "{other}"
        );
        let (status, other) = operate(&h, &id, "refunds", "same", json!({"amount": 700})).await;
        assert_eq!(
            (status, &other["error"]["code"]),
            (409, &json!("idempotency_key_reused")),
            "{other}"
        );
        assert_eq!(movements(&h, &provider_id), 1);
    }
}

#[tokio::test]
async fn a_lost_capture_answer_is_unknown_until_the_lookup_finds_the_one_capture() {
    let h = harness().await;
    for p in PROVIDERS {
        let (id, provider_id) = authorized(&h, p, "manual").await;
        h.sandbox.sandbox.faults.set(vec![FaultRule {
            provider: Some(p.ledger),
            endpoint: Some((p.capture_endpoint)(&provider_id)),
            drop_after_commit: true,
            ..Default::default()
        }]);
        let (status, lost) = operate(&h, &id, "capture", "lost", json!({"amount": 900})).await;
        h.sandbox.sandbox.faults.set(Vec::new());
        assert_eq!(
            (status, &lost["status"]),
            (200, &json!("unknown")),
            "{lost}"
        );
        assert_eq!(
            lost["money"]["captured"], 0,
            "not counted while in doubt: {lost}"
        );
        assert_eq!(movements(&h, &provider_id), 1, "the provider did capture");

        let (status, busy) = operate(&h, &id, "refunds", "meanwhile", json!({"amount": 1})).await;
        assert_eq!(
            (status, &busy["error"]["code"]),
            (409, &json!("operation_in_progress")),
            "{busy}"
        );

        let reconciled = reconcile(&h, &id).await;
        let operation = &reconciled["operations"][0];
        assert_eq!(operation["status"], "succeeded", "{reconciled}");
        assert_eq!(operation["id"], lost["id"]);
        balances(&h, p, &provider_id, &reconciled, (900, 0, false)).await;

        let (status, replay) = operate(&h, &id, "capture", "lost", json!({"amount": 900})).await;
        assert_eq!(
            (status, &replay["status"]),
            (200, &json!("succeeded")),
            "{replay}"
        );
        assert_eq!(movements(&h, &provider_id), 1, "exactly one capture");
    }
}

/// Bambora takes a refund, its client gives up, the first lookups find no return, and only
/// then does Bambora make it. A lookup's "never made" is believed only
/// `reconcile.not_found_after_ms` after the refund began, so the refund stays `unknown`
/// until a lookup finds the one return. Before, the first lookup ended it `refused` /
/// `provider_timeout` with the return made 5 s later, and the merchant, told nothing was
/// refunded, could refund again.
#[tokio::test]
async fn a_refund_bambora_makes_after_the_first_lookups_is_found_not_refused() {
    let h = harness_configured(quick_policy(), late_commit_reconcile()).await;
    let p = &PROVIDERS[0];
    let (id, provider_id) = authorized(&h, p, "automatic").await;
    h.sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(p.ledger),
        endpoint: Some(format!("/v1/payments/{provider_id}/returns")),
        commit_after_ms: 5_000,
        ..Default::default()
    }]);
    let (status, lost) = operate(&h, &id, "refunds", "late", json!({"amount": 400})).await;
    h.sandbox.sandbox.faults.set(Vec::new());
    assert_eq!(
        (status, &lost["status"]),
        (200, &json!("unknown")),
        "{lost}"
    );
    assert_eq!(movements(&h, &provider_id), 0, "no return yet");

    let mut settled = Value::Null;
    for _ in 0..100 {
        settled = reconcile(&h, &id).await;
        if settled["operations"][0]["status"] != "unknown" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let operation = &settled["operations"][0];
    assert_eq!(operation["status"], "succeeded", "{settled}");
    assert_eq!(operation["id"], lost["id"]);
    balances(&h, p, &provider_id, &settled, (1099, 400, false)).await;
    assert_eq!(movements(&h, &provider_id), 1, "one return");
    let too_soon = support::backend::logs()
        .lines()
        .filter(|line| {
            line.contains(lost["id"].as_str().expect("id"))
                && line.contains("too soon after the lost call")
        })
        .count();
    assert!(
        too_soon >= 1,
        "a lookup found no return before Bambora made it"
    );
}

#[tokio::test]
async fn bambora_refuses_the_completion_of_an_expired_pre_auth() {
    let h = harness().await;
    let p = &PROVIDERS[0];
    let (id, provider_id) = authorized(&h, p, "manual").await;
    let expired = browser()
        .post(format!(
            "{}/bambora/_sandbox/expire/{provider_id}",
            h.sandbox.url
        ))
        .send()
        .await
        .expect("expire");
    assert_eq!(expired.status().as_u16(), 200);
    let (status, capture) = operate(&h, &id, "capture", "late", json!({})).await;
    assert_eq!(
        (status, &capture["status"]),
        (200, &json!("refused")),
        "{capture}"
    );
    assert_eq!(
        capture["error"]["code"], "authorization_expired",
        "{capture}"
    );
    assert_eq!(capture["error"]["providerCode"], "196", "{capture}");
    assert_eq!(movements(&h, &provider_id), 0);
    let (status, void) = operate(&h, &id, "void", "release", json!({})).await;
    assert_eq!(
        (status, &void["status"]),
        (200, &json!("succeeded")),
        "a refused capture moved nothing: {void}"
    );
}

/// Eight captures with eight keys at once (a merchant's retries without their key): one
/// reaches the provider; the others are told another is under way, or that it is captured.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_captures_move_the_money_once() {
    let h = harness().await;
    for p in PROVIDERS {
        let (id, provider_id) = authorized(&h, p, "manual").await;
        let tasks: Vec<_> = (0..8)
            .map(|n| {
                let url = format!("{}/v1/payments/{id}/capture", h.url);
                tokio::spawn(async move {
                    let response = browser()
                        .post(url)
                        .bearer_auth(MERCHANT_KEY)
                        .header("Idempotency-Key", format!("k{n}"))
                        .json(&json!({"amount": 300}))
                        .send()
                        .await
                        .expect("capture");
                    let status = response.status().as_u16();
                    (
                        status,
                        response.json::<Value>().await.unwrap_or(Value::Null),
                    )
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.expect("task"));
        }
        let succeeded = answers
            .iter()
            .filter(|(status, body)| *status == 200 && body["status"] == "succeeded")
            .count();
        assert_eq!(succeeded, 1, "{answers:?}");
        for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
            assert_eq!(*status, 409, "{body}");
            let code = body["error"]["code"].as_str().unwrap_or_default();
            assert!(
                ["operation_in_progress", "already_captured"].contains(&code),
                "{body}"
            );
        }
        assert_eq!(movements(&h, &provider_id), 1);
        let (_, view) = h.merchant_view(&id).await;
        balances(&h, p, &provider_id, &view, (300, 0, false)).await;
    }
}

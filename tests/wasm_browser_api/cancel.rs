//! Giving a payment up, as the page does (`cancel()`, an abort, a challenge past its
//! deadline): before the backend has a result it ends `cancelled`, during the confirm the
//! backend is asked and its result wins, a challenge past its deadline (its own, or fifteen
//! minutes) is given up at the backend, and a cancel the backend cannot make rejects
//! `pending`. Against the stand-in backend of the parent file.

use super::*;

/// The backend's view of a payment cancelled by the shopper.
fn cancelled_view() -> JsValue {
    view(
        "final",
        r#"{"type":"none"}"#,
        r#"{"status":"cancelled","providerPaymentId":null,"threeDsVersion":null,"transStatus":null,"eci":null,"liabilityShift":false,"error":{"code":"cancelled_by_shopper"}}"#,
    )
}

/// `pay`'s options with a signal that aborts after `ms` milliseconds.
fn aborted_after(ms: u32) -> PayOptions {
    let controller = AbortController::new().unwrap();
    abort_later(&controller, ms);
    object(&[("signal", controller.signal().into())]).unchecked_into::<PayOptions>()
}

/// A call the page made: the cancel of the payment, with its client secret.
fn assert_the_cancel(call: &(String, String, Option<String>, JsValue)) {
    assert_eq!(
        (call.0.as_str(), call.1.as_str()),
        ("POST", payment_url("/cancel").as_str())
    );
    assert_eq!(call.2.as_deref(), Some(SECRET));
}

/// The backend's 409 to a cancel of a payment that had ended authorized, with its view.
fn ended_authorized() -> JsValue {
    let refused =
        js_sys::JSON::parse(r#"{"error":{"code":"payment_final","message":"ended"}}"#).unwrap();
    Reflect::set(&refused, &"payment".into(), &authorized_view()).unwrap();
    refused
}

#[wasm_bindgen_test]
async fn giving_up_before_the_backend_has_a_result_ends_cancelled_without_its_members() {
    let pending = || view("pending", &method_next(), "null");
    let _backend = Stubbed::new(&[(200, pending()), (200, pending())]);
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let options = aborted_after(150);
    let result = JsFuture::from(tds.pay(request(), Some(options)))
        .await
        .unwrap();
    assert_eq!(text(&result, "status").as_deref(), Some("cancelled"));
    assert_eq!(
        text(&result, "paymentId").as_deref(),
        Some(session().id.as_str())
    );
    for key in ["amount", "currency", "orderId", "eci", "transStatus"] {
        assert!(member(&result, key).is_null(), "{key} is null");
    }
    assert_eq!(
        text(&member(&result, "error"), "code").as_deref(),
        Some("challenge_cancelled")
    );
    let calls = calls();
    assert_eq!(
        calls.len(),
        2,
        "the confirm and one cancel, whose answer says whether the backend had a result"
    );
    assert_the_cancel(&calls[1]);
}

#[wasm_bindgen_test]
async fn giving_up_during_the_confirm_asks_the_backend_and_its_result_wins() {
    // The confirm is slow, and the backend authorizes the (frictionless) payment meanwhile;
    // the page gives up before its answer. The cancel that follows finds it final.
    let refused = ended_authorized();
    let _backend = Stubbed::slow_first(&[(200, authorized_view()), (409, refused)], 400);
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let options = aborted_after(50);
    let result = JsFuture::from(tds.pay(request(), Some(options)))
        .await
        .unwrap();
    assert_eq!(
        text(&result, "status").as_deref(),
        Some("authorized"),
        "not a local cancelled: a shopper told so would pay again"
    );
    assert_eq!(
        text(&result, "paymentId").as_deref(),
        Some(session().id.as_str())
    );
    let calls = calls();
    assert_eq!(calls.len(), 2, "the confirm, then the cancel");
    assert_the_cancel(&calls[1]);
}

#[wasm_bindgen_test]
async fn a_cancel_is_the_backends_cancel_or_the_result_it_already_had() {
    let pending = || view("pending", &method_next(), "null");
    let cancelled = cancelled_view();
    // The backend cancelled it: its result, with the payment's members.
    let backend = Stubbed::new(&[(200, pending()), (200, cancelled)]);
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let options = aborted_after(150);
    let result = JsFuture::from(tds.pay(request(), Some(options)))
        .await
        .unwrap();
    assert_eq!(text(&result, "status").as_deref(), Some("cancelled"));
    assert_eq!(text(&result, "orderId").as_deref(), Some("order-42"));
    assert_eq!(
        text(&member(&result, "error"), "code").as_deref(),
        Some("cancelled_by_shopper")
    );
    drop(backend);
    // The payment had ended first: the backend's 409 carries it, and that result wins.
    let refused = ended_authorized();
    let _backend = Stubbed::new(&[(200, pending()), (409, refused)]);
    let options = aborted_after(150);
    let result = JsFuture::from(tds.pay(request(), Some(options)))
        .await
        .unwrap();
    assert_eq!(text(&result, "status").as_deref(), Some("authorized"));
    assert_eq!(text(&result, "eci").as_deref(), Some("05"));
}

/// A challenge step in the page's frame, posting to the test server (it never completes).
fn challenge_next() -> String {
    [
        r#"{"type":"challenge","form":{"action":""#,
        &page_origin(),
        r#"/threeds-bridge-test-target","method":"POST","fields":[{"name":"creq","value":"eyJ4IjoxfQ"}]},"windowSize":"02"}"#,
    ]
    .concat()
}

#[wasm_bindgen_test]
async fn a_challenge_past_its_deadline_is_given_up_at_the_backend() {
    let pending = || view("pending", &challenge_next(), "null");
    let cancelled = cancelled_view();
    let backend = Stubbed::new(&[(200, pending()), (200, cancelled)]);
    let options = || {
        object(&[
            ("backendUrl", BACKEND_ORIGIN.into()),
            ("challengeTimeoutMs", 200.into()),
        ])
    };
    let tds = new(options()).unwrap();
    let error = JsFuture::from(tds.pay(request(), None)).await.unwrap_err();
    assert_eq!(code(&error).as_deref(), Some("timeout"));
    let calls = calls();
    assert_eq!(calls.len(), 2, "the confirm, then the deadline's cancel");
    assert_the_cancel(&calls[1]);
    // Nothing is left for a reload to show the challenge again.
    let resumed = JsFuture::from(tds.resume(None)).await.unwrap();
    assert!(resumed.is_null(), "resume() finds no payment");
    assert_eq!(stub_calls().length(), 2, "and asks the backend nothing");
    drop(backend);

    // The ACS had finished just before the deadline: the backend's result wins.
    let refused = ended_authorized();
    let _backend = Stubbed::new(&[(200, pending()), (409, refused)]);
    let tds = new(options()).unwrap();
    let result = JsFuture::from(tds.pay(request(), None)).await.unwrap();
    assert_eq!(text(&result, "status").as_deref(), Some("authorized"));
    assert_eq!(text(&result, "eci").as_deref(), Some("05"));

    // The ACS had answered, and the authorization it led to is still under way (or in
    // doubt): the backend cannot cancel it. It may yet be charged, so `pending`, not
    // `timeout` ("cancelled at your backend").
    let in_progress = js_sys::JSON::parse(
        r#"{"error":{"code":"payment_in_progress","message":"a provider call is under way"}}"#,
    )
    .unwrap();
    let still = view("pending", r#"{"type":"none"}"#, "null");
    Reflect::set(&in_progress, &"payment".into(), &still).unwrap();
    let _backend = Stubbed::new(&[(200, pending()), (409, in_progress)]);
    let tds = new(options()).unwrap();
    let error = JsFuture::from(tds.pay(request(), None)).await.unwrap_err();
    assert_eq!(code(&error).as_deref(), Some("pending"));
}

/// Without `challengeTimeoutMs` a challenge still has a deadline, 15 minutes: an ACS page
/// that never loads (left out of `frame-src`, say) sends no CRes, and `pay()` waited until
/// `cancel()`. The page's `setTimeout` is wrapped to see the delay asked for and to fire
/// the 15 minutes at once.
#[wasm_bindgen_test]
async fn a_challenge_without_a_deadline_of_its_own_has_one_of_fifteen_minutes() {
    let pending = view("pending", &challenge_next(), "null");
    let cancelled = cancelled_view();
    let _backend = Stubbed::new(&[(200, pending), (200, cancelled)]);
    let global = js_sys::global();
    let original = Reflect::get(&global, &"setTimeout".into()).unwrap();
    let asked = Array::new();
    let wrapped = Function::new_with_args(
        "callback, ms",
        "globalThis.__askedDelays.push(ms); \
         return globalThis.__setTimeout(callback, ms === 900000 ? 0 : ms);",
    );
    Reflect::set(&global, &"__askedDelays".into(), &asked).unwrap();
    Reflect::set(&global, &"__setTimeout".into(), &original).unwrap();
    Reflect::set(&global, &"setTimeout".into(), &wrapped).unwrap();
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    // With no deadline, pay() would wait for ever: the test gives it 5 s of real time.
    let guard = js_sys::Promise::new(&mut |resolve, _| {
        let _ = original
            .unchecked_ref::<Function>()
            .call2(&JsValue::NULL, &resolve, &5_000.into());
    });
    let outcome = JsFuture::from(js_sys::Promise::race(&Array::of2(
        &tds.pay(request(), None),
        &guard,
    )))
    .await;
    Reflect::set(&global, &"setTimeout".into(), &original).unwrap();
    let error = outcome.expect_err("pay() rejected before the test's 5 s guard");
    assert_eq!(code(&error).as_deref(), Some("timeout"));
    assert!(
        asked.includes(&900_000.into(), 0),
        "the challenge's deadline: {:?}",
        asked.to_vec()
    );
    let calls = calls();
    assert_eq!(
        (calls[1].0.as_str(), calls[1].1.as_str()),
        ("POST", payment_url("/cancel").as_str()),
        "the deadline cancels at the backend"
    );
}

#[wasm_bindgen_test]
async fn a_cancel_the_backend_cannot_make_rejects_pending() {
    // The shopper gives up while the provider call is under way (or in doubt): the backend
    // answers 409 payment_in_progress with the payment, still being confirmed. It may yet
    // be charged: `pending` ("processing"), not a cancelled result to pay again after.
    let refused = js_sys::JSON::parse(
        r#"{"error":{"code":"payment_in_progress","message":"a provider call is under way"}}"#,
    )
    .unwrap();
    Reflect::set(
        &refused,
        &"payment".into(),
        &view("pending", r#"{"type":"none"}"#, "null"),
    )
    .unwrap();
    let _backend = Stubbed::new(&[
        (200, view("pending", &method_next(), "null")),
        (409, refused),
    ]);
    let tds = new(object(&[("backendUrl", BACKEND_ORIGIN.into())])).unwrap();
    let options = aborted_after(150);
    let error = JsFuture::from(tds.pay(request(), Some(options)))
        .await
        .unwrap_err();
    assert_eq!(code(&error).as_deref(), Some("pending"));
    let calls = calls();
    assert_eq!(calls.len(), 2, "the confirm, then the cancel");
    assert_eq!(
        (calls[1].0.as_str(), calls[1].1.as_str()),
        ("POST", payment_url("/cancel").as_str())
    );
}

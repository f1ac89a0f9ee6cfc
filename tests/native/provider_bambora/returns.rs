//! Returns that are not the issuer's answer: a forged MD, another payment's challenge result,
//! a made-up CRes (through the adapter, and first through the real backend). Each is refused
//! or authorizes nothing, and the genuine return still authorizes once.

use super::*;

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

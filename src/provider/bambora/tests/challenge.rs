//! The 302 and its challenge, the browser's return and the continue, and a continue Bambora
//! refuses.

use crate::emv::TransStatus;
use crate::payment::PaymentMethod;
use serde_json::{json, Value};

use super::*;

#[test]
fn a_2x_redirect_becomes_a_creq_challenge_with_only_the_expected_fields() {
    let (state, action) =
        browser_step(adapter().on_response(creating(), answer(302, redirect_2x()), &cx()));
    let BrowserAction::Challenge { form, window_size } = action else {
        panic!("{action:?}")
    };
    assert_eq!(form.action, "http://sandbox.test/acs/challenge");
    assert_eq!(form.method, FormMethod::Post);
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["creq", "threeDSSessionData"]);
    assert_eq!(form.field("threeDSSessionData"), Some(SESSION_DATA));
    assert_eq!(
        window_size,
        ChallengeWindowSize::W500xH600,
        "the CReq's own"
    );
    let State::AwaitingIssuer { continue_id, .. } = &state else {
        panic!()
    };
    assert_eq!(continue_id, SESSION_DATA);
}

#[test]
fn a_1x_redirect_keeps_pareq_md_and_term_url_only() {
    let (state, action) =
        browser_step(adapter().on_response(creating(), answer(302, redirect_1x()), &cx()));
    let BrowserAction::Challenge { form, window_size } = action else {
        panic!()
    };
    assert_eq!(form.action, "https://acs.issuer.test/pareq");
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["PaReq", "MD", "TermUrl"]);
    assert_eq!(form.field("TermUrl"), Some(RETURN_URL));
    assert_eq!(window_size, ChallengeWindowSize::W390xH400, "the page's");
    let stored = serde_json::to_string(&state).unwrap();
    assert!(
        !stored.contains("XXXX"),
        "display fields are dropped: {stored}"
    );
}

/// The seed's own 302, verbatim: read, and refused because its TermUrl is not this
/// session's return route (the PaRes would go elsewhere).
#[test]
fn the_seeds_redirect_is_read_and_its_foreign_term_url_refused() {
    let seed = "%3cHTML%3e%3cHEAD%3e%3c%2fHEAD%3e%3cBODY%3e%3cFORM+action%3d%22https%3a%2f%2fapi.na.bambora.com%2factiveMerchantEmulator%2fgateway.asp%22+method%3d%22POST%22+id%3d%22form1%22+name%3d%22form1%22%3e%3cINPUT+type%3d%22hidden%22+name%3d%22PaReq%22+value%3d%22TEST_paRaq%22%3e%3cinput+type%3d%22hidden%22+name%3d%22merchant_name%22+value%3d%22Seven+Sparrow+Inc.%22%3e%3cinput+type%3d%22hidden%22+name%3d%22trnDatetime%22+value%3d%222%2f23%2f2017+5%3a05%3a42+PM%22%3e%3cinput+type%3d%22hidden%22+name%3d%22trnAmount%22+value%3d%22100.00%22%3e%3cinput+type%3d%22hidden%22+name%3d%22trnEncCardNumber%22+value%3d%22XXXX+XXXX+XXXX+3312%22%3e%3cINPUT+type%3d%22hidden%22+name%3d%22MD%22+value%3d%222CCD7715-9E97-4F11-9FFF36E6584E3200%22%3e%3cINPUT+type%3d%22hidden%22+name%3d%22TermUrl%22+value%3d%22http%3a%2f%2f10.240.9.64%3a5000%2fpayment%2fenhanced%2fredirect%2f3d-secure%22%3e%3c%2fFORM%3e%3cSCRIPT+language%3d%22JavaScript%22%3edocument.form1.submit()%3b%3c%2fSCRIPT%3e%3c%2fBODY%3e%3c%2fHTML%3e";
    let term_url = "http://10.240.9.64:5000/payment/enhanced/redirect/3d-secure";
    let expected = contents::Expected {
        continue_id: MERCHANT_DATA,
        term_url,
        sandbox_origin: None,
    };
    let IssuerForm::PaReq(form) = IssuerForm::parse(seed, expected).unwrap() else {
        panic!()
    };
    assert_eq!(
        form.acs_url,
        "https://api.na.bambora.com/activeMerchantEmulator/gateway.asp"
    );
    assert_eq!(form.pa_req, "TEST_paRaq");
    assert_eq!(form.md, "2CCD7715-9E97-4F11-9FFF36E6584E3200");
    assert_eq!(form.term_url, term_url);

    let redirect = json!({"merchant_data": MERCHANT_DATA, "contents": seed});
    let result = done(adapter().on_response(creating(), answer(302, redirect), &cx()));
    assert_eq!(result.status, PaymentStatus::Error);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderBadResponse);
    assert_eq!(error.provider_code.as_deref(), Some("bad_contents"));
    assert!(error.provider_message.unwrap().contains("TermUrl"));
}

#[test]
fn a_redirect_that_cannot_be_trusted_ends_the_payment() {
    let creq = creq().to_base64url();
    let cases = [
        // Posts to a plain-http origin that is not the configured sandbox.
        page(
            "http://evil.test/acs",
            &[("creq", &creq), ("threeDSSessionData", SESSION_DATA)],
        ),
        page(
            "javascript:alert(1)",
            &[("creq", &creq), ("threeDSSessionData", SESSION_DATA)],
        ),
        page(
            "https://user@evil.test/acs",
            &[("creq", &creq), ("threeDSSessionData", SESSION_DATA)],
        ),
        // Session data of another payment.
        page(
            "https://acs.test/c",
            &[("creq", &creq), ("threeDSSessionData", "b3RoZXI")],
        ),
        // Both protocols at once, a repeated field, no creq at all, a creq that is not one.
        page(
            "https://acs.test/c",
            &[
                ("creq", &creq),
                ("PaReq", "x"),
                ("threeDSSessionData", SESSION_DATA),
            ],
        ),
        page(
            "https://acs.test/c",
            &[
                ("creq", &creq),
                ("creq", &creq),
                ("threeDSSessionData", SESSION_DATA),
            ],
        ),
        page(
            "https://acs.test/c",
            &[("threeDSSessionData", SESSION_DATA)],
        ),
        page(
            "https://acs.test/c",
            &[
                ("creq", "bm90IGEgY3JlcQ"),
                ("threeDSSessionData", SESSION_DATA),
            ],
        ),
        // Not URL-encoded.
        "%3cFORM%zz".to_owned(),
    ];
    for contents in cases {
        let redirect = json!({"3d_session_data": SESSION_DATA, "contents": contents});
        let result = done(adapter().on_response(creating(), answer(302, redirect), &cx()));
        assert_eq!(
            result.error.unwrap().code,
            ResultCode::ProviderBadResponse,
            "{contents}"
        );
    }
    // A payment id that does not fit a URL path.
    let mut redirect = redirect_2x();
    for id in ["../../refunds", "..", "a b", ""] {
        redirect["3d_session_data"] = json!(id);
        let result = done(adapter().on_response(creating(), answer(302, redirect.clone()), &cx()));
        assert_eq!(
            result.error.unwrap().code,
            ResultCode::ProviderBadResponse,
            "{id}"
        );
    }
    // Two ids that disagree name two payments.
    let mut redirect = redirect_2x();
    redirect["merchant_data"] = json!(MERCHANT_DATA);
    let result = done(adapter().on_response(creating(), answer(302, redirect), &cx()));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderBadResponse);
}

// --- the browser's return and continue ------------------------------------------------

#[test]
fn a_1x_return_continues_with_the_pares() {
    let state = awaiting(redirect_1x());
    let md = MERCHANT_DATA.to_ascii_uppercase();
    let back = returned(&[("PaRes", "eJzLSM3JyVcozy/KSQEAGgQEXQ=="), ("MD", &md)]);
    assert_eq!(
        adapter().verify_browser_return(&state, &back, &cx()),
        Ok(())
    );
    let (state, request) = call(adapter().on_browser_return(state, &back, &cx()).unwrap());
    assert_eq!(
        request.url,
        format!("http://sandbox.test/bambora/v1/payments/{MERCHANT_DATA}/continue")
    );
    assert_eq!(request.purpose, "bambora.continue");
    assert!(!request.retry_safe);
    assert!(request
        .headers
        .contains(&("Authorization".into(), SEED_AUTH.into())));
    assert_eq!(
        body(&request),
        json!({"payment_method": "credit_card",
               "card_response": {"pa_res": "eJzLSM3JyVcozy/KSQEAGgQEXQ=="}})
    );
    let result =
        done(adapter().on_response(state, answer(200, approved(5, "Succeeded", true)), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("1.0.2"));
    assert!(!result.liability_shift, "1.0.2 shifts nothing for Visa");
}

#[test]
fn a_2x_return_continues_with_the_cres() {
    let state = awaiting(redirect_2x());
    let cres = cres(&creq().acs_trans_id, "Y");
    let back = returned(&[("cres", &cres), ("threeDSSessionData", SESSION_DATA)]);
    let (state, request) = call(adapter().on_browser_return(state, &back, &cx()).unwrap());
    assert_eq!(
        request.url,
        format!("http://sandbox.test/bambora/v1/payments/{SESSION_DATA}/continue")
    );
    assert_eq!(body(&request)["card_response"], json!({"cres": cres}));
    let result = done(adapter().on_response(
        state.clone(),
        answer(200, approved(5, "Succeeded", false)),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
    assert!(result.liability_shift);

    let failed = json!({"code": 311, "category": 1, "message": "3D Secure Failed",
                        "reference": "", "3d_secure": {"status": "Failed", "downgraded": false}});
    let result = done(adapter().on_response(state.clone(), answer(402, failed), &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.trans_status, Some(TransStatus::N));
    assert_eq!(result.three_ds_version.as_deref(), Some("2.2.0"));
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);

    let (challenge, _) =
        in_doubt(adapter().on_response(state, Err(TransportFailure::Timeout), &cx()));
    assert_eq!(
        challenge.map(|c| c.version).as_deref(),
        Some("2.2.0"),
        "the lookup reports the challenge that ran"
    );
}

/// Bambora's test ACS posts `PaRes=TEST_PaRes` to the term_url (seed 004, the guide's
/// example; seed 002's continue carries it as is): the `_` of base64's URL-safe alphabet.
#[test]
fn the_test_acs_pares_of_bambora_s_guide_is_continued_as_is() {
    let state = awaiting(redirect_1x());
    let md = MERCHANT_DATA.to_ascii_uppercase();
    let back = returned(&[("PaRes", "TEST_PaRes"), ("MD", &md)]);
    assert_eq!(
        adapter().verify_browser_return(&state, &back, &cx()),
        Ok(())
    );
    let (_, request) = call(adapter().on_browser_return(state, &back, &cx()).unwrap());
    assert_eq!(
        body(&request),
        json!({"payment_method": "credit_card", "card_response": {"pa_res": "TEST_PaRes"}})
    );
}

#[test]
fn forged_incomplete_or_malformed_returns_are_refused_and_change_nothing() {
    let md = MERCHANT_DATA.to_ascii_uppercase();
    let legacy = awaiting(redirect_1x());
    let emv = awaiting(redirect_2x());
    let good_cres = cres(&creq().acs_trans_id, "Y");
    let cases = [
        (
            &legacy,
            vec![
                ("PaRes", "eJzL"),
                ("MD", "2CCD7715-9E97-4F11-9FFF36E6584E3201"),
            ],
            "return_foreign",
        ),
        (&legacy, vec![("PaRes", "eJzL")], "return_incomplete"),
        (
            &legacy,
            vec![("PaRes", "eJzL"), ("MD", &md), ("MD", &md)],
            "return_incomplete",
        ),
        (
            &legacy,
            vec![("PaRes", "<xml/>"), ("MD", &md)],
            "return_malformed",
        ),
        (
            &legacy,
            vec![("PaRes", "eJzL\"+x"), ("MD", &md)],
            "return_malformed",
        ),
        (&legacy, vec![("MD", &md)], "return_incomplete"),
        (
            &emv,
            vec![("cres", &good_cres), ("threeDSSessionData", "b3RoZXI")],
            "return_foreign",
        ),
        (&emv, vec![("cres", &good_cres)], "return_incomplete"),
        (
            &emv,
            vec![
                ("cres", "bm90IGEgY3Jlcw"),
                ("threeDSSessionData", SESSION_DATA),
            ],
            "return_malformed",
        ),
        (
            &emv,
            vec![("PaRes", "eJzL"), ("threeDSSessionData", SESSION_DATA)],
            "return_incomplete",
        ),
    ];
    for (state, fields, code) in cases {
        let back = returned(&fields);
        let refused = adapter()
            .verify_browser_return(state, &back, &cx())
            .unwrap_err();
        assert_eq!(refused.code, code, "{fields:?}");
        // Acting on it anyway is refused the same way: nothing to store.
        let acted = adapter().on_browser_return(state.clone(), &back, &cx());
        assert_eq!(acted.map(drop).map_err(|e| e.code), Err(code), "{fields:?}");
    }
    // A CRes of another transaction (the ids of the CReq this payment sent are known).
    let other = cres("00000000-0000-4000-8000-000000000000", "Y");
    let back = returned(&[("cres", &other), ("threeDSSessionData", SESSION_DATA)]);
    assert_eq!(
        adapter()
            .verify_browser_return(&emv, &back, &cx())
            .unwrap_err()
            .code,
        "return_foreign"
    );
    // No return is expected while a call is under way.
    let back = returned(&[("PaRes", "eJzL"), ("MD", &md)]);
    assert_eq!(
        adapter()
            .verify_browser_return(&creating(), &back, &cx())
            .unwrap_err()
            .code,
        "no_return_expected"
    );
}

#[test]
fn events_without_a_call_keep_the_browser_step() {
    let state = awaiting(redirect_2x());
    let (after, _) = browser_step(adapter().on_response(
        state.clone(),
        answer(200, approved(5, "Succeeded", false)),
        &cx(),
    ));
    assert_eq!(after, state, "an answer nobody asked for is ignored");
    let (after, _) =
        browser_step(adapter().on_method_completed(state.clone(), ThreeDsCompInd::Y, &cx()));
    assert_eq!(after, state);
}

#[test]
fn a_token_payment_learns_the_brand_from_the_answer() {
    let mut start = payment();
    start.method = PaymentMethod::Token {
        token: "gt7-1".into(),
        bin: None,
    };
    start.payer.name = Some("John Doe".into());
    let (state, _) = call(adapter().start(&start, &cx()));
    let mut answer_body = approved(2, "Succeeded", false);
    answer_body["card"]["card_type"] = json!("MC");
    let result = done(adapter().on_response(state, answer(200, answer_body), &cx()));
    assert!(result.liability_shift, "Mastercard ECI 02 shifts");
    assert_eq!(wire::brand_of_card_type("PV"), CardBrand::Visa);
}

#[test]
fn config_hides_the_passcode_and_needs_a_currency() {
    let config = Config::sandbox("http://127.0.0.1:8081/");
    assert_eq!(config.base_url, "http://127.0.0.1:8081/bambora");
    assert_eq!(config.origin().as_deref(), Some("http://127.0.0.1:8081"));
    let printed = format!("{config:?}");
    assert!(!printed.contains(config.api_passcode.expose()), "{printed}");
    let parsed: Result<Config, _> =
        serde_json::from_value(json!({"merchant_id": "1", "api_passcode": "p"}));
    assert!(parsed.is_err(), "currency is required");
    let parsed: Config =
        serde_json::from_value(json!({"merchant_id": "1", "api_passcode": "p", "currency": "USD"}))
            .unwrap();
    assert_eq!(parsed.base_url, PRODUCTION_URL);
    assert!(!parsed.auth_required);
    let _ = Generation::Emv;
}

// --- a continue Bambora refuses -------------------------------------------------------

fn invalid_cres() -> Value {
    json!({"code": 314, "category": 3, "reference": "",
           "message": "Missing or invalid payment information - Please fix the errors below.",
           "details": [{"field": "card_response.cres",
                        "message": "The cardholder has not completed authentication"}]})
}

#[test]
fn a_continue_refused_as_invalid_input_waits_on_the_same_challenge() {
    let first = awaiting(redirect_2x());
    let (_, action) = browser_step(issuer_step(first.clone()));
    let forged = returned(&[
        ("cres", &cres(&creq().acs_trans_id, "Y")),
        ("threeDSSessionData", SESSION_DATA),
    ]);
    let mut state = first.clone();
    for refusal in 1..MAX_REFUSED_RETURNS {
        let Step::Refused {
            state: again,
            action: shown,
            refused,
        } = continued(state, &forged, answer(400, invalid_cres()))
        else {
            panic!("refusal {refusal}: expected a refused return")
        };
        assert_eq!(refused.code, "return_refused");
        assert_eq!(shown, action, "the same challenge");
        let State::AwaitingIssuer { refused: count, .. } = &again else {
            panic!("{again:?}")
        };
        assert_eq!(*count, refusal);
        state = again;
    }
    // The last refusal ends the payment with Bambora's words; nothing was charged.
    let result = done(continued(
        state.clone(),
        &forged,
        answer(400, invalid_cres()),
    ));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(
        (error.code, error.provider_code.as_deref()),
        (ResultCode::ProviderRejected, Some("314"))
    );
    // Before that, the genuine answer still authorizes.
    let genuine = done(continued(
        state,
        &forged,
        answer(200, approved(5, "Succeeded", false)),
    ));
    assert_eq!(genuine.status, PaymentStatus::Authorized);
}

#[test]
fn other_refusals_of_a_continue_end_the_payment() {
    let back = returned(&[
        ("cres", &cres(&creq().acs_trans_id, "Y")),
        ("threeDSSessionData", SESSION_DATA),
    ]);
    let unauthorized = json!({"code": 21, "category": 3, "message": "Authentication failed"});
    let unknown = json!({"code": 314, "category": 3, "message": "Missing or invalid payment information",
                         "details": [{"field": "merchant_data", "message": "Invalid transaction id"}]});
    for (status, body) in [(401, unauthorized), (404, unknown)] {
        let result = done(continued(
            awaiting(redirect_2x()),
            &back,
            answer(status, body),
        ));
        assert_eq!(result.status, PaymentStatus::Failed, "{status}");
        assert_eq!(result.error.unwrap().code, ResultCode::ProviderRejected);
    }
    // A continue stored before the waiting step was kept cannot go back to it.
    let (state, _) = call(
        adapter()
            .on_browser_return(awaiting(redirect_2x()), &back, &cx())
            .unwrap(),
    );
    let State::Continuing {
        order, challenge, ..
    } = state
    else {
        panic!()
    };
    let old = State::Continuing {
        order,
        challenge,
        waiting: None,
    };
    let result = done(adapter().on_response(old, answer(400, invalid_cres()), &cx()));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderRejected);
}

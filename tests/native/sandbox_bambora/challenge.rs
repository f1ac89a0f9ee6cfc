//! Bambora's challenges played through the sandbox ACS: 3DS 2 with the right code, every
//! brand, a wrong code or a cancel, a tampered or foreign cres; then 3DS1's PaReq and PaRes.

use super::*;

#[tokio::test]
async fn challenge_with_the_right_code_authorizes_once() {
    let bambora = Bambora::start().await;
    let (session, cres) = challenge_v2(&bambora, "4000000000002008", Answer::Code("1234")).await;
    let (http, body) = continue_v2(&bambora, &session, &cres).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_approved(&body, "Succeeded", 5, "VI");
    assert_eq!(bambora.ledger(), [body["id"].as_str().unwrap()]);
    // A replay (the merchant retried, or the browser posted twice) returns the same
    // payment and charges nothing more.
    let (http, again) = continue_v2(&bambora, &session, &cres).await;
    assert_eq!((http, &again), (StatusCode::OK, &body));
    assert_eq!(bambora.ledger().len(), 1);
}

#[tokio::test]
async fn challenge_cards_of_every_brand() {
    let bambora = Bambora::start().await;
    for (pan, eci, card_type) in [
        ("4012007153923001", 5, "VI"),
        ("4000000000002107", 5, "VI"),
        ("5200000000002003", 2, "MC"),
        ("370000000000200", 5, "AM"),
    ] {
        let (session, cres) = challenge_v2(&bambora, pan, Answer::Code("1234")).await;
        let (http, body) = continue_v2(&bambora, &session, &cres).await;
        assert_eq!(http, StatusCode::OK, "{pan}: {body}");
        assert_approved(&body, "Succeeded", eci, card_type);
    }
    assert_eq!(bambora.ledger().len(), 4);
}

#[tokio::test]
async fn wrong_code_and_cancel_are_declined_311() {
    let bambora = Bambora::start().await;
    for answer in [Answer::Code("0000"), Answer::Cancel] {
        let (session, cres) = challenge_v2(&bambora, "4000000000002008", answer).await;
        let (http, body) = continue_v2(&bambora, &session, &cres).await;
        assert_eq!(http, StatusCode::PAYMENT_REQUIRED, "{body}");
        assert_error(&body, 311, 1);
        assert_eq!(body["3d_secure"]["status"], "Failed");
        let (http, again) = continue_v2(&bambora, &session, &cres).await;
        assert_eq!((http, again), (StatusCode::PAYMENT_REQUIRED, body));
    }
    assert!(bambora.ledger().is_empty());
}

#[tokio::test]
async fn tampered_foreign_or_early_cres_is_400() {
    let bambora = Bambora::start().await;
    let (session, cres) = challenge_v2(&bambora, "4000000000002008", Answer::Code("0000")).await;
    // The browser flips the issuer's N into a Y.
    let mut message: Value = serde_json::from_slice(&base64url_decode(&cres)).expect("cres JSON");
    assert_eq!(message["transStatus"], "N");
    message["transStatus"] = json!("Y");
    let forged = base64url_encode(&serde_json::to_vec(&message).unwrap());
    let (http, body) = continue_v2(&bambora, &session, &forged).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "{body}");
    assert_error(&body, 314, 3);
    assert_eq!(detail_fields(&body), ["card_response.cres"]);
    // Garbage.
    let (http, _) = continue_v2(&bambora, &session, "not-a-cres").await;
    assert_eq!(http, StatusCode::BAD_REQUEST);

    // A good cres of one session sent to another.
    let (other, good) = challenge_v2(&bambora, "4000000000002008", Answer::Code("1234")).await;
    let (third, _) = challenge_v2(&bambora, "4000000000002008", Answer::Code("1234")).await;
    let (http, _) = continue_v2(&bambora, &third, &good).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);

    // A cres made up from the creq before the cardholder answered.
    let (status, pending) = bambora
        .post("/v1/payments", &payment("4000000000002008", three_ds2()))
        .await;
    assert_eq!(status, StatusCode::FOUND);
    let (_, form) = contents_form(&pending);
    let creq: Value =
        serde_json::from_slice(&base64url_decode(form.field("creq").unwrap())).unwrap();
    let early = json!({"threeDSServerTransID": creq["threeDSServerTransID"],
        "acsTransID": creq["acsTransID"], "messageType": "CRes",
        "messageVersion": "2.2.0", "transStatus": "Y"});
    let early = base64url_encode(&serde_json::to_vec(&early).unwrap());
    let session_id = pending["3d_session_data"].as_str().unwrap();
    let (http, body) = continue_v2(&bambora, session_id, &early).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "{body}");

    // None of that charged anything; the genuine cres still works afterwards.
    assert!(bambora.ledger().is_empty());
    let (http, _) = continue_v2(&bambora, &other, &good).await;
    assert_eq!(http, StatusCode::OK);
    assert_eq!(bambora.ledger().len(), 1);
}

fn base64url_decode(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .expect("base64url")
}

fn base64url_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// 3DS 1.0.2: `merchant_data`, the seed's form1 with PaReq/MD/TermUrl, PaRes back.
async fn challenge_v1(
    bambora: &Bambora,
    version: Value,
    answer: Answer,
) -> (Value, support::PageForm) {
    let mut secure = three_ds2();
    secure["version"] = version;
    let (status, body) = bambora
        .post("/v1/payments", &payment("4000000000003006", secure))
        .await;
    assert_eq!(status, StatusCode::FOUND, "{body}");
    let merchant_data = body["merchant_data"].as_str().expect("merchant_data");
    assert!(body.get("3d_session_data").is_none());
    assert_eq!(
        body["links"][0]["href"],
        format!(
            "{}/bambora/v1/payments/{merchant_data}/continue",
            bambora.running.url
        )
    );
    let (html, form) = contents_form(&body);
    assert!(html.contains("<INPUT type=\"hidden\" name=\"PaReq\""));
    assert_eq!(form.action, format!("{}/acs/pareq", bambora.running.url));
    assert_eq!(form.field("TermUrl"), Some(TERM_URL));
    assert_eq!(
        form.field("MD"),
        Some(merchant_data.to_uppercase().as_str())
    );
    assert_eq!(form.field("trnAmount"), Some("15.99"));
    assert_eq!(form.field("trnEncCardNumber"), Some("XXXX XXXX XXXX 3006"));
    let back = at_the_acs(bambora, &form, answer).await;
    assert_eq!(back.field("MD"), form.field("MD"));
    (body, back)
}

async fn continue_v1(bambora: &Bambora, id: &str, pa_res: &str) -> (StatusCode, Value) {
    bambora
        .post(
            &format!("/v1/payments/{id}/continue"),
            &json!({"payment_method": "credit_card", "card_response": {"pa_res": pa_res}}),
        )
        .await
}

#[tokio::test]
async fn three_ds1_card_challenges_with_pareq() {
    let bambora = Bambora::start().await;
    // Asked for 2, the 1.0.2-only range downgrades.
    let (redirect, back) = challenge_v1(&bambora, json!(2), Answer::Code("1234")).await;
    let merchant_data = redirect["merchant_data"].as_str().unwrap();
    let pa_res = back.field("PaRes").expect("PaRes");
    // The MD the ACS posted back (upper case, as in the seed) names the payment too.
    let md = back.field("MD").unwrap();
    let (http, body) = continue_v1(&bambora, md, pa_res).await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_approved(&body, "Succeeded", 5, "VI");
    assert_eq!(body["3d_secure"]["downgraded"], true);
    let (http, again) = continue_v1(&bambora, merchant_data, pa_res).await;
    assert_eq!((http, &again), (StatusCode::OK, &body));
    assert_eq!(bambora.ledger().len(), 1);

    // Asked for 1: not a downgrade. A wrong code is 311.
    let (redirect, back) = challenge_v1(&bambora, json!(1), Answer::Code("9999")).await;
    let merchant_data = redirect["merchant_data"].as_str().unwrap();
    let (http, body) = continue_v1(&bambora, merchant_data, back.field("PaRes").unwrap()).await;
    assert_eq!(http, StatusCode::PAYMENT_REQUIRED);
    assert_error(&body, 311, 1);
    assert_eq!(body["3d_secure"]["downgraded"], false);
    assert_eq!(bambora.ledger().len(), 1);
}

#[tokio::test]
async fn foreign_or_broken_pares_is_400() {
    let bambora = Bambora::start().await;
    let (first, first_back) = challenge_v1(&bambora, json!(1), Answer::Code("1234")).await;
    let (second, _) = challenge_v1(&bambora, json!(1), Answer::Code("1234")).await;
    let second_id = second["merchant_data"].as_str().unwrap();
    let first_pares = first_back.field("PaRes").unwrap();
    let (http, body) = continue_v1(&bambora, second_id, first_pares).await;
    assert_eq!(http, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(detail_fields(&body), ["card_response.pa_res"]);
    let (http, _) = continue_v1(&bambora, second_id, "TEST_PaRes").await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    // A cres where a PaRes is due.
    let (http, _) = continue_v2(&bambora, second_id, "eyJ9").await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert!(bambora.ledger().is_empty());
    let first_id = first["merchant_data"].as_str().unwrap();
    assert_eq!(
        continue_v1(&bambora, first_id, first_pares).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn three_ds1_not_enrolled_is_unavailable() {
    let bambora = Bambora::start().await;
    let (http, body) = bambora
        .post("/v1/payments", &payment("4000000000003105", three_ds2()))
        .await;
    assert_eq!(http, StatusCode::OK, "{body}");
    assert_approved(&body, "Unavailable", 7, "VI");
    assert_eq!(body["3d_secure"]["downgraded"], true);
    assert!(body["card"].get("cavv_result").is_none());
    let mut strict = three_ds2();
    strict["auth_required"] = json!(true);
    let (http, body) = bambora
        .post("/v1/payments", &payment("4000000000003105", strict))
        .await;
    assert_eq!(http, StatusCode::PAYMENT_REQUIRED);
    assert_error(&body, 311, 1);
    assert_eq!(bambora.ledger().len(), 1);
}

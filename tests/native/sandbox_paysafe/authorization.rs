//! The authorization's guards: forged authentication blocks, unknown ids, a lost answer
//! recovered by merchantRefNum without a second charge, and single-use tokens.

use super::*;

#[tokio::test]
async fn forged_authentication_blocks_are_rejected() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, genuine) = api.authenticate("4000000000001000").await;
    let block = block_of(&genuine);

    let mut forged = block.clone();
    forged["cavv"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f1"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["authentication.cavv"]);

    let mut forged = block.clone();
    forged["eci"] = json!(6);
    forged["threeDResult"] = json!("A");
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f2"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        field_names(&body),
        ["authentication.eci", "authentication.threeDResult"]
    );

    // The genuine block on another card.
    let (status, body) = api
        .authorize(&auth_request(
            "4111111111111111",
            &unique_ref("f3"),
            Some(block.clone()),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), ["card.cardNum"]);

    let mut forged = block.clone();
    forged["directoryServerTransactionId"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f4"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        field_names(&body),
        ["authentication.directoryServerTransactionId"]
    );

    // Claiming ECI 05 and a CAVV without naming any authentication.
    let forged = json!({"eci": 5, "cavv": genuine["cavv"], "threeDResult": "Y", "threeDSecureVersion": "2.2.0"});
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("f5"),
            Some(forged),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        field_names(&body),
        [
            "authentication.directoryServerTransactionId",
            "authentication.eci"
        ]
    );

    // A pending challenge cannot be used either.
    let (_, pending) = api.authenticate("4000000000002008").await;
    let block = json!({"eci": 5, "cavv": "x", "directoryServerTransactionId": pending["directoryServerTransactionId"]});
    let (status, body) = api
        .authorize(&auth_request(
            "4000000000002008",
            &unique_ref("f6"),
            Some(block),
        ))
        .await;
    assert_error(status, &body, 400, "5068");
    assert!(paysafe_ledger(&sandbox).is_empty());

    // The genuine one goes through.
    let (status, _) = api
        .authorize(&auth_request(
            "4000000000001000",
            &unique_ref("ok"),
            Some(block_of(&genuine)),
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(paysafe_ledger(&sandbox).len(), 1);
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (status, body) = api.get(&format!("{}/nope", auth_path())).await;
    assert_error(status, &body, 404, "5269");
    let (status, body) = api
        .post(
            &format!("{}/nope/finalize", auth_path()),
            &json!({"payload": "x"}),
        )
        .await;
    assert_error(status, &body, 404, "5269");
    let (status, body) = api
        .get(&format!("/cardpayments/v1/accounts/{ACCOUNT}/auths/nope"))
        .await;
    assert_error(status, &body, 404, "5269");
    // An authentication is not visible through another account.
    let (_, authentication) = api.authenticate("4000000000001000").await;
    let (status, body) = api
        .get(&format!(
            "/threedsecure/v2/accounts/11111111/authentications/{}",
            authentication["id"].as_str().unwrap()
        ))
        .await;
    assert_error(status, &body, 401, "5270");
    // The challenge-complete page refuses what it cannot place.
    let page = browser()
        .post(format!("{}/threedsecure/v2/challenge-complete", api.base))
        .form(&[("cres", "garbage")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
}

#[tokio::test]
async fn a_lost_answer_is_recovered_by_merchant_ref_num_without_a_second_charge() {
    use threeds_bridge::sandbox::faults::FaultRule;
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, authentication) = api.authenticate("4000000000001000").await;
    let reference = unique_ref("lost");
    let request = auth_request(
        "4000000000001000",
        &reference,
        Some(block_of(&authentication)),
    );
    sandbox.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Paysafe),
        endpoint: Some(format!("/cardpayments/v1/accounts/{ACCOUNT}/auths")),
        drop_after_commit: true,
        ..FaultRule::default()
    }]);
    let lost = api
        .client
        .post(format!(
            "{}/cardpayments/v1/accounts/{ACCOUNT}/auths",
            api.base
        ))
        .basic_auth(USER, Some(PASSWORD))
        .json(&request)
        .send()
        .await;
    assert!(lost.is_err(), "the answer is dropped after the charge");
    assert_eq!(paysafe_ledger(&sandbox).len(), 1);
    sandbox.sandbox.faults.set(Vec::new());

    let (status, found) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(found["auths"][0]["status"], "COMPLETED");
    assert_eq!(found["auths"].as_array().map(Vec::len), Some(1));
    assert_eq!(found["auths"][0]["merchantRefNum"], reference.as_str());
    assert_eq!(found["auths"][0]["amount"], 1099);
    assert_eq!(found["auths"][0]["currencyCode"], "USD");
    // A resend is refused as a duplicate naming the charge that was made.
    let (status, retry) = api.authorize(&request).await;
    assert_error(status, &retry, 409, "5031");
    assert_eq!(retry["existingTransactionId"], found["auths"][0]["id"]);
    assert_eq!(paysafe_ledger(&sandbox).len(), 1, "never a second charge");

    // A merchantRefNum Paysafe never saw: an empty list, not an error.
    let (status, none) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={}",
            unique_ref("never-sent")
        ))
        .await;
    assert_eq!((status, none), (200, json!({"auths": []})));
}

async fn tokenize(api: &Api, pan: &str) -> (u16, Value) {
    api.post(
        "/customervault/v1/singleusetokens",
        &json!({"card": {
            "cardNum": pan,
            "cardExpiry": {"month": 12, "year": 2040},
            "cvv": "123",
            "holderName": "Jane Doe",
        }}),
    )
    .await
}

#[tokio::test]
async fn single_use_tokens_stand_for_the_card_and_are_consumed_by_the_authorization() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);

    // Credentials, field errors and card checks, in Paysafe's error shape.
    let (status, body) = api
        .send(
            api.client
                .post(format!("{}/customervault/v1/singleusetokens", api.base))
                .basic_auth(USER, Some("wrong"))
                .json(&json!({})),
        )
        .await;
    assert_error(status, &body, 401, "5279");
    let (status, body) = api
        .post(
            "/customervault/v1/singleusetokens",
            &json!({"card": {"cardNum": "4000000000001000"}}),
        )
        .await;
    assert_error(status, &body, 400, "5068");
    assert!(
        field_names(&body).contains(&"card.cardExpiry".to_owned()),
        "{body}"
    );
    let (status, body) = tokenize(&api, "4000000000001001").await;
    assert_error(status, &body, 400, "3002");

    // The token and the tokenized card, never the number.
    let pan = "4000000000002107";
    let (status, token) = tokenize(&api, pan).await;
    assert_eq!(status, 200, "{token}");
    assert!(!token.to_string().contains(pan), "{token}");
    assert_eq!(token["card"]["lastDigits"], "2107");
    assert_eq!(token["card"]["cardBin"], "400000");
    assert_eq!(token["card"]["cardType"], "VI");
    assert_eq!(token["timeToLiveSeconds"], 899);
    let payment_token = token["paymentToken"].as_str().unwrap().to_owned();

    // /jwt takes the card's BIN, as Paysafe documents it, even beside a token.
    let (status, refused) = api
        .post(
            "/threedsecure/v2/jwt",
            &json!({"card": {"paymentToken": payment_token}, "accountId": ACCOUNT}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(field_names(&refused), vec!["card.cardBin"], "{refused}");
    // With it, the token (sandbox extension) offers the card's 3DS Method.
    let (status, session) = api
        .post(
            "/threedsecure/v2/jwt",
            &json!({"card": {"paymentToken": payment_token, "cardBin": "400000"}, "accountId": ACCOUNT}),
        )
        .await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["card"]["cardBin"], "400000");
    assert!(session["methodUrl"].is_string(), "{session}");

    // An authentication with card {paymentToken} behaves as the card does (2107: challenge).
    let mut request = authentication_request(pan, &session["deviceFingerprintingId"]);
    request["card"] = json!({"paymentToken": payment_token});
    let (status, pending) = api.post(&auth_path(), &request).await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["card"]["lastDigits"], "2107");
    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    let (_, done) = finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
    assert_eq!(done["threeDResult"], "Y", "{done}");

    // The authorization with the token: approved once, replayed unchanged, then spent.
    let reference = unique_ref("token");
    let mut auth = auth_request(pan, &reference, Some(block_of(&done)));
    auth["card"] = json!({"paymentToken": payment_token});
    let (status, approved) = api.authorize(&auth).await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "COMPLETED");
    assert_eq!(approved["card"]["lastDigits"], "2107");
    assert_eq!(
        approved["cvvVerification"], "MATCH",
        "the tokenized CVV counts"
    );
    let (status, replay) = api.authorize(&auth).await;
    assert_error(status, &replay, 409, "5031");
    assert_eq!(
        replay["existingTransactionId"], approved["id"],
        "a duplicate"
    );
    let ledger = paysafe_ledger(&sandbox);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].card, "400000******2107");

    let (status, body) = api
        .authorize(&{
            let mut again = auth.clone();
            again["merchantRefNum"] = json!(unique_ref("again"));
            again
        })
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), vec!["card.paymentToken"], "{body}");
    let session = api.session(pan, false).await;
    let mut request = authentication_request(pan, &session["deviceFingerprintingId"]);
    request["card"] = json!({"paymentToken": payment_token});
    let (status, body) = api.post(&auth_path(), &request).await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(
        paysafe_ledger(&sandbox).len(),
        1,
        "a spent token charges nothing"
    );

    // Unknown and expired tokens.
    let (status, body) = api
        .authorize(&json!({"merchantRefNum": unique_ref("x"), "amount": 100,
            "card": {"paymentToken": "SCNOSUCHTOKEN00"}}))
        .await;
    assert_error(status, &body, 400, "5068");
    sandbox
        .sandbox
        .paysafe
        .set_token_ttl(std::time::Duration::ZERO);
    let (_, expired) = tokenize(&api, "4000000000001000").await;
    let (status, body) = api
        .authorize(&json!({"merchantRefNum": unique_ref("x"), "amount": 100,
            "card": {"paymentToken": expired["paymentToken"]}}))
        .await;
    assert_error(status, &body, 400, "5068");
    assert!(body.to_string().contains("expired"), "{body}");
    assert_eq!(paysafe_ledger(&sandbox).len(), 1);
}

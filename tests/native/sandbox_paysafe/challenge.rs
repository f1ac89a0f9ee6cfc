//! Challenges (the right code, a wrong one, a cancel, Amex), 3DS 1 cards, 3DS Method cards and
//! an issuer's decline, each through to the authorization or its refusal.

use super::*;

#[tokio::test]
async fn challenge_with_the_right_code_then_authorization_once() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (status, pending) = api.authenticate("4000000000002008").await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["threeDResult"], "C");
    assert_eq!(
        pending["acsUrl"],
        format!("{}/acs/challenge", sandbox.url),
        "absolute ACS URL"
    );
    let inner = challenge_payload(&pending);
    assert_eq!(inner["id"], pending["id"]);
    assert_eq!(inner["accountId"], ACCOUNT);
    let creq = threeds_bridge::emv::CReq::from_base64url(inner["payload"].as_str().unwrap())
        .expect("a CReq");
    assert_eq!(creq.acs_trans_id, inner["transactionId"].as_str().unwrap());
    assert_eq!(
        creq.three_ds_server_trans_id,
        pending["threeDSecureServerTransactionId"].as_str().unwrap()
    );

    // Finalizing before the cardholder answered is refused.
    let fake_cres = threeds_bridge::emv::base64url::encode(
        json!({"threeDSServerTransID": creq.three_ds_server_trans_id, "acsTransID": creq.acs_trans_id,
               "messageType": "CRes", "messageVersion": "2.2.0", "transStatus": "Y"})
        .to_string(),
    );
    let (status, body) = finalize(&api, &pending["id"], &fake_cres).await;
    assert_error(status, &body, 400, "5068");

    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    assert_eq!(returned.field("threeDSSessionData"), Some("b3JkZXIx"));
    let payload = returned.field("payload").unwrap();
    let (status, done) = finalize(&api, &pending["id"], payload).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["threeDResult"], "Y");
    assert_eq!(done["eci"], 5);
    assert_eq!(done["cavv"].as_str().map(str::len), Some(28));
    assert_eq!(
        done["directoryServerTransactionId"],
        pending["directoryServerTransactionId"]
    );
    assert!(done.get("acsUrl").is_none());
    let (_, twice) = finalize(&api, &pending["id"], payload).await;
    assert_eq!(twice, done, "finalize is idempotent");
    let (_, fetched) = api
        .get(&format!("{}/{}", auth_path(), done["id"].as_str().unwrap()))
        .await;
    assert_eq!(fetched, done);

    // The authorization with the genuine block: approved once, whatever the retries.
    let reference = unique_ref("order");
    let request = auth_request("4000000000002008", &reference, Some(block_of(&done)));
    let (status, auth) = api.authorize(&request).await;
    assert_eq!(status, 200, "{auth}");
    assert_eq!(auth["status"], "COMPLETED");
    assert_eq!(auth["amount"], 1099);
    assert_eq!(auth["availableToSettle"], 1099);
    assert_eq!(auth["authCode"].as_str().map(str::len), Some(6));
    assert_eq!(
        auth["card"],
        json!({"type": "VI", "lastDigits": "2008", "cardExpiry": {"month": 12, "year": 2040}})
    );
    assert_eq!(auth["currencyCode"], "USD");
    assert_eq!(auth["merchantRefNum"], reference.as_str());
    let ledger = paysafe_ledger(&sandbox);
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].provider_payment_id, auth["id"].as_str().unwrap());
    assert_eq!(ledger[0].order_id, reference);
    assert_eq!(
        (ledger[0].amount, ledger[0].currency.as_str()),
        (1099, "USD")
    );
    assert_eq!(ledger[0].card, "400000******2008");

    // Paysafe's duplicate check: the same merchantRefNum again, the same request or not.
    let (status, retry) = api.authorize(&request).await;
    assert_error(status, &retry, 409, "5031");
    assert_eq!(retry["existingTransactionId"], auth["id"]);
    let mut changed = request.clone();
    changed["amount"] = json!(2000);
    let (status, body) = api.authorize(&changed).await;
    assert_error(status, &body, 409, "5031");
    assert_eq!(body["existingTransactionId"], auth["id"]);
    assert_eq!(paysafe_ledger(&sandbox).len(), 1, "never a second charge");

    let (status, fetched) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths/{}",
            auth["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!((status, &fetched), (200, &auth));
    let (status, found) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_eq!((status, found), (200, json!({"auths": [auth]})));
}

#[tokio::test]
async fn challenge_wrong_code_and_cancel_end_in_n() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    for (pan, otp, action) in [
        ("4000000000002008", "9999", "submit"),
        ("5200000000002003", "", "cancel"),
        ("370000000000200", "0000", "submit"),
    ] {
        let (_, pending) = api.authenticate(pan).await;
        assert_eq!(pending["status"], "PENDING", "{pan}");
        let returned = run_challenge(&sandbox, &pending, otp, action).await;
        let (status, done) =
            finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(
            (done["status"].as_str(), done["threeDResult"].as_str()),
            (Some("COMPLETED"), Some("N")),
            "{pan}"
        );
        assert!(done.get("cavv").is_none());
        let cancelled = (action == "cancel").then_some("01");
        assert_eq!(done["challengeCancel"].as_str(), cancelled, "{pan}: {done}");
        // No authorization may follow an N.
        let (status, body) = api
            .authorize(&auth_request(pan, &unique_ref("n"), Some(block_of(&done))))
            .await;
        assert_error(status, &body, 400, "5068");
        assert!(
            field_names(&body).contains(&"authentication.threeDResult".to_owned()),
            "{body}"
        );
    }
    assert!(paysafe_ledger(&sandbox).is_empty());
}

#[tokio::test]
async fn amex_challenge_success_and_finalize_guards() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, first) = api.authenticate("370000000000200").await;
    let (_, second) = api.authenticate("5200000000002003").await;
    let first_return = run_challenge(&sandbox, &first, "1234", "submit").await;
    let first_payload = first_return.field("payload").unwrap();
    // The payload of one authentication cannot finalize another.
    let (status, body) = finalize(&api, &second["id"], first_payload).await;
    assert_error(status, &body, 400, "5068");
    let (status, body) = finalize(&api, &second["id"], "garbage!").await;
    assert_error(status, &body, 400, "5068");
    let (status, body) = api
        .post(
            &format!(
                "{}/{}/finalize",
                auth_path(),
                second["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_error(status, &body, 400, "5068");
    let (_, still) = api
        .get(&format!(
            "{}/{}",
            auth_path(),
            second["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(still["status"], "PENDING");

    let (status, done) = finalize(&api, &first["id"], first_payload).await;
    assert_eq!(status, 200);
    assert_eq!(
        (done["threeDResult"].as_str(), done["eci"].as_i64()),
        (Some("Y"), Some(5))
    );
    assert_eq!(done["card"]["type"], "AM");

    // A frictionless authentication has nothing to finalize.
    let (_, frictionless) = api.authenticate("4000000000001000").await;
    let (status, body) = finalize(&api, &frictionless["id"], first_payload).await;
    assert_error(status, &body, 400, "5068");
}

#[tokio::test]
async fn three_ds_one_cards() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    // 3006: enrolled on 1.0.2, PaReq/PaRes challenge.
    let (status, pending) = api.authenticate("4000000000003006").await;
    assert_eq!(status, 200, "{pending}");
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["threeDEnrollment"], "Y");
    assert_eq!(pending["threeDSecureVersion"], "1.0.2");
    assert!(
        pending.get("threeDResult").is_none(),
        "threeDEnrollment replaces threeDResult"
    );
    assert_eq!(pending["acsUrl"], format!("{}/acs/pareq", sandbox.url));
    let inner = challenge_payload(&pending);
    assert_eq!(
        threeds_bridge::sandbox::acs::decode_pareq_xid(inner["payload"].as_str().unwrap())
            .as_deref(),
        inner["transactionId"].as_str()
    );
    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    assert_eq!(returned.field("MD"), pending["id"].as_str());
    let (status, done) = finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "COMPLETED");
    assert_eq!(done["threeDResult"], "Y");
    assert_eq!(done["eci"], 5);
    assert_eq!(done["xid"], inner["transactionId"]);
    assert_eq!(done["signatureStatus"], "Y");
    assert_eq!(done["cavv"].as_str().map(str::len), Some(28));
    let (status, auth) = api
        .authorize(&auth_request(
            "4000000000003006",
            &unique_ref("3ds1"),
            Some(block_of(&done)),
        ))
        .await;
    assert_eq!(
        (status, auth["status"].as_str()),
        (200, Some("COMPLETED")),
        "{auth}"
    );

    // 3105: 1.0.2 range, not enrolled.
    let (status, not_enrolled) = api.authenticate("4000000000003105").await;
    assert_eq!(status, 200);
    assert_eq!(not_enrolled["status"], "COMPLETED");
    assert_eq!(not_enrolled["threeDEnrollment"], "N");
    assert_eq!(not_enrolled["threeDSecureVersion"], "1.0.2");
    assert!(not_enrolled.get("threeDResult").is_none());
    assert!(not_enrolled.get("cavv").is_none());
    assert_eq!(not_enrolled["eci"], 7);
    let block = json!({"eci": 7, "threeDEnrollment": "N", "threeDSecureVersion": "1.0.2"});
    let (status, auth) = api
        .authorize(&auth_request(
            "4000000000003105",
            &unique_ref("3ds1n"),
            Some(block),
        ))
        .await;
    assert_eq!(
        (status, auth["status"].as_str()),
        (200, Some("COMPLETED")),
        "{auth}"
    );
    assert_eq!(paysafe_ledger(&sandbox).len(), 2);
}

#[tokio::test]
async fn method_cards() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let client = browser();
    // 2107: the Method answers, then the issuer challenges.
    let session = api.session("4000000000002107", true).await;
    let method_url = session["methodUrl"]
        .as_str()
        .expect("methodUrl for a Method card");
    assert_eq!(method_url, format!("{}/acs/method", sandbox.url));
    let data = session["threeDSMethodData"].as_str().unwrap();
    let decoded = ThreeDsMethodData::from_base64url(data).unwrap();
    let trans_id = decoded.three_ds_server_trans_id.clone();
    let page = client
        .post(method_url)
        .form(&[("threeDSMethodData", data)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let notify = form(&page.text().await.unwrap(), Some("autosubmit"));
    assert!(notify
        .action
        .ends_with("/paysafe/threedsecure/v2/method-complete"));
    let done = notify.submit(&client, &sandbox.url).await;
    assert_eq!(done.status(), 200);
    assert!(sandbox.sandbox.acs.method_completed(&trans_id));
    let request = authentication_request("4000000000002107", &session["deviceFingerprintingId"]);
    let (status, pending) = api.post(&auth_path(), &request).await;
    assert_eq!(status, 200);
    assert_eq!(
        pending["threeDSecureServerTransactionId"],
        trans_id.as_str(),
        "the Method's transaction"
    );
    assert_eq!(
        (pending["status"].as_str(), pending["threeDResult"].as_str()),
        (Some("PENDING"), Some("C"))
    );
    let returned = run_challenge(&sandbox, &pending, "1234", "submit").await;
    let (_, done) = finalize(&api, &pending["id"], returned.field("payload").unwrap()).await;
    assert_eq!(done["threeDResult"], "Y");

    // 2206: the Method page never posts back; after the wait, frictionless Y.
    let session = api.session("4000000000002206", true).await;
    let data = session["threeDSMethodData"].as_str().expect("Method data");
    let trans_id = ThreeDsMethodData::from_base64url(data)
        .unwrap()
        .three_ds_server_trans_id;
    let page = client
        .post(session["methodUrl"].as_str().unwrap())
        .form(&[("threeDSMethodData", data)])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        !page.text().await.unwrap().contains("autosubmit"),
        "never answers"
    );
    assert!(!sandbox.sandbox.acs.method_completed(&trans_id));
    let request = authentication_request("4000000000002206", &session["deviceFingerprintingId"]);
    let (_, body) = api.post(&auth_path(), &request).await;
    assert_eq!(
        (body["status"].as_str(), body["threeDResult"].as_str()),
        (Some("COMPLETED"), Some("Y"))
    );

    // A card without a Method gets no Method URL even with the number.
    let session = api.session("4000000000001000", true).await;
    assert!(session.get("methodUrl").is_none());
}

#[tokio::test]
async fn issuer_decline_is_not_charged() {
    let sandbox = sandbox().await;
    let api = Api::new(&sandbox);
    let (_, authentication) = api.authenticate("4000000000004004").await;
    assert_eq!(authentication["threeDResult"], "Y");
    let reference = unique_ref("decline");
    let request = auth_request(
        "4000000000004004",
        &reference,
        Some(block_of(&authentication)),
    );
    let (status, body) = api.authorize(&request).await;
    assert_error(status, &body, 402, "3009");
    assert!(body["id"].is_string());
    assert_eq!(body["merchantRefNum"], reference.as_str());
    assert!(body["riskReasonCode"].is_array());
    // A declined authorization used its merchantRefNum too: a retry is a duplicate, and
    // the lookup shows the decline.
    let (status, again) = api.authorize(&request).await;
    assert_error(status, &again, 409, "5031");
    assert_eq!(again["existingTransactionId"], body["id"]);
    let (status, found) = api
        .get(&format!(
            "/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_eq!(status, 200);
    let found = &found["auths"][0];
    assert_eq!(found["id"], body["id"]);
    assert_eq!(found["status"], "FAILED");
    assert_eq!(found["error"]["code"], "3009");
    assert_eq!(
        (found["amount"].as_i64(), found["currencyCode"].as_str()),
        (Some(1099), Some("USD"))
    );
    assert!(paysafe_ledger(&sandbox).is_empty());

    // The lookup asks for its merchantRefNum, with Paysafe's credentials.
    let (status, body) = api
        .get(&format!("/cardpayments/v1/accounts/{ACCOUNT}/auths"))
        .await;
    assert_error(status, &body, 400, "5068");
    assert_eq!(field_names(&body), vec!["merchantRefNum"], "{body}");
    let (status, body) = api
        .send(
            api.client
                .get(format!(
                    "{}/cardpayments/v1/accounts/{ACCOUNT}/auths?merchantRefNum={reference}",
                    api.base
                ))
                .basic_auth(USER, Some("wrong")),
        )
        .await;
    assert_error(status, &body, 401, "5279");
    let (status, body) = api
        .get(&format!(
            "/cardpayments/v1/accounts/1234/auths?merchantRefNum={reference}"
        ))
        .await;
    assert_error(status, &body, 401, "5270");
}

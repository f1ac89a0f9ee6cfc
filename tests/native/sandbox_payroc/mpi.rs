//! The gateway MPI driven by the test as the cardholder's browser: frictionless, challenge
//! and 3DS 1.0.2 cards, the cardholder's challenge preference, bad queries answered with an
//! error page, and a completion decided by the ACS, not by the browser.

use super::*;

// ---------------------------------------------------------------------------------------
// The MPI.

#[tokio::test]
async fn frictionless_cards_go_straight_to_the_receipt_url() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    // (card, result, status, eci): the contract's frictionless cards, the Method cards
    // whose challenge-free outcome the gateway's own page hides, and 3DS 1.0.2 not enrolled.
    let cases = [
        ("4000000000001000", "A", "Y", "05"),
        ("4000000000001109", "A", "A", "06"),
        ("4000000000001208", "D", "N", "07"),
        ("4000000000001307", "D", "U", "07"),
        ("4000000000001406", "D", "N", "07"),
        ("4000000000002206", "A", "Y", "05"),
        ("4000000000003105", "D", "N", "07"),
        ("4000000000004004", "A", "Y", "05"),
        // 05/06/07 whatever the brand (seed 000).
        ("5200000000001005", "A", "Y", "05"),
        ("5200000000001104", "A", "A", "06"),
        ("4012000033330026", "A", "Y", "05"),
        ("4012004040524514", "A", "A", "06"),
        ("4012001775445550", "D", "N", "07"),
        ("4111111111111111", "A", "Y", "05"),
    ];
    for (i, (pan, result, status, eci)) in cases.into_iter().enumerate() {
        let token = tokenize(&running, &bearer, pan).await.token;
        let order = format!("ORD-{i}");
        let response = browser()
            .get(mpi_url(&running, &token, &order, 1999, None))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{pan}");
        let query = receipt(&location(&response));
        assert_eq!(query["result"], result, "{pan}");
        assert_eq!(query["status"], status, "{pan}");
        assert_eq!(query["eci"], eci, "{pan}");
        assert_eq!(query["orderId"], order, "{pan}");
        let reference = &query["mpiReference"];
        assert_eq!(reference.len(), 20, "{pan}");
        assert!(reference
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}

#[tokio::test]
async fn challenge_cards_go_through_the_acs_and_the_code_decides() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let cases = [
        ("4000000000002008", Answer::Code("1234"), "A", "Y", "05"),
        ("4000000000002008", Answer::Code("0000"), "D", "N", "07"),
        ("4000000000002008", Answer::Cancel, "D", "N", "07"),
        ("4000000000002107", Answer::Code("1234"), "A", "Y", "05"),
        ("5200000000002003", Answer::Code("1234"), "A", "Y", "05"),
        ("5200000000002003", Answer::Code("9999"), "D", "N", "07"),
        ("370000000000200", Answer::Code("1234"), "A", "Y", "05"),
        ("4012007153923001", Answer::Code("1234"), "A", "Y", "05"),
    ];
    for (i, (pan, answer, result, status, eci)) in cases.into_iter().enumerate() {
        let token = tokenize(&running, &bearer, pan).await.token;
        let order = format!("CH-{i}");
        let response = browser()
            .get(mpi_url(&running, &token, &order, 2500, None))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{pan}");
        let page = response.text().await.unwrap();
        assert!(!page.contains("<script>"), "no inline script");
        let to_acs = form(&page, Some("autosubmit"));
        assert!(to_acs.field("creq").is_some() && to_acs.field("threeDSSessionData").is_some());
        let query = receipt(&challenge(&running, &page, answer, "/acs/challenge").await);
        assert_eq!(
            (
                query["result"].as_str(),
                query["status"].as_str(),
                query["eci"].as_str()
            ),
            (result, status, eci),
            "{pan}"
        );
        assert_eq!(query["orderId"], order);
    }
}

#[tokio::test]
async fn three_ds_one_cards_use_pareq_and_pares() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    for (answer, result, status) in [
        (Answer::Code("1234"), "A", "Y"),
        (Answer::Code("1111"), "D", "N"),
        (Answer::Cancel, "D", "N"),
    ] {
        let token = tokenize(&running, &bearer, "4000000000003006").await.token;
        let response = browser()
            .get(mpi_url(&running, &token, "3DS1", 1000, None))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let page = response.text().await.unwrap();
        let to_acs = form(&page, Some("autosubmit"));
        assert!(to_acs.field("PaReq").is_some());
        assert_eq!(
            to_acs.field("TermUrl"),
            Some(format!("{}/payroc/payments/merchant/mpi/complete", running.url).as_str())
        );
        let query = receipt(&challenge(&running, &page, answer, "/acs/pareq").await);
        assert_eq!(
            (query["result"].as_str(), query["status"].as_str()),
            (result, status)
        );
        assert_eq!(query["eci"], if status == "Y" { "05" } else { "07" });
    }
}

#[tokio::test]
async fn cardholder_challenge_required_makes_a_willing_issuer_challenge() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let token = tokenize(&running, &bearer, "4000000000001000").await.token;
    let optional = browser()
        .get(mpi_url(&running, &token, "O1", 100, Some("OPTIONAL")))
        .send()
        .await
        .unwrap();
    assert_eq!(optional.status(), StatusCode::FOUND);
    let required = browser()
        .get(mpi_url(&running, &token, "R1", 100, Some("REQUIRED")))
        .send()
        .await
        .unwrap();
    assert_eq!(required.status(), StatusCode::OK);
    let page = required.text().await.unwrap();
    let query = receipt(&challenge(&running, &page, Answer::Code("1234"), "/acs/challenge").await);
    assert_eq!(
        (query["result"].as_str(), query["status"].as_str()),
        ("A", "Y")
    );
    // An issuer that will not authenticate does not offer a challenge.
    let token = tokenize(&running, &bearer, "4000000000001208").await.token;
    let refused = browser()
        .get(mpi_url(&running, &token, "R2", 100, Some("REQUIRED")))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FOUND);
    assert_eq!(receipt(&location(&refused))["status"], "N");
}

#[tokio::test]
async fn mpi_refuses_bad_queries_with_an_error_page() {
    let mut config = SandboxConfig::new("");
    config
        .payroc_receipt_urls
        .insert("5550001".into(), "https://shop.example/mpi?site=2".into());
    let running = sandbox_with(config).await;
    let bearer = bearer(&running).await;
    let token = tokenize(&running, &bearer, "4000000000001000").await.token;
    let base = format!("{}/payroc/payments/merchant/mpi", running.url);
    let good = format!("processingTerminalId={SANDBOX_TERMINAL}&singleUseToken={token}&email=a%40b.com&amount=100&currency=EUR&orderId=9");
    let bad_queries = [
        String::new(),
        good.replace("email=a%40b.com", "email=nobody"),
        good.replace("amount=100", "amount=1.5"),
        good.replace("amount=100", "amount=-3"),
        good.replace("currency=EUR", "currency=euro"),
        good.replace("&orderId=9", ""),
        format!("{good}&cardholderChallenge=ALWAYS"),
        good.replace(&token, "ffff"),
        good.replace(SANDBOX_TERMINAL, "1234001"),
    ];
    for query in bad_queries {
        let response = browser()
            .get(format!("{base}?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(content_type(&response).starts_with("text/html"));
        let page = response.text().await.unwrap();
        assert!(page.contains("id=\"errors\""), "{page}");
    }
    // A bad Bearer token from a server is refused; a browser without one is served.
    let response = browser()
        .get(format!("{base}?{good}"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = browser()
        .get(format!("{base}?{good}"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);

    // Another terminal's receipt URL, which already has a query of its own.
    let response = browser()
        .get(format!(
            "{base}?{}",
            good.replace(SANDBOX_TERMINAL, "5550001")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with("https://shop.example/mpi?site=2&result=A&status=Y"));
}

#[tokio::test]
async fn mpi_completion_trusts_the_acs_not_the_browser() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let token = tokenize(&running, &bearer, "4000000000002008").await.token;
    let page = browser()
        .get(mpi_url(&running, &token, "F1", 100, None))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let to_acs = form(&page, Some("autosubmit"));
    let session = to_acs.field("threeDSSessionData").unwrap().to_owned();
    let complete = format!("{}/payroc/payments/merchant/mpi/complete", running.url);
    // A forged CRes claiming Y for a made-up ACS transaction.
    let forged = threeds_bridge::emv::base64url::encode(
        json!({"messageType": "CRes", "messageVersion": "2.2.0", "threeDSServerTransID": "x", "acsTransID": "forged", "transStatus": "Y"}).to_string(),
    );
    let response = browser()
        .post(&complete)
        .form(&[
            ("cres", forged.as_str()),
            ("threeDSSessionData", session.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Garbage, and nothing at all.
    let response = browser()
        .post(&complete)
        .form(&[("cres", "!!"), ("threeDSSessionData", session.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = browser()
        .post(&complete)
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The real challenge still completes.
    let query = receipt(&challenge(&running, &page, Answer::Code("1234"), "/acs/challenge").await);
    assert_eq!(query["status"], "Y");
}

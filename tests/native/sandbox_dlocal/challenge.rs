//! dLocal's 3-D Secure on the sandbox's pages: the challenge with its right and wrong codes,
//! the 3DS1 PaReq card, a forced 3DS, the page without a callback URL, and the merchant's own
//! MPI authentication.

use super::*;

#[tokio::test]
async fn challenge_with_the_right_code_authorizes_once() {
    let sb = sandbox().await;
    let body = with(payment("4000000000002008"), "/card/capture", json!(false));
    let (_, pending) = create(&sb, &body).await;
    assert_eq!(pending["status"], "PENDING");
    assert_eq!(pending["status_code"], "101");
    assert_eq!(
        pending["status_detail"],
        "The payment is pending 3D Secure authentication."
    );
    let id = pending["id"].as_str().unwrap();
    let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
    assert_eq!(redirect, format!("{}/dlocal/three-ds/{id}", sb.url));

    // The redirect page posts a creq to the sandbox ACS.
    let first = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let to_acs = form(&first, Some("autosubmit"));
    assert_eq!(to_acs.action, format!("{}/acs/challenge", sb.url));
    assert!(to_acs.field("creq").is_some());
    assert!(
        dlocal_ledger(&sb).is_empty(),
        "nothing is charged before 3DS"
    );

    let callback = through_three_ds(&sb, redirect, Some("1234")).await;
    assert_eq!(callback.method, "post");
    assert_eq!(callback.field("paymentId"), Some(id));
    assert_eq!(callback.field("status"), Some("COMPLETED"));
    assert_callback_signature(&callback);

    let (_, object) = get(&sb, &format!("/payments/{id}")).await;
    assert_eq!(
        (object["status"].as_str(), object["status_code"].as_str()),
        (Some("AUTHORIZED"), Some("600"))
    );
    assert_eq!(object["three_dsecure"]["eci"], "05");
    assert_eq!(object["three_dsecure"].get("redirect_url"), None);
    assert_eq!(dlocal_ledger(&sb), vec![id.to_owned()]);

    // A second visit changes nothing and charges nothing.
    let again = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let again = form(&again, Some("autosubmit"));
    assert_eq!(
        (again.action.as_str(), again.field("status")),
        (CALLBACK, Some("COMPLETED"))
    );
    let complete = format!("{}/dlocal/three-ds/{id}/complete", sb.url);
    let replay = browser()
        .post(&complete)
        .form(&[("cres", "garbage")])
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 200);
    assert_eq!(dlocal_ledger(&sb).len(), 1);
    let (_, status) = get(&sb, &format!("/payments/{id}/status")).await;
    assert_eq!(
        status,
        json!({"status": "AUTHORIZED", "status_code": "600", "status_detail": "The payment was authorized."})
    );
}

#[tokio::test]
async fn challenge_failures_reject() {
    let sb = sandbox().await;
    for answer in [Some("0000"), None] {
        let (_, pending) = create(&sb, &payment("4000000000002008")).await;
        let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
        let callback = through_three_ds(&sb, redirect, answer).await;
        assert_eq!(callback.field("status"), Some("REJECTED"), "{answer:?}");
        assert_callback_signature(&callback);
        let id = pending["id"].as_str().unwrap();
        let (_, object) = get(&sb, &format!("/payments/{id}")).await;
        assert_eq!(
            (object["status"].as_str(), object["status_code"].as_str()),
            (Some("REJECTED"), Some("320"))
        );
    }
    assert!(dlocal_ledger(&sb).is_empty());
}

#[tokio::test]
async fn other_challenge_cards_carry_their_brand_eci() {
    let sb = sandbox().await;
    // The Method card: dLocal runs the Method inside its own page; the merchant sees a challenge.
    for (card, eci, brand) in [
        ("5200000000002003", "02", "MC"),
        ("370000000000200", "05", "AM"),
        ("4000000000002107", "05", "VI"),
        ("4012007153923001", "05", "VI"),
    ] {
        let (_, pending) = create(&sb, &payment(card)).await;
        assert_eq!(pending["status"], "PENDING", "{card}");
        assert_eq!(pending["card"]["brand"], brand);
        let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
        let callback = through_three_ds(&sb, redirect, Some("1234")).await;
        assert_eq!(callback.field("status"), Some("APPROVED"), "{card}");
        let id = pending["id"].as_str().unwrap();
        let (_, object) = get(&sb, &format!("/payments/{id}")).await;
        assert_eq!(object["status"], "PAID");
        assert_eq!(object["three_dsecure"]["eci"], eci, "{card}");
    }
    assert_eq!(dlocal_ledger(&sb).len(), 4);
}

#[tokio::test]
async fn three_ds_1_card_goes_through_pareq() {
    let sb = sandbox().await;
    let (_, pending) = create(&sb, &payment("4000000000003006")).await;
    let id = pending["id"].as_str().unwrap();
    let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
    let page = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let to_acs = form(&page, Some("autosubmit"));
    assert_eq!(to_acs.action, format!("{}/acs/pareq", sb.url));
    assert_eq!(to_acs.field("MD"), Some(id));
    assert_eq!(
        to_acs.field("TermUrl").map(str::to_owned),
        Some(format!("{}/dlocal/three-ds/{id}/complete", sb.url))
    );
    assert!(to_acs.field("PaReq").is_some());
    let callback = through_three_ds(&sb, redirect, Some("1234")).await;
    assert_eq!(callback.field("status"), Some("APPROVED"));
    assert_callback_signature(&callback);
    let (_, object) = get(&sb, &format!("/payments/{id}")).await;
    assert_eq!(
        (
            object["status"].as_str(),
            object["three_dsecure"]["eci"].as_str()
        ),
        (Some("PAID"), Some("05"))
    );
    assert_eq!(dlocal_ledger(&sb), vec![id.to_owned()]);
}

#[tokio::test]
async fn a_pares_of_another_payment_is_refused() {
    let sb = sandbox().await;
    let (_, a) = create(&sb, &payment("4000000000003006")).await;
    let (_, b) = create(&sb, &payment("4000000000003006")).await;
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let a_back = to_completion(
        &sb,
        a["three_dsecure"]["redirect_url"].as_str().unwrap(),
        Some("1234"),
    )
    .await;
    assert_eq!(a_back.field("MD"), Some(a_id));
    // b's challenge is started, then a's PaRes is replayed at b's completion route.
    let _ = browser()
        .get(b["three_dsecure"]["redirect_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let mut replay = a_back.clone();
    replay.action = format!("{}/dlocal/three-ds/{b_id}/complete", sb.url);
    replay.set("MD", b_id);
    assert_eq!(replay.submit(&browser(), &sb.url).await.status(), 400);
    let malformed = browser()
        .post(format!("{}/dlocal/three-ds/{b_id}/complete", sb.url))
        .form(&[("PaRes", "not a pares"), ("MD", b_id)])
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let (_, object) = get(&sb, &format!("/payments/{b_id}")).await;
    assert_eq!(object["status"], "PENDING");
    // a's own completion still works.
    let callback = form(
        &a_back
            .submit(&browser(), &sb.url)
            .await
            .text()
            .await
            .unwrap(),
        Some("autosubmit"),
    );
    assert_eq!(callback.field("status"), Some("APPROVED"));
    assert_eq!(dlocal_ledger(&sb), vec![a_id.to_owned()]);
}

#[tokio::test]
async fn forced_three_ds_on_frictionless_cards_completes_on_the_page() {
    let sb = sandbox().await;
    for (card, callback_status, status) in [
        ("4000000000001000", "APPROVED", "PAID"),
        ("4000000000001208", "REJECTED", "REJECTED"),
    ] {
        let body = with(payment(card), "/three_dsecure", json!({"force": true}));
        let (_, pending) = create(&sb, &body).await;
        assert_eq!(pending["status_code"], "101", "{card}");
        let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
        let page = browser()
            .get(redirect)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let callback = form(&page, Some("autosubmit"));
        assert_eq!(callback.action, CALLBACK);
        assert_eq!(callback.field("status"), Some(callback_status));
        assert_callback_signature(&callback);
        let id = pending["id"].as_str().unwrap();
        let (_, object) = get(&sb, &format!("/payments/{id}/status")).await;
        assert_eq!(object["status"], status);
    }
    assert_eq!(dlocal_ledger(&sb).len(), 1);
}

#[tokio::test]
async fn without_callback_url_the_page_shows_the_result() {
    let sb = sandbox().await;
    let mut body = with(
        payment("4000000000001109"),
        "/three_dsecure",
        json!({"force": true}),
    );
    body.as_object_mut().unwrap().remove("callback_url");
    let (_, pending) = create(&sb, &body).await;
    let id = pending["id"].as_str().unwrap();
    let redirect = pending["three_dsecure"]["redirect_url"].as_str().unwrap();
    let page = browser()
        .get(redirect)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!(
            "data-payment-id=\"{id}\" data-status=\"APPROVED\""
        )),
        "{page}"
    );
    let unknown = browser()
        .get(format!("{}/dlocal/three-ds/D-4-nope", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn mpi_authentication_decides_without_redirect() {
    let sb = sandbox().await;
    let mpi = |response: &str, eci: &str| {
        json!({"mpi": true, "three_dsecure_version": "1.0", "cavv": "3q2+78r+ur7erb7vyv66vv////8=",
               "eci": eci, "xid": "ODUzNTYzOTcwODU5NzY3Qw==", "enrollment_response": "Y",
               "authentication_response": response})
    };
    // A challenge card: the merchant's MPI already authenticated, so no redirect.
    let body = with(
        with(
            payment("4000000000002008"),
            "/three_dsecure",
            mpi("Y", "05"),
        ),
        "/card/capture",
        json!(false),
    );
    let (_, object) = create(&sb, &body).await;
    assert_eq!(
        (object["status"].as_str(), object["status_code"].as_str()),
        (Some("AUTHORIZED"), Some("600"))
    );
    assert_eq!(object["three_dsecure"], json!({"eci": "05"}));
    let body = with(
        payment("4000000000001000"),
        "/three_dsecure",
        mpi("N", "07"),
    );
    let (_, object) = create(&sb, &body).await;
    assert_eq!(
        (object["status"].as_str(), object["status_code"].as_str()),
        (Some("REJECTED"), Some("320"))
    );
    let body = with(
        payment("4000000000004004"),
        "/three_dsecure",
        mpi("Y", "05"),
    );
    let (_, object) = create(&sb, &body).await;
    assert_eq!(object["status_code"], "301");
    // 2.x needs ds_transaction_id instead of xid; a Y needs its CAVV.
    let v2 = json!({"mpi": true, "three_dsecure_version": "2.2.0", "eci": "02", "cavv": "AAAB",
                    "ds_transaction_id": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b", "authentication_response": "Y"});
    let (_, object) = create(
        &sb,
        &with(payment("5200000000001005"), "/three_dsecure", v2.clone()),
    )
    .await;
    assert_eq!(
        (
            object["status"].as_str(),
            object["three_dsecure"]["eci"].as_str()
        ),
        (Some("PAID"), Some("02"))
    );
    let mut no_cavv = mpi("Y", "05");
    no_cavv.as_object_mut().unwrap().remove("cavv");
    let (status, error) = create(
        &sb,
        &with(payment("4000000000001000"), "/three_dsecure", no_cavv),
    )
    .await;
    assert_eq!(
        (status.as_u16(), &error["code"], &error["param"]),
        (400, &json!(5001), &json!("three_dsecure.cavv"))
    );
    assert_eq!(dlocal_ledger(&sb).len(), 2);
}

//! After the authorization: completions, voids and returns booked in the ledger and refused
//! in Bambora's shape, and a pre-authorization that can no longer be completed.

use super::*;

/// A pre-auth of 15.99: its transaction id.
async fn pre_auth(bambora: &Bambora) -> String {
    let mut request = payment("4000000000001000", three_ds2());
    request["card"]["complete"] = json!(false);
    let (http, body) = bambora.post("/v1/payments", &request).await;
    assert_eq!(
        (http, &body["type"]),
        (StatusCode::OK, &json!("PA")),
        "{body}"
    );
    body["id"].as_str().unwrap().to_owned()
}

fn refused(answer: &(StatusCode, Value), code: u32) {
    let (http, body) = answer;
    assert_eq!(*http, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["category"], 2, "a business rule: {body}");
    assert!(body["message"].is_string(), "{body}");
}

/// A completion's body: a `PaymentRequest` (swagger `completePayment`), `payment_method`
/// required.
fn complete(amount: f64) -> Value {
    json!({ "amount": amount, "payment_method": "card" })
}

#[tokio::test]
async fn completions_voids_and_returns_book_the_ledger_and_refuse_in_bambora_s_shape() {
    let bambora = Bambora::start().await;
    let id = pre_auth(&bambora).await;
    let ledger = &bambora.running.sandbox.ledger;
    let path = |what: &str| format!("/v1/payments/{id}/{what}");
    // A completion without its payment_method is invalid input, as the spec has it.
    let (http, invalid) = bambora
        .post(&path("completions"), &json!({"amount": 1.00}))
        .await;
    assert_eq!(
        (http, &invalid["code"]),
        (StatusCode::BAD_REQUEST, &json!(314)),
        "{invalid}"
    );
    assert_eq!(
        invalid["details"][0]["field"], "payment_method",
        "{invalid}"
    );
    refused(
        &bambora
            .post(&path("returns"), &json!({"amount": 1.00}))
            .await,
        199,
    );
    refused(
        &bambora.post(&path("completions"), &complete(16.00)).await,
        197,
    );
    let (http, completion) = bambora
        .post(
            &path("completions"),
            &json!({"amount": 10.00, "order_number": "op-1", "payment_method": "card"}),
        )
        .await;
    assert_eq!(http, StatusCode::OK, "{completion}");
    assert_eq!(
        (&completion["type"], &completion["order_number"]),
        (&json!("PAC"), &json!("op-1"))
    );
    refused(
        &bambora.post(&path("completions"), &complete(1.00)).await,
        194,
    );
    refused(
        &bambora.post(&path("void"), &json!({"amount": 15.99})).await,
        194,
    );
    let completed = completion["id"].as_str().unwrap();
    let give_back = |amount: f64| json!({ "amount": amount });
    let returns = format!("/v1/payments/{completed}/returns");
    let (http, first) = bambora.post(&returns, &give_back(4.00)).await;
    assert_eq!(
        (http, &first["type"]),
        (StatusCode::OK, &json!("R")),
        "{first}"
    );
    refused(&bambora.post(&returns, &give_back(6.01)).await, 197);
    assert_eq!(
        bambora.post(&returns, &give_back(6.00)).await.0,
        StatusCode::OK
    );
    let balance = ledger.balance(Provider::Bambora, &id).expect("balance");
    assert_eq!(
        (balance.captured, balance.refunded, balance.voided),
        (1000, 1000, false)
    );
    assert_eq!(ledger.movements().len(), 3, "refusals book nothing");

    // The search finds the completion by its own order number, as the backend's lookup does.
    let (_, found) = bambora
        .post(
            "/v1/reports",
            &json!({"name": "Search", "start_date": "2000-01-01T00:00:00",
                    "end_date": "2999-01-01T00:00:00", "start_row": 1, "end_row": 10,
                    "criteria": [{"field": 5, "operator": "%3D", "value": "op-1"}]}),
        )
        .await;
    assert_eq!(found["records"][0]["trn_type"], "PAC", "{found}");
}

#[tokio::test]
async fn a_voided_or_expired_pre_auth_is_never_completed() {
    let bambora = Bambora::start().await;
    let voided = pre_auth(&bambora).await;
    let (http, void) = bambora
        .post(
            &format!("/v1/payments/{voided}/void"),
            &json!({"amount": 15.99}),
        )
        .await;
    assert_eq!(
        (http, &void["type"]),
        (StatusCode::OK, &json!("VP")),
        "{void}"
    );
    let complete = |id: &str| format!("/v1/payments/{id}/completions");
    refused(
        &bambora
            .post(
                &complete(&voided),
                &json!({"amount": 1.00, "payment_method": "card"}),
            )
            .await,
        195,
    );
    refused(
        &bambora
            .post(
                &format!("/v1/payments/{voided}/void"),
                &json!({"amount": 15.99}),
            )
            .await,
        195,
    );
    let partial_void = bambora
        .post(
            &format!("/v1/payments/{}/void", pre_auth(&bambora).await),
            &json!({"amount": 1.00}),
        )
        .await;
    assert_eq!(
        partial_void.0,
        StatusCode::BAD_REQUEST,
        "a void is of the whole amount"
    );

    let expired = pre_auth(&bambora).await;
    let control = support::browser()
        .post(bambora.url(&format!("/_sandbox/expire/{expired}")))
        .send()
        .await
        .expect("expire");
    assert_eq!(control.status(), StatusCode::OK);
    refused(
        &bambora
            .post(
                &complete(&expired),
                &json!({"amount": 1.00, "payment_method": "card"}),
            )
            .await,
        196,
    );
    let unknown = support::browser()
        .post(bambora.url("/_sandbox/expire/99999999"))
        .send()
        .await
        .expect("expire");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        bambora.running.sandbox.ledger.movements().len(),
        1,
        "only the void"
    );
}

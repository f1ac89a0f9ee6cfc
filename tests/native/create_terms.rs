//! What a provider's API refuses in the merchant's terms alone, whatever the card (the
//! currency of Bambora's account, dLocal's payer country, Payroc's payer email for its MPI),
//! is refused at create with a stable code, and nothing is stored: the shopper never types a
//! card for a payment that could only fail.

use crate::support;

use serde_json::{json, Value};
use support::backend::{code, harness, split_start, start_body};

#[tokio::test]
async fn what_the_provider_refuses_whatever_the_card_is_refused_at_create() {
    let h = harness().await;
    let create =
        |provider: &str| split_start(&start_body(provider, "4000000000001000", "iframe")).0;
    let with = |provider: &str, field: &str, value: Value| {
        let mut body = create(provider);
        body[field] = value;
        body
    };
    let bambora = with("bambora", "currency", json!("USD"));
    let dlocal = with(
        "dlocal",
        "payer",
        json!({"name": "Jo Doe", "document": "53033315550"}),
    );
    let dlocal_alpha3 = with(
        "dlocal",
        "payer",
        json!({"name": "Jo Doe", "country": "BRA"}),
    );
    let payroc = with(
        "payroc",
        "payer",
        json!({"name": "Jo Doe", "email": "not an email"}),
    );
    let cases = [
        (&bambora, "invalid_currency", "settles in CAD only"),
        (&dlocal, "invalid_payer", "dLocal needs the payer's country"),
        (
            &dlocal_alpha3,
            "invalid_payer",
            "dLocal needs the payer's country",
        ),
        (&payroc, "invalid_payer", "the payer's email"),
    ];
    for (body, expected, message) in cases {
        let answer = h.create(body).await;
        assert_eq!(code(&answer), (400, expected), "{body}");
        let text = answer.1["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{text}");
        // Nothing was stored: the order, with terms the provider takes, is a new payment.
        let mut fixed = create(body["provider"].as_str().unwrap());
        fixed["orderId"] = body["orderId"].clone();
        let (status, created) = h.create(&fixed).await;
        assert_eq!(status, 201, "{created}");
    }

    // ASCII blanks around the country or the email are dropped, as before the create
    // checked them.
    let padded = with(
        "dlocal",
        "payer",
        json!({"name": "Jo Doe", "country": " br\t"}),
    );
    let (status, created) = h.create(&padded).await;
    assert_eq!(status, 201, "{created}");
    let padded = with(
        "payroc",
        "payer",
        json!({"name": "Jo Doe", "email": " jo@example.com "}),
    );
    let (status, created) = h.create(&padded).await;
    assert_eq!(status, 201, "{created}");

    // Payroc's MPI is what needs the email: a merchant that authenticated the cardholder
    // itself needs none.
    let mut external = with("payroc", "payer", json!({"name": "Jo Doe"}));
    external["externalAuthentication"] = json!({"version": "2.2.0", "transStatus": "Y",
        "eci": "05", "cavv": "AAABBBCCCDDDEEEFFF",
        "dsTransactionId": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"});
    let (status, created) = h.create(&external).await;
    assert_eq!(status, 201, "{created}");
}

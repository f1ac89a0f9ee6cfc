//! The create's terms. The same order again is the same payment, with the same terms only.
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

#[tokio::test]
async fn the_same_order_twice_is_one_payment_and_one_charge() {
    let h = harness().await;
    let body = start_body("paysafe", "4000000000001000", "iframe");
    let (create, confirm) = split_start(&body);
    // The merchant's server retries its create: one payment, one client secret.
    let (first, second) = tokio::join!(h.create(&create), h.create(&create));
    let mut statuses = [first.0, second.0];
    statuses.sort();
    assert_eq!(statuses, [200, 201], "{} / {}", first.1, second.1);
    assert_eq!(first.1["id"], second.1["id"]);
    assert_eq!(first.1["clientSecret"], second.1["clientSecret"]);
    let id = first.1["id"].as_str().unwrap();
    let secret = first.1["clientSecret"].as_str().unwrap();
    // The page double-clicks: one flow, both answers the same result.
    let (a, b) = tokio::join!(
        h.confirm(id, secret, &confirm),
        h.confirm(id, secret, &confirm)
    );
    assert_eq!((a.0, b.0), (200, 200), "{} / {}", a.1, b.1);
    assert_eq!(a.1["result"]["status"], "authorized", "{}", a.1);
    assert_eq!(a.1["result"], b.1["result"]);
    let (status, third) = h.start(&body).await;
    assert_eq!(status, 200);
    assert_eq!(third["result"]["status"], "authorized", "{third}");
    assert_eq!(h.ledger("paysafe").len(), 1, "one charge");

    let mut other_amount = create.clone();
    other_amount["amount"] = json!(5000);
    let (status, error) = h.create(&other_amount).await;
    assert_eq!(status, 409);
    assert_eq!(error["error"]["code"], "duplicate_payment");
    assert!(error.get("id").is_none() && !error.to_string().contains(id));
    // Other terms for the same order are another payment's, not this one's: a retry that
    // asks for a manual capture must not silently get the automatic one.
    for (field, value) in [
        ("captureMode", json!("manual")),
        ("payer", json!({"name": "Someone Else"})),
        ("description", json!("another order")),
    ] {
        let mut other = create.clone();
        other[field] = value;
        let (status, error) = h.create(&other).await;
        assert_eq!(
            (status, &error["error"]["code"]),
            (409, &json!("duplicate_payment")),
            "{field}"
        );
    }
    // The browser's Accept header is the shopper's browser's; a returnUrl left out, the
    // one the payment has.
    let mut same = create.clone();
    same["browserAcceptHeader"] = json!("text/html");
    same.as_object_mut().unwrap().remove("returnUrl");
    let (status, again) = h.create(&same).await;
    assert_eq!((status, &again["id"]), (200, &json!(id)), "{again}");
    assert_eq!(h.ledger("paysafe").len(), 1);
}

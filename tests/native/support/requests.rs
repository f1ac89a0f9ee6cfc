//! The API requests the tests make as the merchant's server (create, capture, void,
//! refund) and as the checkout page (confirm), over real HTTP to a backend at a URL; and a
//! start body, what both decide for one payment, split into the create and the confirm.

use serde_json::{json, Value};

use super::backend::{CHECKOUT, MERCHANT_KEY};
use super::browser;

/// [`Harness::start`] against the backend at `url`: the status and body of the confirm
/// (or of the refused create), and the client secret.
pub async fn start_at(url: &str, body: &Value) -> (u16, Value, Option<String>) {
    let (create, confirm) = split_start(body);
    let (status, created) = create_at(url, &create).await;
    if status != 201 && status != 200 {
        return (status, created, None);
    }
    let id = created["id"].as_str().expect("id");
    let secret = created["clientSecret"].as_str().expect("clientSecret");
    let (status, view) = confirm_at(url, id, secret, &confirm).await;
    (status, view, Some(secret.to_owned()))
}

/// `POST /v1/payments/{id}/{what}` (`capture`, `void`, `refunds`) on the backend at `url`
/// with the merchant's key and the Idempotency-Key `key`: the status and the answer.
pub async fn operate_at(url: &str, id: &str, what: &str, key: &str, body: &Value) -> (u16, Value) {
    let response = browser()
        .post(format!("{url}/v1/payments/{id}/{what}"))
        .bearer_auth(MERCHANT_KEY)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("operation");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `POST /v1/payments` with the merchant's key.
pub async fn create_at(url: &str, body: &Value) -> (u16, Value) {
    let response = browser()
        .post(format!("{url}/v1/payments"))
        .bearer_auth(MERCHANT_KEY)
        .json(body)
        .send()
        .await
        .expect("create");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `POST /v1/payments/{id}/confirm` from the checkout page, with its client secret.
pub async fn confirm_at(url: &str, id: &str, secret: &str, body: &Value) -> (u16, Value) {
    confirm_at_path(url, &format!("/v1/payments/{id}/confirm"), secret, body).await
}

/// [`confirm_at`] with the request's path as given (`…/confirm/`, say).
pub async fn confirm_at_path(url: &str, path: &str, secret: &str, body: &Value) -> (u16, Value) {
    let mut body = body.clone();
    body["clientSecret"] = json!(secret);
    let response = browser()
        .post(format!("{url}{path}"))
        .header("Origin", CHECKOUT)
        .header("Accept", "text/html,application/xhtml+xml")
        .header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) backend-test")
        .json(&body)
        .send()
        .await
        .expect("confirm");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The members of a create request (what the merchant's server decides).
const CREATE_FIELDS: [&str; 10] = [
    "provider",
    "orderId",
    "amount",
    "currency",
    "description",
    "payer",
    "challengePreference",
    "returnUrl",
    "externalAuthentication",
    "captureMode",
];

/// A [`start_body`] split into its create and its confirm.
pub fn split_start(body: &Value) -> (Value, Value) {
    let mut create = serde_json::Map::new();
    let mut confirm = serde_json::Map::new();
    for (key, value) in body.as_object().expect("a start body is an object") {
        if CREATE_FIELDS.contains(&key.as_str()) {
            create.insert(key.clone(), value.clone());
        } else {
            confirm.insert(key.clone(), value.clone());
        }
    }
    (Value::Object(create), Value::Object(confirm))
}

/// A start request for `provider` and `pan` with what every provider needs.
pub fn start_body(provider: &str, pan: &str, display: &str) -> Value {
    json!({
        "provider": provider,
        // 26 characters: Bambora's order_number takes at most 30.
        "orderId": format!("order-{}", &uuid::Uuid::new_v4().simple().to_string()[..20]),
        "amount": 1099,
        // Each sandbox account's currency: dLocal's Brazil, Bambora's Canadian merchant.
        "currency": match provider { "dlocal" => "BRL", "bambora" => "CAD", _ => "USD" },
        "paymentMethod": {"type": "card", "number": pan, "expiryMonth": 12, "expiryYear": 2040,
                          "cvv": "123", "holderName": "Jo Doe"},
        "payer": {"name": "Jo Doe", "email": "jo@example.com", "document": "53033315550", "country": "BR"},
        "browser": {"acceptHeader": "forged/by-the-page", "javaEnabled": false, "javascriptEnabled": true,
                    "language": "en-GB", "colorDepth": 24, "screenHeight": 1080, "screenWidth": 1920,
                    "timeZone": -60, "userAgent": "Mozilla/5.0 (X11; Linux x86_64) backend-test"},
        "display": display,
        "windowSize": "03",
        "checkoutOrigin": CHECKOUT,
        "returnUrl": format!("{CHECKOUT}/checkout?step=resume"),
    })
}

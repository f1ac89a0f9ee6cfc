//! The demo's shop: the merchant's server half of a checkout, as small as a real one can
//! be. `POST /shop/checkout` takes the cart the demo form describes
//! (`{provider, amount, currency, payer?}`), draws the order id, creates the payment with
//! the demo's merchant API key over HTTP (`POST /v1/payments`, as any merchant's server
//! calls its threeds-bridge backend) and answers the page only `{id, clientSecret}`.
//! The key never reaches the page; the page confirms with the client secret.
//!
//! A demo simplification, said plainly: a real shop prices the cart itself (from its
//! catalogue and the customer's basket); this one takes the amount the form shows, so
//! that every sandbox scenario can be tried with any amount. What the page can no longer
//! do is change the amount of a payment once the shop created it.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::DEMO_MERCHANT_KEY;
use crate::backend::host::random_hex;
use crate::backend::native::SystemEnv;

/// What the demo form sends: the cart, not a payment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cart {
    provider: String,
    amount: u64,
    currency: String,
    /// The customer's details the shop holds (dLocal needs a document and a country).
    #[serde(default)]
    payer: Option<Value>,
}

/// The shop's server side: where the backend is, and the HTTP client it calls it with.
pub struct Shop {
    backend_url: String,
    client: reqwest::Client,
}

impl Shop {
    pub fn new(backend_url: &str) -> Shop {
        Shop {
            backend_url: backend_url.trim_end_matches('/').to_owned(),
            // A create calls no provider: it answers at once or something is wrong.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    /// `POST /shop/checkout`: creates the payment for `body`'s cart; answers
    /// `{id, clientSecret}`, or the backend's own error (status and `{error}` body).
    pub async fn checkout(&self, body: &[u8]) -> Response {
        let cart: Cart = match serde_json::from_slice(body) {
            Ok(cart) => cart,
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_cart",
                    "the cart is {provider, amount, currency, payer?}",
                )
            }
        };
        let order_id = order_id();
        let payment = json!({
            "provider": cart.provider,
            "orderId": order_id,
            "amount": cart.amount,
            "currency": cart.currency,
            "description": "threeds-bridge demo",
            "payer": cart.payer.unwrap_or_else(|| json!({})),
        });
        let sent = self
            .client
            .post([&self.backend_url, "/v1/payments"].concat())
            .bearer_auth(DEMO_MERCHANT_KEY)
            .json(&payment)
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(_) => {
                return error(
                    StatusCode::BAD_GATEWAY,
                    "backend_unreachable",
                    "the shop could not reach the backend",
                )
            }
        };
        let status =
            StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let created: Value = answer.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // The backend's refusal (an amount of 0, a currency it rejects …) as it said it.
            return (status, Json(created)).into_response();
        }
        // Only what the page needs: never the merchant's view (nor, of course, the key).
        Json(json!({ "id": created["id"], "clientSecret": created["clientSecret"] }))
            .into_response()
    }
}

/// A fresh order id: `demo-` and 20 random hex digits (80 bits; 25 characters, within
/// every provider's limit: Bambora's order_number takes at most 30).
fn order_id() -> String {
    let random = random_hex(&SystemEnv);
    ["demo-", &random[..20]].concat()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

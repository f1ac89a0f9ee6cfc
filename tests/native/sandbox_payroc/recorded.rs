//! The SDK's recorded response bodies read into the sandbox's own types, and the sandbox's
//! answers fitting them.

use super::*;

// The SDK's recorded responses (copied from ../shared/reference/payroc-wiremock.json into
// tests/vectors/payroc/, so this test does not read outside the repository).

pub(super) fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/payroc/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mapping: Value = serde_json::from_str(&text).expect("vector json");
    mapping["body"].clone()
}

/// Every member of `ours` exists in `recorded` with the same JSON type, recursively (arrays
/// by their first element): what the sandbox emits is a subset of what Payroc sends.
pub(super) fn assert_subshape(ours: &Value, recorded: &Value, path: &str) {
    match (ours, recorded) {
        (Value::Object(ours), Value::Object(recorded)) => {
            for (name, value) in ours {
                let there = recorded
                    .get(name)
                    .unwrap_or_else(|| panic!("{path}.{name} is not in the recording"));
                assert_subshape(value, there, &format!("{path}.{name}"));
            }
        }
        (Value::Array(ours), Value::Array(recorded)) => {
            if let (Some(a), Some(b)) = (ours.first(), recorded.first()) {
                assert_subshape(a, b, &format!("{path}[]"));
            }
        }
        (Value::Number(a), Value::Number(b)) => {
            assert_eq!(a.is_i64(), b.is_i64(), "{path}: integer or not")
        }
        (a, b) => assert_eq!(
            std::mem::discriminant(a),
            std::mem::discriminant(b),
            "{path}: {a} vs {b}"
        ),
    }
}

#[tokio::test]
async fn recorded_responses_fit_the_sandbox_types_and_the_sandbox_fits_them() {
    let recorded_token = vector("create-single-use-token.json");
    let token: SingleUseToken =
        serde_json::from_value(recorded_token.clone()).expect("recorded single-use token");
    assert_eq!(token.source.card_number, "4539858876047062");
    assert_eq!(token.expires_at, "2024-08-05T17:50:05Z");
    assert_eq!(
        token
            .payment_method
            .as_ref()
            .and_then(|m| m.card_details.as_ref())
            .map(|d| d.entry_method.as_str()),
        Some("raw")
    );

    let recorded_payment = vector("create-payment.json");
    let payment: Payment =
        serde_json::from_value(recorded_payment.clone()).expect("recorded payment");
    assert_eq!(payment.payment_id, "M2MJOG6O2Y");
    assert_eq!(payment.card.card_number, "453985******7062");
    assert_eq!(payment.transaction_result.status, TransactionStatus::Ready);
    assert_eq!(payment.transaction_result.response_code, ResponseCode::A);
    assert_eq!(payment.transaction_result.authorized_amount, Some(4999));
    let retrieved: Payment = serde_json::from_value(vector("retrieve-payment.json"))
        .expect("recorded retrieved payment");
    assert_eq!(retrieved, payment);
    let recorded_auth = vector("authorize.json");
    let _: AccessToken =
        serde_json::from_value(recorded_auth.clone()).expect("recorded access token");

    // Round trip: what the types write back is a part of the recording.
    assert_subshape(
        &serde_json::to_value(&payment).unwrap(),
        &recorded_payment,
        "payment",
    );
    assert_subshape(
        &serde_json::to_value(&token).unwrap(),
        &recorded_token,
        "token",
    );

    // And what the running sandbox sends has the recording's names and types.
    let running = sandbox().await;
    let response = browser()
        .post(format!("{}/payroc/identity/authorize", running.url))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    let auth: Value = response.json().await.unwrap();
    assert_subshape(&auth, &recorded_auth, "authorize");
    let bearer = auth["access_token"].as_str().unwrap().to_owned();
    let path = format!("/processing-terminals/{SANDBOX_TERMINAL}/single-use-tokens");
    let (_, _, live_token) = post_json(
        &running,
        &path,
        &bearer,
        Some(&key()),
        &card_body("4000000000001000"),
    )
    .await;
    assert_subshape(&live_token, &recorded_token, "live token");
    let token = live_token["token"].as_str().unwrap();
    let mpi = browser()
        .get(mpi_url(&running, token, "OrderRef6543", 4999, None))
        .send()
        .await
        .unwrap();
    let query = receipt(&location(&mpi));
    let (status, _, live_payment) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&key()),
        &sale_body(token, "OrderRef6543", 4999, &query["mpiReference"]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_subshape(&live_payment, &recorded_payment, "live payment");
    let (declined_token, query) =
        authenticated(&running, &bearer, "4000000000004004", "DECL", 4999).await;
    let (_, _, live_declined) = post_json(
        &running,
        "/payments",
        &bearer,
        Some(&key()),
        &sale_body(&declined_token, "DECL", 4999, &query["mpiReference"]),
    )
    .await;
    assert_subshape(&live_declined, &recorded_payment, "live declined payment");
}

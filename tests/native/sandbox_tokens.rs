//! The sandbox's client-side tokenization (issue #18): each provider's tokenization
//! endpoint refuses bad input in that provider's error shape, the stand-in hosted fields
//! are framed only by the checkout origin they name, and the expiry control ages any
//! provider's token.

use serde_json::{json, Value};
use threeds_bridge::sandbox::{spawn, SandboxConfig};

use crate::support::browser;

async fn sandbox() -> threeds_bridge::sandbox::RunningSandbox {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    spawn(listener, SandboxConfig::new(""))
        .await
        .expect("sandbox")
}

async fn post(url: &str, headers: &[(&str, &str)], body: Value) -> (u16, Value) {
    let mut request = browser().post(url).json(&body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn dlocal_smart_fields_tokens_need_the_public_key_and_a_card() {
    let sb = sandbox().await;
    let url = format!("{}/dlocal/smart-fields/tokens", sb.url);
    let key = ("x-public-key", threeds_bridge::sandbox::dlocal::PUBLIC_KEY);
    let card = json!({"name": "Jo Doe", "pan": "4000000000001000", "expirationMonth": 12,
                      "expirationYear": 2040, "cvv": "123", "country": "BR"});
    let (status, error) = post(&url, &[("x-public-key", "wrong")], card.clone()).await;
    assert_eq!(
        (status, error["code"].as_u64()),
        (403, Some(3001)),
        "{error}"
    );
    let mut no_pan = card.clone();
    no_pan.as_object_mut().unwrap().remove("pan");
    let (status, error) = post(&url, &[key], no_pan).await;
    assert_eq!(
        (status, error["code"].as_u64()),
        (400, Some(5001)),
        "{error}"
    );
    assert_eq!(error["param"], "pan");
    let mut bad_cvv = card.clone();
    bad_cvv["cvv"] = json!("12a");
    let (status, error) = post(&url, &[key], bad_cvv).await;
    assert_eq!(
        (status, error["param"].as_str()),
        (400, Some("cvv")),
        "{error}"
    );
    let (status, answer) = post(&url, &[key], card).await;
    assert_eq!(status, 200, "{answer}");
    let token = answer["token"].as_str().expect("token");
    assert!(token.starts_with("CV-"), "{answer}");
    assert!(!answer.to_string().contains("4000000000001000"));
    sb.shutdown().await;
}

#[tokio::test]
async fn paysafe_s_public_key_makes_tokens_and_nothing_else() {
    use base64::Engine;
    use threeds_bridge::sandbox::paysafe::{SANDBOX_SUT_PASSWORD, SANDBOX_SUT_USER};
    let sb = sandbox().await;
    let basic = base64::engine::general_purpose::STANDARD
        .encode(format!("{SANDBOX_SUT_USER}:{SANDBOX_SUT_PASSWORD}"));
    let auth = format!("Basic {basic}");
    let card = json!({"card": {"cardNum": "4000000000001000",
                               "cardExpiry": {"month": 12, "year": 2040}, "cvv": "123"}});
    let url = format!("{}/paysafe/customervault/v1/singleusetokens", sb.url);
    let (status, answer) = post(&url, &[("authorization", &auth)], card).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["paymentToken"].is_string(), "{answer}");
    let auths = format!("{}/paysafe/cardpayments/v1/accounts/89987201/auths", sb.url);
    let (status, error) = post(&auths, &[("authorization", &auth)], json!({})).await;
    assert_eq!(status, 401, "{error}");
    sb.shutdown().await;
}

#[tokio::test]
async fn the_stand_in_fields_are_framed_only_by_their_parent() {
    let sb = sandbox().await;
    let page = |provider: &str, parent: &str| {
        format!(
            "{}/_sandbox/hosted-fields/{provider}?parent={}",
            sb.url,
            urlencoding(parent)
        )
    };
    for provider in ["payroc", "dlocal", "paysafe", "bambora"] {
        let response = browser()
            .get(page(provider, "http://127.0.0.1:8080"))
            .send()
            .await
            .expect("page");
        assert_eq!(response.status(), 200, "{provider}");
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            policy.contains("frame-ancestors http://127.0.0.1:8080"),
            "{policy}"
        );
        let html = response.text().await.unwrap();
        assert!(
            html.contains(r#"data-parent="http://127.0.0.1:8080""#),
            "{html}"
        );
        assert!(html.contains(r#"id="card-number""#));
    }
    for parent in ["*", "http://127.0.0.1:8080/page", "javascript:alert(1)"] {
        let response = browser()
            .get(page("dlocal", parent))
            .send()
            .await
            .expect("page");
        assert_eq!(response.status(), 400, "{parent}");
    }
    let response = browser()
        .get(page("stripe", "http://127.0.0.1:8080"))
        .send()
        .await
        .expect("page");
    assert_eq!(response.status(), 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn the_expiry_control_ages_a_token_and_knows_no_other() {
    let sb = sandbox().await;
    let (status, answer) = post(
        &format!("{}/bambora/scripts/tokenization/tokens", sb.url),
        &[],
        json!({"number": "4000000000001000", "expiry_month": "12", "expiry_year": "40", "cvd": "123"}),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (200, Some("1")),
        "{answer}"
    );
    let token = answer["token"].as_str().unwrap();
    let expire = format!("{}/_sandbox/tokens/expire", sb.url);
    let (status, aged) = post(&expire, &[], json!({ "token": token })).await;
    assert_eq!(
        (status, aged["expired"].as_bool()),
        (200, Some(true)),
        "{aged}"
    );
    let (status, error) = post(&expire, &[], json!({"token": "no-such-token"})).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    sb.shutdown().await;
}

fn urlencoding(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

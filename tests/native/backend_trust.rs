//! Who may do what (docs/backend.md, "Trust"), over real HTTP against the sandbox: only
//! the merchant's server (API key) creates and fully reads payments; the checkout page
//! (client secret) confirms and reads its own, and can never set what is charged. Every
//! refusal has a stable code and changes nothing. What is refused for its shape, whoever
//! sends it, is backend_malformed.rs.

use crate::support;

use serde_json::{json, Value};
use support::backend::{code, harness, split_start, start_body, Harness, CHECKOUT, MERCHANT_KEY};
use support::browser;

async fn post(h: &Harness, path: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = browser().post(format!("{}{path}", h.url)).json(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn only_the_merchants_key_creates_a_payment() {
    let h = harness().await;
    let (create, _) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let keyless = post(&h, "/v1/payments", None, &create).await;
    assert_eq!(code(&keyless), (401, "missing_api_key"), "{}", keyless.1);
    let wrong = post(
        &h,
        "/v1/payments",
        Some("test-merchant-key-012345678X"),
        &create,
    )
    .await;
    assert_eq!(code(&wrong), (401, "invalid_api_key"));
    // A page can set any Origin it likes outside a browser: it is no credential.
    let response = browser()
        .post(format!("{}/v1/payments", h.url))
        .header("Origin", CHECKOUT)
        .json(&create)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Nothing was created: the first create with the key is a 201, not a repeat.
    let (status, created) = h.create(&create).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "requires_confirmation");
    assert_eq!(created["amount"], 1099);
    let secret = created["clientSecret"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    assert!(secret.starts_with(&format!("{id}_secret_")) && secret.len() == 32 + 8 + 32);
    assert!(
        !support::backend::logs().contains(MERCHANT_KEY),
        "the key is never logged"
    );
    assert!(
        !support::backend::logs().contains(secret),
        "nor the client secret"
    );
    // A stranger who knows the order id learns nothing, not even whether it exists.
    let mut probe = create.clone();
    probe["amount"] = json!(1);
    let stranger = post(&h, "/v1/payments", None, &probe).await;
    assert_eq!(code(&stranger), (401, "missing_api_key"));
    assert!(!stranger.1.to_string().contains(id));
    assert!(h.ledger("paysafe").is_empty());
}

#[tokio::test]
async fn the_page_cannot_set_what_is_charged() {
    let h = harness().await;
    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (_, created) = h.create(&create).await;
    let id = created["id"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    for (field, value) in [
        ("amount", json!(1)),
        ("currency", json!("JPY")),
        ("orderId", json!("someone-elses")),
        ("provider", json!("bambora")),
        ("payer", json!({"name": "X"})),
        ("externalAuthentication", json!({})),
    ] {
        let mut forged = confirm.clone();
        forged[field] = value;
        let answer = h.confirm(id, secret, &forged).await;
        assert_eq!(code(&answer), (400, "field_not_allowed"), "{field}");
        let message = answer.1["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{message}");
        // Refused before the secret is read (docs/openapi.yaml): without one, the same.
        let unsigned = h.confirm(id, "", &forged).await;
        assert_eq!(code(&unsigned), (400, "field_not_allowed"), "{field}");
    }
    let (_, view) = h.merchant_view(id).await;
    assert_eq!(view["status"], "requires_confirmation", "{view}");
    assert_eq!(view["confirmAttempts"], 0);
    // A member given twice (a second card after the first) is refused, naming the member,
    // never read as whichever came last.
    let mut body = confirm.clone();
    body["clientSecret"] = json!(secret);
    let text = body.to_string();
    let twice = format!(
        "{},\"paymentMethod\":{}}}",
        &text[..text.len() - 1],
        json!({"type": "card", "number": "4000000000001091", "expiryMonth": "12", "expiryYear": "2030", "cvv": "737"})
    );
    let response = browser()
        .post(format!("{}/v1/payments/{id}/confirm", h.url))
        .header("Origin", CHECKOUT)
        .header("content-type", "application/json")
        .body(twice)
        .send()
        .await
        .expect("confirm");
    let status = response.status().as_u16();
    let answer = (status, response.json().await.unwrap_or(Value::Null));
    assert_eq!(code(&answer), (400, "invalid_request"), "{}", answer.1);
    let message = answer.1["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("duplicate field paymentMethod"),
        "{message}"
    );
    assert!(!message.contains("4000000000001091"), "{message}");
    // Sent with the right secret, it counts as an attempt, as every confirm refused after
    // the secret check does.
    let (_, view) = h.merchant_view(id).await;
    assert_eq!(view["confirmAttempts"], 1, "{view}");
    let (status, paid) = h.confirm(id, secret, &confirm).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["result"]["status"], "authorized");
    assert_eq!(
        (paid["amount"].clone(), paid["currency"].clone()),
        (json!(1099), json!("USD"))
    );
    assert!(
        paid.get("clientSecret").is_none(),
        "the page view does not repeat the secret"
    );
    let ledger = h.ledger("paysafe");
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].amount, 1099, "the merchant's amount was charged");
    let (_, merchant) = h.merchant_view(id).await;
    assert_eq!(merchant["status"], "authorized");
    assert_eq!(merchant["card"]["lastFour"], "1000", "{merchant}");
    assert_eq!(merchant["checkoutOrigin"], CHECKOUT);
}

#[tokio::test]
async fn the_client_secret_is_the_pages_only_key() {
    let h = harness().await;
    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (_, created) = h.create(&create).await;
    let (_, other) = h
        .create(&split_start(&start_body("paysafe", "4000000000001000", "iframe")).0)
        .await;
    let id = created["id"].as_str().unwrap();
    let others_secret = other["clientSecret"].as_str().unwrap();
    let wrong = h.confirm(id, others_secret, &confirm).await;
    assert_eq!(code(&wrong), (401, "invalid_client_secret"));
    let missing = h.confirm(id, "", &confirm).await;
    assert_eq!(code(&missing), (401, "missing_client_secret"));

    let read = |secret: Option<&'static str>| {
        let mut request = browser().get(format!("{}/v1/payments/{id}", h.url));
        if let Some(secret) = secret {
            request = request.header("X-Client-Secret", secret);
        }
        request.send()
    };
    let anonymous = read(None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_credentials");
    assert_eq!(read(Some("nope")).await.unwrap().status(), 401);
    let (status, page) = h.view(id).await;
    assert_eq!(status, 200);
    assert_eq!(page["status"], "requires_confirmation");
    assert!(page.get("clientSecret").is_none() && page.get("payer").is_none());
    let (_, merchant) = h.merchant_view(id).await;
    assert_eq!(merchant["status"], "requires_confirmation", "unchanged");
    assert!(h.ledger("paysafe").is_empty());
}

/// Bambora gives a rejection's reason "for merchant use only" (`CardAuthenticationFailed`):
/// the merchant's view has it as the EMV transStatusReason, the page's does not.
#[tokio::test]
async fn the_providers_merchant_only_reason_stays_off_the_page() {
    let h = harness().await;
    let body = start_body("bambora", "4012001775445550", "iframe");
    let (view, _) =
        support::backend::pay(&h, &body, support::cardholder::Cardholder::Types("1234")).await;
    assert_eq!(view["status"], "failed", "{view}");
    let id = view["id"].as_str().expect("id");
    let (_, merchant) = h.merchant_view(id).await;
    assert_eq!(merchant["result"]["transStatusReason"], "01", "{merchant}");
    let (_, page) = h.view(id).await;
    assert_eq!(page["result"]["status"], "failed", "{page}");
    assert!(page["result"].get("transStatusReason").is_none(), "{page}");
}

#[tokio::test]
async fn refused_confirms_are_capped() {
    let h = harness().await;
    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (_, created) = h.create(&create).await;
    let id = created["id"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    let mut bad = confirm.clone();
    bad["windowSize"] = json!("99");
    for attempt in 1..=3 {
        let answer = h.confirm(id, secret, &bad).await;
        assert_eq!(
            code(&answer),
            (400, "invalid_window_size"),
            "attempt {attempt}"
        );
        let (_, view) = h.merchant_view(id).await;
        assert_eq!(view["confirmAttempts"], attempt);
    }
    let answer = h.confirm(id, secret, &confirm).await;
    assert_eq!(code(&answer), (429, "too_many_attempts"), "{}", answer.1);
    assert!(
        h.ledger("paysafe").is_empty(),
        "the provider was never called"
    );
}

#[tokio::test]
async fn what_the_merchant_sends_is_bounded() {
    let h = harness().await;
    let (create, _) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let with = |field: &str, value: Value| {
        let mut body = create.clone();
        body[field] = value;
        body
    };
    let cases = [
        (
            with(
                "returnUrl",
                json!(format!("{CHECKOUT}/back\r\nSet-Cookie: x=1")),
            ),
            "invalid_return_url",
        ),
        (
            with(
                "returnUrl",
                json!(format!("{CHECKOUT}/{}", "a".repeat(2048))),
            ),
            "invalid_return_url",
        ),
        (
            with("returnUrl", json!("https://evil.test/back")),
            "invalid_return_url",
        ),
        (with("amount", json!(1u64 << 53)), "invalid_amount"),
        (with("amount", json!(1u64 << 63)), "invalid_amount"),
        (with("amount", json!(0)), "invalid_amount"),
        (with("currency", json!("usd")), "invalid_currency"),
        (with("orderId", json!("a b")), "invalid_order_id"),
        // JSON integers only, as docs/openapi.yaml says (JSON Schema would take 1099.0):
        // a float spelling can hide a fraction.
        (with("amount", json!(1099.0)), "invalid_request"),
        // Found by schemathesis (make test-api): the payer and the external authentication
        // took members they do not have, and the ECI as a number, all silently.
        (
            with("payer", json!({"name": "A", "colour": "red"})),
            "invalid_request",
        ),
        (
            with(
                "externalAuthentication",
                external("05", Some(("colour", "red"))),
            ),
            "invalid_request",
        ),
        (
            with(
                "externalAuthentication",
                json!({"version": "2.2.0", "transStatus": "Y",
                "eci": 5, "cavv": "AAABBBCCC"}),
            ),
            "invalid_request",
        ),
        (
            with("externalAuthentication", external("5x", None)),
            "invalid_request",
        ),
    ];
    for (body, expected) in cases {
        let answer = h.create(&body).await;
        assert_eq!(code(&answer), (400, expected), "{body}");
    }
    let answer = h
        .create(&with("externalAuthentication", external("5x", None)))
        .await;
    assert_eq!(
        answer.1["error"]["message"],
        "externalAuthentication.eci: invalid value, expected one or two digits"
    );
    // What the spec documents is taken: every payer member, the ECI as text, null for none.
    let mut full = with(
        "payer",
        json!({"name": "A", "email": "a@example.test",
        "document": "123", "country": "BR"}),
    );
    full["externalAuthentication"] = external("05", None);
    full["orderId"] = json!("order-external");
    full["returnUrl"] = Value::Null;
    let (status, created) = h.create(&full).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["payer"]["country"], "BR");
    // A description's 255 are characters, as the spec's maxLength counts them.
    let mut euros = with("description", json!("€".repeat(255)));
    euros["orderId"] = json!("order-euros");
    assert_eq!(h.create(&euros).await.0, 201, "765 bytes, 255 characters");
    let longer = with("description", json!("€".repeat(256)));
    assert_eq!(code(&h.create(&longer).await), (400, "invalid_description"));
    let mut nulls = with("externalAuthentication", Value::Null);
    nulls["orderId"] = json!("order-nulls");
    nulls["description"] = Value::Null;
    assert_eq!(h.create(&nulls).await.0, 201);
    // Each provider's own limit: Paysafe's is 99 999 999 999 minor units.
    let above_paysafe = with("amount", json!(100_000_000_000u64));
    let answer = h.create(&above_paysafe).await;
    assert_eq!(code(&answer), (400, "invalid_amount"));
    assert!(answer.1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("paysafe"));
    let at_limit = with("amount", json!(99_999_999_999u64));
    assert_eq!(h.create(&at_limit).await.0, 201);
    let mut payroc = with("amount", json!((1u64 << 53) - 1));
    payroc["provider"] = json!("payroc");
    assert_eq!(h.create(&payroc).await.0, 201);
}

#[tokio::test]
async fn page_posts_check_the_origin() {
    let h = harness().await;
    let body = start_body("paysafe", "4000000000002107", "iframe");
    let (status, view) = h.start(&body).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["next"]["type"], "method", "{view}");
    let id = view["id"].as_str().unwrap();
    let secret = h.secret(id);
    for origin in [None, Some("http://evil.test")] {
        let mut request = browser()
            .post(format!("{}/v1/payments/{id}/method", h.url))
            .header("Content-Type", "text/plain")
            .body(json!({"completion": "Y", "clientSecret": secret}).to_string());
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403, "{origin:?}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "origin_not_allowed");
    }
    let (status, still) = h.view(id).await;
    assert_eq!((status, &still["next"]["type"]), (200, &json!("method")));
    let (status, next) = h.method(id, "Y").await;
    assert_eq!(status, 200, "{next}");
}

#[tokio::test]
async fn confirms_are_limited_per_client_ip() {
    use std::sync::Arc;
    use threeds_bridge::backend::native::{self, ConfirmRateLimit, ReqwestTransport, SystemEnv};
    let h = harness().await;
    let transport = ReqwestTransport::new(&h.policy).unwrap();
    let backend =
        threeds_bridge::backend::Backend::new(h.config(), h.store.clone(), transport, SystemEnv);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let limit = ConfirmRateLimit {
        per_minute: 1,
        burst: 2,
    };
    let running = native::spawn_with(listener, Arc::new(backend), limit).unwrap();
    let mut answers = Vec::new();
    // The router takes a confirm's path with trailing slashes too; so does the limit.
    for tail in ["confirm", "confirm", "confirm/", "confirm//"] {
        let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
        let (_, created) = support::backend::create_at(&running.url, &create).await;
        let id = created["id"].as_str().unwrap();
        let secret = created["clientSecret"].as_str().unwrap();
        let path = format!("/v1/payments/{id}/{tail}");
        answers
            .push(support::backend::confirm_at_path(&running.url, &path, secret, &confirm).await);
    }
    // The core reads a method's name in any case, so `post` is a confirm there too and
    // the limit counts it (it did not, and a script could confirm without limit).
    let (create, mut confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (_, created) = support::backend::create_at(&running.url, &create).await;
    confirm["clientSecret"] = created["clientSecret"].clone();
    let lowercase = browser()
        .request(
            reqwest::Method::from_bytes(b"post").unwrap(),
            format!(
                "{}/v1/payments/{}/confirm",
                running.url,
                created["id"].as_str().unwrap()
            ),
        )
        .header("Origin", CHECKOUT)
        .json(&confirm)
        .send()
        .await
        .unwrap();
    let status = lowercase.status().as_u16();
    // The host's own 429 carries CORS as the core's answers do: the page can read it
    // (`rate_limited`, not a network error).
    let allowed = lowercase
        .headers()
        .get("access-control-allow-origin")
        .cloned();
    assert_eq!(
        allowed.as_ref().and_then(|v| v.to_str().ok()),
        Some(CHECKOUT)
    );
    answers.push((status, lowercase.json().await.unwrap_or(Value::Null)));
    assert_eq!((answers[0].0, answers[1].0), (200, 200));
    for limited in &answers[2..] {
        assert_eq!(code(limited), (429, "rate_limited"), "{}", limited.1);
    }
    assert_eq!(
        h.ledger("paysafe").len(),
        2,
        "the limited confirm reached no provider"
    );
    // Creates (the merchant's server) are not limited by it.
    let (create, _) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    assert_eq!(
        support::backend::create_at(&running.url, &create).await.0,
        201
    );
    // A path outside the host's route table is the core's to answer (a trailing slash it
    // takes, or its 404), with a request id, as every answer.
    for (path, status) in [
        ("/healthz/", 200),
        ("/v1/webhooks/dlocal/x/", 404),
        ("/", 404),
    ] {
        let answer = browser()
            .get(format!("{}{path}", running.url))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), status, "{path}");
        assert!(answer.headers().contains_key("x-request-id"), "{path}");
    }
}

#[tokio::test]
async fn a_trickled_body_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = harness().await;
    let mut socket = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let head = "POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"provider\":";
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        socket.read_to_end(&mut answer),
    );
    // The server answers (and closes) on its own, well before the test's own deadline.
    let _ = read
        .await
        .expect("the backend gave up on the body by itself");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
}

#[tokio::test]
async fn error_pages_cannot_be_framed() {
    let h = harness().await;
    let response = browser()
        .post(format!("{}/v1/returns/{}", h.url, "0".repeat(32)))
        .form(&[("cres", "forged")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(response.text().await.unwrap().contains("data-code"));
}

#[tokio::test]
async fn a_replayed_dlocal_notification_past_its_window_is_refused() {
    use threeds_bridge::provider::dlocal;
    let h = harness().await;
    let config = dlocal::Config::sandbox(&h.sandbox.url);
    let body = r#"{"id":"D-4-nobody","status":"PAID","order_id":"order-nobody"}"#;
    let send = |sent_ms: u64| {
        support::backend::dlocal_notification(&h.url, body, sent_ms, &config.secret_key).send()
    };
    let now = support::flow::now_ms();
    let fresh = send(now).await.unwrap();
    assert_eq!(
        fresh.status(),
        200,
        "a genuine, current notification is taken"
    );
    let stale = send(now - dlocal::NOTIFICATION_WINDOW_MS - 60_000)
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    let error: Value = stale.json().await.unwrap();
    assert_eq!(error["error"]["code"], "stale_notification");
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = harness().await;
    // Twenty clients each start a request and never finish its headers.
    let addr = h.addr;
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..20 {
        clients.spawn(async move {
            let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
            socket
                .write_all(b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .await
                .unwrap();
            let mut rest = Vec::new();
            let deadline = std::time::Duration::from_secs(30);
            tokio::time::timeout(deadline, socket.read_to_end(&mut rest))
                .await
                .is_ok()
        });
    }
    let closed = clients.join_all().await;
    assert_eq!(closed.len(), 20);
    assert!(
        closed.iter().all(|c| *c),
        "the backend closed every slow connection itself"
    );
    // And it still serves.
    let (status, _) = h.merchant_view(&"0".repeat(32)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn provider_routes_go_through_the_adapters_not_the_router() {
    let h = harness().await;
    let webhook = |provider: &str| {
        browser()
            .post(format!("{}/v1/webhooks/{provider}", h.url))
            .body("{}")
            .send()
    };
    // Paysafe sends no notifications: its adapter says so.
    let paysafe = webhook("paysafe").await.unwrap();
    assert_eq!(paysafe.status(), 401);
    let error: Value = paysafe.json().await.unwrap();
    assert_eq!(error["error"]["code"], "notifications_unsupported");
    // No such provider: no such route.
    assert_eq!(webhook("stripe").await.unwrap().status(), 404);
    // Bambora has no return URL of its own (its issuer returns to the session's route).
    let bambora = browser()
        .get(format!("{}/v1/returns/bambora?orderId=x", h.url))
        .send()
        .await
        .unwrap();
    assert_eq!(bambora.status(), 400);
    assert!(bambora.text().await.unwrap().contains("malformed_return"));
}

/// An `externalAuthentication` with `eci`, and one more member when asked.
fn external(eci: &str, extra: Option<(&str, &str)>) -> Value {
    let mut value = json!({"version": "2.2.0", "transStatus": "Y", "eci": eci,
        "cavv": "AAABBBCCCDDDEEEFFF", "dsTransactionId": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"});
    if let Some((name, extra)) = extra {
        value[name] = json!(extra);
    }
    value
}

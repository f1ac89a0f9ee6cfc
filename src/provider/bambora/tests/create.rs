//! The payment request: card, term_url and the 3DS2 browser; the account's default version
//! without readings; what Bambora cannot take refused before any call; amounts in dollars;
//! the merchant's own authentication as passthrough (2.x) or integrated 3-D Secure (1.0).

use super::*;

/// The provider code of the refusal `start` ends with, before any call.
fn refused_code(start: &PaymentStart) -> Option<String> {
    done(adapter().start(start, &cx())).error?.provider_code
}

#[test]
fn the_create_carries_card_term_url_and_the_3ds2_browser() {
    let (state, request) = call(adapter().start(&payment(), &cx()));
    assert_eq!(request.url, "http://sandbox.test/bambora/v1/payments");
    assert_eq!(request.method, crate::provider::HttpMethod::Post);
    assert_eq!(request.purpose, "bambora.payment");
    assert!(!request.retry_safe, "no idempotency key: never resent");
    assert!(request
        .headers
        .contains(&("Authorization".into(), SEED_AUTH.into())));
    assert!(request
        .body
        .as_deref()
        .unwrap()
        .contains("\"amount\":15.99"));
    let sent = body(&request);
    assert_eq!(sent["order_number"], "order-25");
    assert_eq!(sent["payment_method"], "card");
    assert_eq!(sent["term_url"], RETURN_URL);
    assert_eq!(sent["customer_ip"], "203.0.113.7");
    let card = &sent["card"];
    assert_eq!(
        (&card["number"], &card["cvd"], &card["name"]),
        (&json!(PAN), &json!("987"), &json!("John Doe"))
    );
    assert_eq!(
        (&card["expiry_month"], &card["expiry_year"]),
        (&json!("03"), &json!("31"))
    );
    assert_eq!(card["complete"], true);
    let secure = &card["3d_secure"];
    assert_eq!(
        (
            &secure["enabled"],
            &secure["version"],
            &secure["auth_required"]
        ),
        (&json!(true), &json!(2), &json!(false))
    );
    let expected = serde_json::to_value(payment().browser.to_bambora().unwrap()).unwrap();
    assert_eq!(secure["browser"], expected);
    for key in [
        "accept_header",
        "java_enabled",
        "language",
        "color_depth",
        "screen_width",
        "screen_height",
        "time_zone",
        "user_agent",
        "javascript_enabled",
    ] {
        assert!(secure["browser"].get(key).is_some(), "{key}");
    }
    assert!(card.get("3d_secure_passthrough").is_none());
    // The stored state keeps the card's summary, never its number or CVD.
    let stored = serde_json::to_string(&state).unwrap();
    assert!(!stored.contains(PAN) && !stored.contains("987"), "{stored}");
    assert!(stored.contains("\"last_four\":\"1000\""));
}

#[test]
fn without_browser_readings_the_account_default_version_is_asked() {
    let mut start = payment();
    start.browser = browser(false);
    let (state, request) = call(adapter().start(&start, &cx()));
    let secure = &body(&request)["card"]["3d_secure"];
    assert_eq!(secure, &json!({"enabled": true, "auth_required": false}));
    let State::Creating { order } = state else {
        panic!()
    };
    assert_eq!(
        order.authentication,
        Authentication::Bambora { version: None }
    );
}

#[test]
fn auth_required_comes_from_the_config() {
    let mut config = Config::sandbox("http://sandbox.test");
    config.auth_required = true;
    let (_, request) = call(BamboraAdapter::new(config).start(&payment(), &cx()));
    assert_eq!(body(&request)["card"]["3d_secure"]["auth_required"], true);
}

#[test]
fn a_token_payment_names_the_cardholder() {
    let mut start = payment();
    start.method = PaymentMethod::Token {
        token: "gt7-0f2f20dd-777e-487e-b688-940b526172cd".into(),
        bin: None,
    };
    let refused = done(adapter().start(&start, &cx()));
    assert_eq!(
        refused.error.unwrap().provider_code.as_deref(),
        Some("token.name")
    );
    // TokenPurchase.name is 4 to 64 characters (swagger 1.0.5).
    for name in ["Li", "  Bo  ", &"n".repeat(65)] {
        start.payer.name = Some(name.to_owned());
        let refused = done(adapter().start(&start, &cx()));
        assert_eq!(refused.status, PaymentStatus::Failed, "{name}");
        assert_eq!(
            refused.error.unwrap().provider_code.as_deref(),
            Some("token.name")
        );
    }

    start.payer.name = Some("John Doe".into());
    let (state, request) = call(adapter().start(&start, &cx()));
    let sent = body(&request);
    assert_eq!(sent["payment_method"], "token");
    assert!(sent.get("card").is_none());
    let token = &sent["token"];
    assert_eq!(token["code"], "gt7-0f2f20dd-777e-487e-b688-940b526172cd");
    assert_eq!(token["name"], "John Doe");
    assert_eq!(
        token["complete"], true,
        "a purchase, not the spec's default pre-auth"
    );
    assert_eq!(token["3d_secure"]["version"], 2);
    let State::Creating { order } = state else {
        panic!()
    };
    assert_eq!(order.card, None);

    start.method = PaymentMethod::Token {
        token: "has space".into(),
        bin: None,
    };
    assert_eq!(refused_code(&start).as_deref(), Some("token.code"));
}

#[test]
fn another_currency_than_the_accounts_is_refused_before_any_call() {
    let mut start = payment();
    start.currency = Currency::parse("USD").unwrap();
    let result = done(adapter().start(&start, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("currency"));
    assert!(error.provider_message.unwrap().contains("CAD only"));
}

#[test]
fn amounts_and_order_numbers_bambora_cannot_take_are_refused() {
    let mut start = payment();
    start.amount = wire::MAX_AMOUNT_MINOR + 1;
    assert_eq!(refused_code(&start).as_deref(), Some("amount"));
    let mut start = payment();
    start.order_id = OrderId::parse(&"x".repeat(31)).unwrap();
    assert_eq!(refused_code(&start).as_deref(), Some("order_number"));
}

#[test]
fn amounts_are_written_exactly_in_dollars() {
    assert_eq!(Amount::new(0), None);
    assert_eq!(Amount::new(wire::MAX_AMOUNT_MINOR + 1), None);
    for (minor, text) in [
        (1, "0.01"),
        (10, "0.1"),
        (100, "1.0"),
        (1599, "15.99"),
        (1_000_000_001, "10000000.01"),
        (wire::MAX_AMOUNT_MINOR, "99999999.99"),
    ] {
        let amount = Amount::new(minor).unwrap();
        assert_eq!(
            serde_json::to_string(&amount.json()).unwrap(),
            text,
            "{minor}"
        );
    }
    // Every written amount reads back as the same cents, exactly.
    let cents = |text: &str| -> u64 {
        let (units, fraction) = text.split_once('.').unwrap_or((text, "0"));
        units.parse::<u64>().unwrap() * 100 + format!("{fraction:0<2}").parse::<u64>().unwrap()
    };
    let samples = (1..=20_000)
        .chain((0..2_000).map(|i| wire::MAX_AMOUNT_MINOR - i))
        .chain((1..=2_000).map(|i| i * 4_999_999 + 7));
    for minor in samples {
        let amount = Amount::new(minor).unwrap();
        assert_eq!(
            amount.decimal(),
            format!("{}.{:02}", minor / 100, minor % 100)
        );
        let text = serde_json::to_string(&amount.json()).unwrap();
        assert_eq!(cents(&text), minor, "{minor} written as {text}");
    }
}

#[test]
fn the_merchants_own_2x_authentication_goes_as_passthrough() {
    let mut start = payment();
    start.external_authentication = Some(external("2.2.0", TransStatus::Y));
    let (_, request) = call(adapter().start(&start, &cx()));
    let sent = body(&request);
    assert!(sent.get("term_url").is_none());
    assert!(sent["card"].get("3d_secure").is_none());
    assert_eq!(
        sent["card"]["3d_secure_passthrough"],
        json!({"version": 2, "xid": "MDAwMDAwMDAwMDAwMDAwMTM2ODA=", "eci": 5,
               "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=",
               "ds_transaction_id": "f25084f0-5b16-4c0a-ae5d-b24808a95e4b"})
    );
    let mut missing = external("2.2.0", TransStatus::Y);
    missing.ds_transaction_id = None;
    start.external_authentication = Some(missing);
    assert_eq!(
        refused_code(&start).as_deref(),
        Some("3d_secure_passthrough.ds_transaction_id")
    );
}

#[test]
fn the_merchants_own_1x_authentication_goes_as_the_integrated_3d_secure() {
    let mut start = payment();
    start.external_authentication = Some(external("1.0.2", TransStatus::Y));
    let (state, request) = call(adapter().start(&start, &cx()));
    assert_eq!(
        body(&request)["card"]["3d_secure"],
        json!({"enabled": true, "xid": "MDAwMDAwMDAwMDAwMDAwMTM2ODA=",
               "cavv": "AAABAXlHEQAAAAGXAEcRAAAAAAA=", "eci": 5})
    );
    // Authorized: the merchant's values are reported, 1.0.2 shifts nothing for Visa.
    let result = done(adapter().on_response(state, answer(200, approved(5, "x", false)), &cx()));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.three_ds_version.as_deref(), Some("1.0.2"));
    assert_eq!(result.trans_status, Some(TransStatus::Y));
    assert!(!result.liability_shift);
}

#[test]
fn a_failed_merchant_authentication_ends_without_a_call() {
    let mut start = payment();
    start.external_authentication = Some(external("2.2.0", TransStatus::N));
    let result = done(adapter().start(&start, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);
    assert_eq!(result.trans_status, Some(TransStatus::N));
    start.external_authentication = Some(external("2.2.0", TransStatus::C));
    assert_eq!(
        done(adapter().start(&start, &cx())).error.unwrap().code,
        ResultCode::ProviderRejected
    );
}

// --- answers to the create ----------------------------------------------------------

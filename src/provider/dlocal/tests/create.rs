//! The signed create: X-Date and its HMAC (against an independent one and dLocal's Python
//! example), what the request carries, a challenge wish and a merchant's own
//! authentication, a missing country, and amounts by the currency's exponent.

use super::*;

#[test]
fn x_date_is_iso_utc_with_milliseconds() {
    assert_eq!(x_date(NOW_MS), "2018-07-12T13:46:28.629Z");
    assert_eq!(x_date(0), "1970-01-01T00:00:00.000Z");
    // A leap day and the last millisecond of a year.
    assert_eq!(x_date(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(x_date(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
}

#[test]
fn signature_matches_an_independent_hmac_and_python() {
    let date = "2018-07-12T13:46:28.629Z";
    let body = r#"{"a":1}"#;
    let ours = signature(&Secret::from(SECRET), LOGIN, date, body.as_bytes());
    assert_eq!(ours, independent_hmac(&format!("{LOGIN}{date}{body}")));
    assert_eq!(
        ours,
        "7127f42cae25ea2155debbe5e6213bc3ea74f79aeb572540049788cf83831dc9"
    );
}

#[test]
fn create_is_signed_keyed_and_carries_what_dlocal_needs() {
    let Step::Call { state, request } = adapter().start(&start("4000000000001000"), &cx()) else {
        panic!("expected a call");
    };
    assert!(matches!(state, State::Creating { .. }));
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(request.url, "http://127.0.0.1:8081/dlocal/secure_payments");
    assert!(
        request.retry_safe,
        "the idempotency key makes a resend harmless"
    );
    let body = request.body.as_deref().unwrap();
    assert_eq!(header(&request, "X-Date"), "2018-07-12T13:46:28.629Z");
    assert_eq!(header(&request, "X-Version"), "2.1");
    assert_eq!(header(&request, "X-Trans-Key"), "fm12O7G9");
    assert_eq!(
        header(&request, "Authorization"),
        format!(
            "V2-HMAC-SHA256, Signature: {}",
            independent_hmac(&format!("{LOGIN}2018-07-12T13:46:28.629Z{body}"))
        )
    );
    assert_eq!(
        header(&request, "X-Idempotency-Key"),
        cx().idempotency_key("secure-payment")
    );
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["amount"], serde_json::json!(120));
    assert_eq!(json["country"], "BR");
    assert_eq!(json["payer"]["name"], "Thiago Gabriel");
    assert_eq!(json["payer"]["ip"], "179.27.83.210");
    assert_eq!(json["card"]["number"], "4000000000001000");
    assert_eq!(json["card"]["capture"], true);
    assert_eq!(
        json["callback_url"],
        "https://shop.example/v1/returns/0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        json["notification_url"],
        "https://shop.example/v1/webhooks/dlocal"
    );
    assert!(json.get("three_dsecure").is_none());
    // The state keeps no card number, CVV or credential.
    let stored = serde_json::to_string(&state).unwrap();
    for secret in ["4000000000001000", "\"123\"", SECRET, "fm12O7G9"] {
        assert!(!stored.contains(secret), "{secret} in {stored}");
    }
}

#[test]
fn challenge_wish_forces_3ds_and_external_authentication_is_mpi() {
    let mut wish = start("4000000000001000");
    wish.challenge = ChallengePreference::Mandated;
    let Step::Call { request, .. } = adapter().start(&wish, &cx()) else {
        panic!()
    };
    let json: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(json["three_dsecure"], serde_json::json!({"force": true}));

    let mut mpi = start("4000000000001000");
    mpi.external_authentication = Some(ExternalAuthentication {
        version: "2.2.0".into(),
        trans_status: TransStatus::Y,
        eci: Eci::parse("05").unwrap(),
        cavv: "AAABBBCCC".into(),
        xid: None,
        ds_transaction_id: Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b".into()),
    });
    let Step::Call { request, .. } = adapter().start(&mpi, &cx()) else {
        panic!()
    };
    let json: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(json["three_dsecure"]["mpi"], true);
    assert_eq!(json["three_dsecure"]["three_dsecure_version"], "2.2.0");
    assert_eq!(json["three_dsecure"]["eci"], "05");
    assert_eq!(json["three_dsecure"]["authentication_response"], "Y");
    assert!(json["three_dsecure"].get("xid").is_none());

    mpi.external_authentication.as_mut().unwrap().trans_status = TransStatus::N;
    let result = done(adapter().start(&mpi, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    assert_eq!(result.error.unwrap().code, ResultCode::AuthenticationFailed);
}

#[test]
fn missing_country_fails_before_any_call() {
    let mut no_country = start("4000000000001000");
    no_country.payer.country = None;
    let result = done(adapter().start(&no_country, &cx()));
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert!(error.provider_message.unwrap().contains("country"));
}

#[test]
fn amounts_follow_the_currency_exponent() {
    assert_eq!(wire::major_amount(12_000, "BRL").to_string(), "120");
    assert_eq!(wire::major_amount(1_050, "BRL").to_string(), "10.5");
    assert_eq!(wire::major_amount(7, "USD").to_string(), "0.07");
    assert_eq!(wire::major_amount(5_000, "CLP").to_string(), "5000");
    assert_eq!(wire::major_amount(1_234, "KWD").to_string(), "1.234");
}

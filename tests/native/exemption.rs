//! 3-D Secure exemptions (`exemption` at create): refused with 400 `exemption_unsupported`
//! naming the provider wherever its public API carries none (and beside a challenge the
//! merchant asked for), nothing created; Paysafe's `no_challenge_requested` sent as its
//! `requestorChallengePreference: NO_CHALLENGE_REQUESTED`, which its sandbox accepts and
//! echoes, the issuer still deciding.

use crate::support;

use serde_json::{json, Value};
use support::backend::{harness, split_start, start_body};
use support::flow::{self, payment, Cardholder};
use support::recording::Recording;
use threeds_bridge::payment::{Exemption, PaymentStatus};
use threeds_bridge::provider::paysafe::{Config, PaysafeAdapter};

fn create_body(provider: &str, exemption: &str, challenge: Option<&str>) -> Value {
    let (mut create, _) = split_start(&start_body(provider, "4000000000001000", "iframe"));
    create["exemption"] = json!(exemption);
    if let Some(challenge) = challenge {
        create["challengePreference"] = json!(challenge);
    }
    create
}

#[tokio::test]
async fn an_exemption_the_providers_api_cannot_carry_is_refused_at_create_naming_it() {
    let h = harness().await;
    for (provider, exemption, challenge) in [
        ("payroc", "no_challenge_requested", None),
        ("dlocal", "no_challenge_requested", None),
        ("bambora", "transaction_risk_analysis", None),
        ("paysafe", "low_value", None),
        ("paysafe", "transaction_risk_analysis", None),
        ("paysafe", "no_challenge_requested", Some("mandated")),
    ] {
        let body = create_body(provider, exemption, challenge);
        let (status, refused) = h.create(&body).await;
        assert_eq!(status, 400, "{provider} {exemption}: {refused}");
        assert_eq!(refused["error"]["code"], "exemption_unsupported");
        let message = refused["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(provider) || challenge.is_some(),
            "the refusal names {provider}: {message}"
        );
        // Nothing was created: the same order is free for a create without it.
        let mut plain = body.clone();
        plain.as_object_mut().unwrap().remove("exemption");
        plain.as_object_mut().unwrap().remove("challengePreference");
        assert_eq!(h.create(&plain).await.0, 201, "{provider} {exemption}");
    }
    // Bambora's API carries no challenge preference at all.
    let (mut bambora, _) = split_start(&start_body("bambora", "4000000000001000", "iframe"));
    bambora["challengePreference"] = json!("requested");
    let (status, refused) = h.create(&bambora).await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "challenge_preference_unsupported");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("bambora"));
    // An exemption that is not one: the body's own 400.
    let (status, _) = h
        .create(&create_body("paysafe", "please_no_3ds", None))
        .await;
    assert_eq!(status, 400);
    // The one Paysafe carries is taken, and the merchant's view shows it.
    let (status, created) = h
        .create(&create_body("paysafe", "no_challenge_requested", None))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["exemption"], "no_challenge_requested");
}

#[tokio::test]
async fn paysafe_asks_for_no_challenge_and_the_issuer_still_decides() {
    let sandbox = support::sandbox().await;
    for (pan, cardholder, browser) in [
        ("4000000000001000", Cardholder::Types("1234"), vec![]),
        (
            "4000000000002008",
            Cardholder::Types("1234"),
            vec!["challenge"],
        ),
    ] {
        let adapter = Recording::new(PaysafeAdapter::new(Config::sandbox(&sandbox.url)));
        let start = threeds_bridge::payment::PaymentStart {
            exemption: Some(Exemption::NoChallengeRequested),
            ..payment(pan)
        };
        let session = format!("{pan}e{}", "0".repeat(32))[..32].to_owned();
        let (result, trace) = flow::run(&adapter, &start, &session, cardholder).await;
        assert_eq!(
            result.status,
            PaymentStatus::Authorized,
            "{pan}: {result:?}"
        );
        assert_eq!(trace.browser, browser, "{pan}: the issuer's decision");
        let sent = adapter.sent();
        let (_, authentication) = sent
            .iter()
            .find(|(purpose, body)| {
                purpose.contains("authentication") && body.contains("requestorChallengePreference")
            })
            .expect("the authentication request");
        let body: Value = serde_json::from_str(authentication).expect("JSON");
        assert_eq!(
            body["requestorChallengePreference"], "NO_CHALLENGE_REQUESTED",
            "{authentication}"
        );
    }
}

//! The adapter's reading of canned Paysafe answers and browser returns, without a network.

use crate::order::Currency;
use base64::Engine;
use serde_json::json;

use super::*;
use crate::emv::challenge::ThreeDsSessionData;
use crate::emv::{CReq, CardBrand, Eci, FormMethod, TransStatus};

mod answers;
mod challenge;
mod lookup;
mod stored;

fn adapter() -> PaysafeAdapter {
    PaysafeAdapter::new(Config::sandbox("http://sandbox.test"))
}

fn cx() -> Context {
    Context {
        now_ms: 0,
        session_id: "0123456789abcdef0123456789abcdef".into(),
        public_url: "https://shop.test".into(),
    }
}

fn order() -> Order {
    Order {
        amount: 1099,
        currency: Currency::parse("USD").unwrap(),
        challenge: ChallengePreference::NoPreference,
        exemption: None,
        window_size: ChallengeWindowSize::W500xH600,
        browser: None,
        capture_mode: CaptureMode::Automatic,
    }
}

fn card() -> CardRef {
    CardRef {
        payment_token: "SCTOKEN".into(),
        summary: Some(CardSummary {
            brand: CardBrand::Visa,
            bin: "400000".into(),
            last_four: "1000".into(),
        }),
    }
}

fn authenticating() -> State {
    State::Authenticating {
        order: order(),
        card: card(),
        fingerprint_id: "fp-1".into(),
        merchant_ref_num: cx().idempotency_key("authentication"),
    }
}

fn answer(status: u16, body: serde_json::Value) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    })
}

fn done(step: Step<State>) -> PaymentResult {
    match step {
        Step::Done(result) => result,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn sdk_payload(id: &str, payload: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(
        json!({"id": id, "transactionId": "acs-1", "payload": payload, "accountId": "89987201"})
            .to_string(),
    )
}

#[test]
fn completed_y_goes_straight_to_the_authorization_with_the_block() {
    let step = adapter().on_response(
        authenticating(),
        answer(
            200,
            json!({"id": "auth-1", "status": "COMPLETED", "threeDResult": "Y",
                   "threeDSecureVersion": "2.2.0", "eci": 5, "cavv": "AAAB",
                   "directoryServerTransactionId": "ds-1", "threeDEnrollment": "Y"}),
        ),
        &cx(),
    );
    let Step::Call { state, request } = step else {
        panic!("expected the authorization");
    };
    assert_eq!(request.purpose, "paysafe.auth");
    assert!(request.retry_safe);
    assert!(request
        .url
        .ends_with("/cardpayments/v1/accounts/89987201/auths"));
    let body: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["merchantRefNum"], cx().idempotency_key("auth"));
    assert_eq!(body["card"], json!({"paymentToken": "SCTOKEN"}));
    assert_eq!(body["settleWithAuth"], true);
    assert_eq!(
        body["authentication"],
        json!({"eci": 5, "cavv": "AAAB", "threeDResult": "Y", "threeDSecureVersion": "2.2.0",
               "directoryServerTransactionId": "ds-1"})
    );
    // Everything a resend needs, and no card data.
    assert_eq!(state, State::Authorizing { charge: charge() });

    // The approval.
    let result = done(adapter().on_response(
        state.clone(),
        answer(200, json!({"id": "pay-1", "status": "COMPLETED"})),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("pay-1"));
    assert!(result.liability_shift);
    assert_eq!(result.trans_status, Some(TransStatus::Y));

    // The issuer's decline, with Paysafe's code and message.
    let result = done(adapter().on_response(
        state.clone(),
        answer(
            402,
            json!({"id": "pay-2", "error": {"code": "3009", "message": "declined by the bank"}}),
        ),
        &cx(),
    ));
    assert_eq!(result.status, PaymentStatus::Declined);
    let error = result.error.unwrap();
    assert_eq!(error.code, ResultCode::Declined);
    assert_eq!(error.provider_code.as_deref(), Some("3009"));
    assert_eq!(
        error.provider_message.as_deref(),
        Some("declined by the bank")
    );

    // A timeout or an outage is neither a decline nor an error: Paysafe may have
    // authorized, so the payment is in doubt, keeping what the lookup and a resend need.
    for lost in [Err(TransportFailure::Timeout), answer(503, json!({}))] {
        let Step::Unknown { state: doubt } = adapter().on_response(state.clone(), lost, &cx())
        else {
            panic!("a lost authorization is in doubt");
        };
        assert_eq!(doubt, state);
    }
}

/// The authorization in doubt, as `completed_y_goes_straight_to_the_authorization_with_the_block`
/// leaves it.
fn charge() -> Charge {
    Charge {
        merchant_ref_num: cx().idempotency_key("auth"),
        amount: 1099,
        currency: Currency::parse("USD").unwrap(),
        payment_token: "SCTOKEN".into(),
        brand: CardBrand::Visa,
        authentication_id: "auth-1".into(),
        authentication: wire::Authenticated {
            version: "2.2.0".into(),
            trans_status: Some(TransStatus::Y),
            eci: Eci::new(5),
            cavv: Some("AAAB".into()),
            ds_transaction_id: Some("ds-1".into()),
            xid: None,
            enrollment: Some("Y".into()),
            signature_status: None,
            cancelled: false,
        },
        settle_with_auth: true,
    }
}

/// Reconciles `charge()` in doubt: the lookup it sends, and the state it waits in.
fn lookup() -> State {
    let Step::Call { state, request } =
        adapter().reconcile(State::Authorizing { charge: charge() }, &cx())
    else {
        panic!("expected the lookup");
    };
    assert_eq!(request.purpose, "paysafe.auth.lookup");
    assert_eq!(request.method, crate::provider::HttpMethod::Get);
    assert!(request.retry_safe);
    assert_eq!(
        request.url,
        format!(
            "http://sandbox.test/paysafe/cardpayments/v1/accounts/89987201/auths?merchantRefNum={}",
            cx().idempotency_key("auth")
        )
    );
    state
}

fn authentication() -> Authentication {
    Authentication {
        order: order(),
        card: card(),
        id: "auth-1".into(),
        merchant_ref_num: "ref".into(),
    }
}

fn awaiting_challenge() -> State {
    State::AwaitingChallenge {
        authentication: authentication(),
        form: shown().form,
        window_size: ChallengeWindowSize::W390xH400,
        refused: 0,
    }
}

/// The challenge `awaiting_challenge` shows.
fn shown() -> Shown {
    Shown {
        form: FormPost::post("https://acs.test/c", [("creq", "x".to_owned())]),
        window_size: ChallengeWindowSize::W390xH400,
        refused: 0,
    }
}

fn finalizing() -> State {
    State::Finalizing {
        authentication: authentication(),
        payload: "cres".into(),
        shown: Some(shown()),
    }
}

#[test]
fn the_start_sends_the_card_once_and_keeps_only_the_token() {
    let step = adapter().on_response(
        State::Tokenizing {
            order: order(),
            summary: card().summary.unwrap(),
        },
        answer(
            200,
            json!({"id": "t", "paymentToken": "SCNEW", "timeToLiveSeconds": 899}),
        ),
        &cx(),
    );
    let Step::Call { request, state } = step else {
        panic!("expected jwt");
    };
    assert_eq!(request.purpose, "paysafe.jwt");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(request.body.as_deref().unwrap()).unwrap(),
        json!({"accountId": "89987201", "card": {"cardBin": "400000", "paymentToken": "SCNEW"}})
    );
    let stored = serde_json::to_string(&state).unwrap();
    assert!(stored.contains("SCNEW"));
    let auth = request
        .headers
        .iter()
        .find(|(n, _)| n == "Authorization")
        .unwrap();
    assert!(!stored.contains(&auth.1[6..]), "no credential in the state");
}

#[test]
fn config_debug_prints_no_password() {
    let config = Config::sandbox("http://sandbox.test");
    let printed = format!("{config:?}");
    assert!(!printed.contains(config.api_password.expose()), "{printed}");
    assert!(printed.contains("sandbox-paysafe-user"), "{printed}");
}

#[test]
fn a_manual_payment_authorizes_without_settling_and_an_old_order_reads_as_automatic() {
    let mut order = order();
    order.capture_mode = CaptureMode::Manual;
    let State::Authenticating {
        card,
        fingerprint_id,
        merchant_ref_num,
        ..
    } = authenticating()
    else {
        unreachable!()
    };
    let step = adapter().on_response(
        State::Authenticating {
            order,
            card,
            fingerprint_id,
            merchant_ref_num,
        },
        answer(
            200,
            json!({"id": "auth-1", "status": "COMPLETED", "threeDResult": "Y",
                   "threeDSecureVersion": "2.2.0", "eci": 5, "cavv": "AAAB",
                   "directoryServerTransactionId": "ds-1", "threeDEnrollment": "Y"}),
        ),
        &cx(),
    );
    let Step::Call { state, request } = step else {
        panic!("expected the authorization");
    };
    let body: serde_json::Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
    assert_eq!(body["settleWithAuth"], false);
    let State::Authorizing { charge } = state else {
        panic!("expected Authorizing");
    };
    assert!(!charge.settle_with_auth);

    // States stored before capture modes existed: settled with the authorization.
    let mut stored = serde_json::to_value(State::Authorizing {
        charge: charge.clone(),
    })
    .unwrap();
    stored["charge"]
        .as_object_mut()
        .unwrap()
        .remove("settle_with_auth");
    let State::Authorizing { charge: old } = serde_json::from_value(stored).unwrap() else {
        panic!("expected Authorizing");
    };
    assert!(old.settle_with_auth);
    let mut order = serde_json::to_value(self::order()).unwrap();
    order.as_object_mut().unwrap().remove("capture_mode");
    let order: Order = serde_json::from_value(order).unwrap();
    assert_eq!(order.capture_mode, CaptureMode::Automatic);
}

//! The adapter's steps on canned Payroc answers: no network, a fake clock.

use crate::emv::FormMethod;
use crate::order::{Currency, OrderId};
use crate::payment::BrowserAction;
use serde_json::{json, Value};

use super::*;
use crate::emv::{
    BrowserDetails, BrowserReadings, ChallengeWindowSize, Eci, Pan, ServerReadings, TransStatus,
};
use crate::payment::{CardDetails, Cvv, DisplayMode, ExternalAuthentication, Payer};
use crate::provider::HttpMethod;

mod failures;
mod lookup;
mod sale;
mod sale_refusals;
mod third_party;

const PAN: &str = "4000000000001000";
const T0: u64 = 1_780_000_000_000;
const TOKEN: &str = "1a8731f50b02e287ac0529fbce352317c089d4adc1178c1867d65114078791d3";
const MPI_REF: &str = "d01656cf0ec3e62e3754";

fn adapter() -> PayrocAdapter {
    PayrocAdapter::new(Config::sandbox("http://sandbox.test"))
}

fn cx(now_ms: u64) -> Context {
    Context {
        now_ms,
        session_id: "0123456789abcdef0123456789abcdef".into(),
        public_url: "https://shop.example".into(),
    }
}

fn payment() -> PaymentStart {
    PaymentStart {
        order_id: OrderId::parse("order-25").unwrap(),
        amount: 4999,
        currency: Currency::parse("EUR").unwrap(),
        description: Some("Two tickets".into()),
        method: PaymentMethod::Card(CardDetails {
            number: Pan::parse(PAN).unwrap(),
            expiry_month: 3,
            expiry_year: 2031,
            cvv: Cvv::parse("987").unwrap(),
            holder_name: "Sarah Hopper".into(),
        }),
        payer: Payer {
            email: Some("joe@adomain.com".into()),
            ..Payer::default()
        },
        browser: BrowserDetails::build(
            &BrowserReadings::default(),
            &ServerReadings {
                accept_header: Some("text/html".into()),
                user_agent: Some("Mozilla/5.0 (test)".into()),
                ..ServerReadings::default()
            },
        )
        .unwrap(),
        challenge: ChallengePreference::NoPreference,
        display: DisplayMode::Iframe,
        window_size: ChallengeWindowSize::FullScreen,
        external_authentication: None,
        capture_mode: crate::payment::CaptureMode::Automatic,
        exemption: None,
    }
}

fn answer(status: u16, body: &str) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_owned(),
    })
}

fn token_answer(expires_in: u64) -> Result<HttpResponse, TransportFailure> {
    answer(
        200,
        &json!({"access_token": "eyJhbGc.adQssw5c", "token_type": "Bearer",
                "expires_in": expires_in, "scope": "payments"})
        .to_string(),
    )
}

fn single_use_token_answer() -> Result<HttpResponse, TransportFailure> {
    answer(
        201,
        &json!({"processingTerminalId": "4479001", "token": TOKEN,
                "expiresAt": "2026-11-22T05:30:00Z",
                "source": {"type": "card", "cardholderName": "Sarah Hopper",
                           "cardNumber": "400000******1000", "expiryDate": "0331", "cardType": "Visa"}})
        .to_string(),
    )
}

fn payment_answer(
    status: &str,
    code: &str,
    message: &str,
) -> Result<HttpResponse, TransportFailure> {
    answer(
        201,
        &json!({"paymentId": "M2MJOG6O2Y", "processingTerminalId": "4479001",
                "order": {"orderId": "order-25", "dateTime": "2026-11-22T05:00:00Z", "amount": 4999, "currency": "EUR"},
                "card": {"type": "Visa", "entryMethod": "keyed", "cardNumber": "400000******1000", "expiryDate": "0331"},
                "transactionResult": {"type": "sale", "status": status, "authorizedAmount": 4999, "currency": "EUR",
                                      "responseCode": code, "responseMessage": message}})
        .to_string(),
    )
}

fn problem(
    status: u16,
    fragment: &str,
    detail: &str,
    errors: Value,
) -> Result<HttpResponse, TransportFailure> {
    Ok(HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/problem+json".into())],
        body: json!({"type": format!("https://docs.payroc.com/api/errors#{fragment}"),
                     "title": "Problem", "status": status, "detail": detail, "errors": errors})
        .to_string(),
    })
}

fn receipt(pairs: &[(&str, &str)]) -> BrowserReturn {
    BrowserReturn {
        fields: pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn good_receipt() -> BrowserReturn {
    receipt(&[
        ("result", "A"),
        ("status", "Y"),
        ("eci", "05"),
        ("mpiReference", MPI_REF),
        ("orderId", "order-25"),
    ])
}

fn call(step: Step<State>) -> (State, HttpRequest) {
    match step {
        Step::Call { state, request } => (state, request),
        other => panic!("expected a call, got {other:?}"),
    }
}

fn browser(step: Step<State>) -> (State, BrowserAction) {
    match step {
        Step::Browser { state, action } => (state, action),
        other => panic!("expected a browser step, got {other:?}"),
    }
}

/// A step the provider's refusal of a receipt led to: the same browser step again.
fn refused(step: Step<State>) -> (State, BrowserAction) {
    match step {
        Step::Refused { state, action, .. } => (state, action),
        other => panic!("expected a refused return, got {other:?}"),
    }
}

fn accepted(step: Result<Step<State>, ReturnRefused>) -> Step<State> {
    step.unwrap_or_else(|refused| panic!("the return was refused: {refused:?}"))
}

fn done(step: Step<State>) -> PaymentResult {
    match step {
        Step::Done(result) => result,
        other => panic!("expected the end, got {other:?}"),
    }
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn body(request: &HttpRequest) -> Value {
    serde_json::from_str(request.body.as_deref().expect("a body")).expect("JSON body")
}

/// The host's preparing call before `start`, when the adapter asks for one: a token
/// for an hour.
fn prepare(adapter: &PayrocAdapter, now_ms: u64) {
    if let Some(request) = adapter.prepare_start(&cx(now_ms)) {
        assert_eq!(request.purpose, "payroc.authorize");
        assert_eq!(adapter.on_prepared(token_answer(3600), &cx(now_ms)), None);
    }
}

/// `start` as the backend takes it: after the preparing call.
fn begin(adapter: &PayrocAdapter, start: &PaymentStart, now_ms: u64) -> Step<State> {
    prepare(adapter, now_ms);
    adapter.start(start, &cx(now_ms))
}

/// A state as it comes back from the store (through JSON).
fn stored(state: State) -> State {
    serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap()
}

/// A payment as Payroc's list shows it.
fn listed(
    id: &str,
    order_id: &str,
    amount: u64,
    currency: &str,
    status: &str,
    code: &str,
) -> Value {
    json!({"paymentId": id, "processingTerminalId": "4479001",
           "order": {"orderId": order_id, "dateTime": "2026-11-22T05:00:00Z", "amount": amount, "currency": currency},
           "card": {"type": "Visa", "entryMethod": "keyed", "cardNumber": "400000******1000", "expiryDate": "0331"},
           "transactionResult": {"type": "sale", "status": status, "authorizedAmount": amount, "currency": currency,
                                 "responseCode": code, "responseMessage": "APPROVAL"}})
}

/// One page of the list; `next`: the link to the next page (then `hasMore`).
fn list_page(data: Value, next: Option<&str>) -> Result<HttpResponse, TransportFailure> {
    let links: Vec<Value> = next
        .map(|href| json!({"rel": "next", "method": "get", "href": href}))
        .into_iter()
        .collect();
    answer(
        200,
        &json!({"limit": 10, "count": data.as_array().map(Vec::len), "hasMore": next.is_some(),
                "links": links, "data": data})
        .to_string(),
    )
}

/// A step that leaves the payment in doubt: its state.
fn unknown(step: Step<State>) -> State {
    match step {
        Step::Unknown { state } => state,
        other => panic!("expected a doubt, got {other:?}"),
    }
}

/// (identity →) start: the tokenization → the MPI page: the state waiting for the receipt.
fn at_mpi(adapter: &PayrocAdapter) -> State {
    let (state, _) = call(begin(adapter, &payment(), T0));
    let (state, _) = browser(adapter.on_response(state, single_use_token_answer(), &cx(T0)));
    state
}

/// … → the sale request, with a cached token.
fn at_sale(adapter: &PayrocAdapter) -> (State, HttpRequest) {
    let state = at_mpi(adapter);
    call(accepted(adapter.on_browser_return(
        state,
        &good_receipt(),
        &cx(T0),
    )))
}

/// Another 3DS server's authentication of the cardholder.
fn external(status: TransStatus, eci: u8) -> ExternalAuthentication {
    ExternalAuthentication {
        version: "2.2.0".into(),
        trans_status: status,
        eci: Eci::new(eci).unwrap(),
        cavv: "AAABBEg0VhI0VniQEjRWAAAAAAA=".into(),
        xid: None,
        ds_transaction_id: Some("f25084f0-5b16-4c0a-ae5d-b24808a95e4b".into()),
    }
}

#[test]
fn the_start_request_fetches_a_token_then_tokenizes_the_card_as_the_sdk_does() {
    let adapter = adapter();
    let request = adapter
        .prepare_start(&cx(T0))
        .expect("no token cached: the host fetches one first");
    assert_eq!(request.url, "http://sandbox.test/payroc/identity/authorize");
    assert_eq!(request.method, HttpMethod::Post);
    assert_eq!(
        header(&request, "x-api-key"),
        Some("sandbox-payroc-api-key")
    );
    assert_eq!(request.body, None);
    assert!(request.retry_safe);
    assert_eq!(adapter.on_prepared(token_answer(3600), &cx(T0)), None);
    assert_eq!(adapter.prepare_start(&cx(T0)), None, "the token is cached");

    // The card goes out in start's first request, and only there.
    let (state, request) = call(adapter.start(&payment(), &cx(T0)));
    assert!(matches!(
        state,
        State::Calling {
            call: ApiCall::Tokenize { .. },
            ..
        }
    ));
    assert_eq!(
        request.url,
        "http://sandbox.test/payroc/api/v1/processing-terminals/4479001/single-use-tokens"
    );
    assert_eq!(
        header(&request, "Authorization"),
        Some("Bearer eyJhbGc.adQssw5c")
    );
    assert_eq!(
        header(&request, "Idempotency-Key").map(str::to_owned),
        Some(cx(T0).idempotency_key("single-use-token"))
    );
    assert_eq!(header(&request, "Content-Type"), Some("application/json"));
    assert!(request.retry_safe);
    assert_eq!(
        body(&request),
        json!({"channel": "web", "source": {"type": "card", "cardDetails": {
            "entryMethod": "keyed", "cardholderName": "Sarah Hopper",
            "keyedData": {"dataFormat": "plainText", "cardNumber": PAN, "expiryDate": "0331", "cvv": "987"}}}})
    );
    // Neither the request's Debug nor the stored state carries the card.
    let stored = serde_json::to_string(&state).unwrap();
    assert!(!stored.contains(PAN) && !stored.contains("987"), "{stored}");
    assert!(!format!("{request:?}").contains(PAN));
}

#[test]
fn the_mpi_step_is_a_full_page_get_with_every_required_parameter() {
    let adapter = adapter();
    let (state, _) = call(begin(&adapter, &payment(), T0));
    let (state, action) = browser(adapter.on_response(state, single_use_token_answer(), &cx(T0)));
    let BrowserAction::Redirect { form } = action else {
        panic!("Payroc's MPI is a redirect, got {action:?}");
    };
    assert_eq!(
        form.action,
        "http://sandbox.test/payroc/payments/merchant/mpi"
    );
    assert_eq!(form.method, FormMethod::Get);
    let fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("processingTerminalId", "4479001"),
            ("singleUseToken", TOKEN),
            ("email", "joe@adomain.com"),
            ("amount", "4999"),
            ("currency", "EUR"),
            ("orderId", "order-25"),
            ("cardholderChallenge", "OPTIONAL"),
        ]
    );
    let stored = serde_json::to_string(&state).unwrap();
    assert!(!stored.contains(PAN) && !stored.contains("987"));
}

#[test]
fn a_challenge_preference_asks_payroc_for_a_challenge() {
    let adapter = adapter();
    let mut start = payment();
    start.challenge = ChallengePreference::Mandated;
    start.method = PaymentMethod::Token {
        token: TOKEN.into(),
        bin: None,
    };
    let (_, action) = browser(adapter.start(&start, &cx(T0)));
    let BrowserAction::Redirect { form } = action else {
        panic!("redirect expected");
    };
    assert_eq!(form.field("cardholderChallenge"), Some("REQUIRED"));
}

#[test]
fn a_provided_token_skips_tokenization_and_every_call() {
    let adapter = adapter();
    let mut start = payment();
    start.method = PaymentMethod::Token {
        token: TOKEN.into(),
        bin: None,
    };
    let (state, action) = browser(adapter.start(&start, &cx(T0)));
    assert!(matches!(state, State::AwaitingReceipt { .. }));
    let BrowserAction::Redirect { form } = action else {
        panic!("redirect expected");
    };
    assert_eq!(form.field("singleUseToken"), Some(TOKEN));

    start.method = PaymentMethod::Token {
        token: "not a token!".into(),
        bin: None,
    };
    let result = done(adapter.start(&start, &cx(T0)));
    assert_eq!(result.error.unwrap().code, ResultCode::ProviderRejected);
}

#[test]
fn a_missing_or_malformed_email_ends_before_any_call() {
    let adapter = adapter();
    for email in [
        None,
        Some(""),
        Some("joe"),
        Some("joe @x.com"),
        Some("joe@localhost"),
    ] {
        let mut start = payment();
        start.payer.email = email.map(str::to_owned);
        let result = done(adapter.start(&start, &cx(T0)));
        assert_eq!(result.status, PaymentStatus::Failed, "{email:?}");
        let error = result.error.unwrap();
        assert_eq!(error.code, ResultCode::ProviderRejected);
        assert_eq!(error.provider_code.as_deref(), Some("payer.email"));
        assert!(error.provider_message.unwrap().contains("email"));
    }
}

#[test]
fn the_token_is_cached_and_refreshed_two_minutes_before_expiry() {
    let adapter = adapter();
    let _ = at_mpi(&adapter); // caches a token issued at T0 for 3600 s
    let expiry = T0 + 3_600_000;

    // Still fresh: no preparing call, start tokenizes at once.
    let fresh = cx(expiry - TOKEN_REFRESH_MARGIN_MS - 1);
    assert_eq!(adapter.prepare_start(&fresh), None);
    let (_, request) = call(adapter.start(&payment(), &fresh));
    assert_eq!(request.purpose, "payroc.single_use_token");

    // Inside the margin: a new token first.
    assert!(adapter
        .prepare_start(&cx(expiry - TOKEN_REFRESH_MARGIN_MS))
        .is_some());

    // A token whose whole life is inside the margin is still used for the start it was
    // fetched for, and the next start fetches another.
    assert_eq!(adapter.on_prepared(token_answer(60), &cx(expiry)), None);
    let (_, request) = call(adapter.start(&payment(), &cx(expiry)));
    assert_eq!(request.purpose, "payroc.single_use_token");
    assert!(adapter.prepare_start(&cx(expiry)).is_some());

    // A host that skips the preparing call gets an error before the card goes anywhere.
    let result = done(self::adapter().start(&payment(), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Error);
    assert_eq!(
        result.error.unwrap().provider_code.as_deref(),
        Some("no_access_token")
    );
}

#[test]
fn another_process_continues_a_payment_from_its_stored_state_alone() {
    // Each step in a process of its own (a new adapter: no token, nothing remembered),
    // from the state as the store gives it back.
    let (state, tokenize) = call(begin(&adapter(), &payment(), T0));
    assert_eq!(tokenize.purpose, "payroc.single_use_token");
    let (state, _) =
        browser(adapter().on_response(stored(state), single_use_token_answer(), &cx(T0)));
    let third = adapter();
    let (state, request) = call(accepted(third.on_browser_return(
        stored(state),
        &good_receipt(),
        &cx(T0),
    )));
    assert_eq!(request.purpose, "payroc.authorize", "its own token first");
    let (state, sale) = call(third.on_response(stored(state), token_answer(3600), &cx(T0)));
    assert_eq!(sale.purpose, "payroc.sale");
    assert_eq!(body(&sale)["paymentMethod"]["token"], TOKEN);
    let result = done(adapter().on_response(
        stored(state),
        payment_answer("ready", "A", "APPROVAL"),
        &cx(T0),
    ));
    assert_eq!(result.status, PaymentStatus::Authorized);
    assert_eq!(result.provider_payment_id.as_deref(), Some("M2MJOG6O2Y"));
}

#[test]
fn a_tokenization_stored_without_its_card_ends_the_payment() {
    // A session stored by a version that kept the card in memory, waiting for a token
    // to tokenize it: the card is gone; nothing was charged.
    let (state, _) = call(begin(&adapter(), &payment(), T0));
    let calling = serde_json::to_value(&state).unwrap();
    let old = json!({"step": "authorizing", "auth_retried": false, "then": calling["call"]});
    let old: State = serde_json::from_value(old).unwrap();
    let result = done(adapter().on_response(old, token_answer(3600), &cx(T0)));
    assert_eq!(result.status, PaymentStatus::Error);
    assert_eq!(
        result.error.unwrap().provider_code.as_deref(),
        Some("card_not_kept")
    );
}

#[test]
fn config_reads_with_production_defaults_and_hides_the_key() {
    let config: Config = serde_json::from_value(json!({
        "api_key": "secret-key", "processing_terminal_id": "1234001"
    }))
    .unwrap();
    assert_eq!(config.identity_url, "https://identity.payroc.com");
    assert_eq!(config.api_url, "https://api.payroc.com/v1");
    assert_eq!(config.payments_url, "https://payments.payroc.com");
    assert_eq!(config.cardholder_challenge, CardholderChallenge::Optional);
    assert!(!format!("{config:?}").contains("secret-key"));
    let config: Config = serde_json::from_value(json!({
        "api_key": "k", "processing_terminal_id": "1", "cardholder_challenge": "REQUIRED"
    }))
    .unwrap();
    assert_eq!(config.cardholder_challenge, CardholderChallenge::Required);
    assert!(serde_json::from_value::<Config>(
        json!({"api_key": "k", "processing_terminal_id": "1", "apikey": "x"})
    )
    .is_err());
}

#[test]
fn a_manual_capture_payment_is_a_pre_authorization_and_old_states_stay_sales() {
    let adapter = adapter();
    let mut manual = payment();
    manual.capture_mode = crate::payment::CaptureMode::Manual;
    let (state, _) = call(begin(&adapter, &manual, T0));
    let (state, _) = browser(adapter.on_response(state, single_use_token_answer(), &cx(T0)));
    let (_, request) = call(accepted(adapter.on_browser_return(
        stored(state),
        &good_receipt(),
        &cx(T0),
    )));
    assert_eq!(body(&request)["autoCapture"], json!(false));

    // A session stored before the capture mode existed has none: it was a sale.
    let State::AwaitingReceipt { mpi, refused } = at_mpi(&adapter) else {
        panic!("waiting for the receipt");
    };
    let mut old = serde_json::to_value(State::AwaitingReceipt { mpi, refused }).unwrap();
    old["mpi"]["order"]
        .as_object_mut()
        .unwrap()
        .remove("capture_mode");
    let old: State = serde_json::from_value(old).unwrap();
    let (_, request) = call(accepted(adapter.on_browser_return(
        old,
        &good_receipt(),
        &cx(T0),
    )));
    assert_eq!(body(&request)["autoCapture"], json!(true));
}

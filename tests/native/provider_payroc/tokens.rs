//! Tokens: a provided single-use token goes straight to the MPI, one Bearer token serves two
//! payments and is refreshed once when Payroc expires it early (at the sale or at the
//! tokenization), a wrong API key is a clear rejection, and a card Payroc refuses ends at the
//! tokenization.

use super::*;

#[tokio::test]
async fn a_provided_token_goes_straight_to_the_mpi() {
    let running = payroc_sandbox().await;
    // The page tokenized the card itself (Hosted Fields in production).
    let tokenizer = adapter(&running);
    let cx = flow::context(&session_id());
    let (state, _) = to_mpi(&tokenizer, &start("4000000000001000"), &cx).await;
    let token = serde_json::to_value(&state).expect("state")["mpi"]["token"]
        .as_str()
        .expect("token")
        .to_owned();

    let adapter = adapter(&running);
    let mut payment = start("4000000000001000");
    payment.method = PaymentMethod::Token { token, bin: None };
    let session = session_id();
    let (result, trace) = flow::run(&adapter, &payment, &session, Cardholder::Cancels).await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert_eq!(trace.calls, ["payroc.authorize", "payroc.sale"]);
    assert_ledger(&running, &payment, &session, &result);
}

#[tokio::test]
async fn one_token_serves_two_payments() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let (first, first_trace) = flow::run(
        &adapter,
        &start("4000000000001000"),
        &session_id(),
        Cardholder::Cancels,
    )
    .await;
    let (second, second_trace) = flow::run(
        &adapter,
        &start("5200000000001005"),
        &session_id(),
        Cardholder::Cancels,
    )
    .await;
    assert_eq!(first.status, PaymentStatus::Authorized);
    assert_eq!(second.status, PaymentStatus::Authorized);
    let identity_calls = first_trace
        .calls
        .iter()
        .chain(&second_trace.calls)
        .filter(|c| **c == "payroc.authorize")
        .count();
    assert_eq!(identity_calls, 1, "{first_trace:?} {second_trace:?}");
    assert_eq!(
        second_trace.calls,
        ["payroc.single_use_token", "payroc.sale"]
    );
}

/// A context whose clock reads `now_ms`: the host's clock, behind Payroc's.
fn at(now_ms: u64, session: &str) -> Context {
    Context {
        now_ms,
        ..flow::context(session)
    }
}

/// Payroc expires a token the adapter still takes for fresh (the host's clock is behind
/// Payroc's). At the sale, the 401 is answered with a new token and the sale once more;
/// at the tokenization, whose card is not kept for a second try, it ends that payment
/// (nothing charged) and the next payment fetches a new token first.
#[tokio::test]
async fn a_token_payroc_expired_early_is_refreshed_once_at_the_sale() {
    let running = payroc_sandbox().await;
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_secs(1));
    let adapter = adapter(&running);
    let issued_at = 1_000_000_000;
    let session = session_id();
    let cx = at(issued_at, &session);
    let payment = start("4000000000001000");
    let (state, action) = to_mpi(&adapter, &payment, &cx).await;
    let ret = receipt_of(&action).await;
    // The cardholder takes a while at the MPI; Payroc's token expires meanwhile, while
    // by the adapter's clock it has minutes left.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_secs(3600));
    // The host's clock is behind Payroc's: by the adapter's reckoning the 1-second token
    // is still minutes from expiry.
    let cx = at(issued_at - 200_000, &session);
    let mut step = accepted(adapter.on_browser_return(state, &ret, &cx));
    let mut exchanges = Vec::new();
    let result = loop {
        step = match step {
            Step::Call { state, request } => {
                let answer = flow::send(&request).await;
                let status = answer.as_ref().map(|a| a.status).unwrap_or_default();
                exchanges.push((request.purpose, status));
                adapter.on_response(state, answer, &cx)
            }
            Step::Done(result) => break result,
            other => panic!("unexpected step {other:?}"),
        };
    };
    assert_eq!(
        exchanges,
        [
            ("payroc.sale", 401),
            ("payroc.authorize", 200),
            ("payroc.sale", 201)
        ]
    );
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert_ledger(&running, &payment, &session, &result);
}

#[tokio::test]
async fn a_token_payroc_expired_early_ends_the_tokenization_and_is_replaced() {
    let running = payroc_sandbox().await;
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_secs(1));
    let adapter = adapter(&running);
    let issued_at = 1_000_000_000;
    let _ = to_mpi(
        &adapter,
        &start("4000000000001000"),
        &at(issued_at, &session_id()),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running
        .sandbox
        .payroc
        .set_token_lifetime(Duration::from_secs(3600));

    let payment = start("4000000000001000");
    let cx = at(issued_at - 200_000, &session_id());
    let mut trace = flow::Trace::default();
    let step = flow::begin(&adapter, &payment, &cx, &mut trace).await;
    assert!(
        trace.calls.is_empty(),
        "the token looks fresh: no preparing call"
    );
    let result = to_end(&adapter, step, &cx).await;
    assert_eq!(result.status, PaymentStatus::Error, "{result:?}");
    let error = result.error.expect("an error");
    assert_eq!(error.code, ResultCode::ProviderUnavailable);
    assert_eq!(error.provider_code.as_deref(), Some("not-authorized"));
    assert!(charged(&running, &payment.order_id).is_empty());

    // The next payment fetches a new token and pays.
    let next = start("4000000000001000");
    let session = session_id();
    let (result, trace) = flow::run(&adapter, &next, &session, Cardholder::Types("1234")).await;
    assert_eq!(result.status, PaymentStatus::Authorized, "{result:?}");
    assert_eq!(trace.calls[0], "payroc.authorize");
    assert_ledger(&running, &next, &session, &result);
}

#[tokio::test]
async fn a_wrong_api_key_is_a_clear_rejection() {
    let running = payroc_sandbox().await;
    let mut config = Config::sandbox(&running.url);
    config.api_key = "not-the-key".into();
    let adapter = PayrocAdapter::new(config);
    let (result, trace) = flow::run(
        &adapter,
        &start("4000000000001000"),
        &session_id(),
        Cardholder::Cancels,
    )
    .await;
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.expect("an error");
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert_eq!(error.provider_code.as_deref(), Some("not-authorized"));
    assert_eq!(trace.calls, ["payroc.authorize"]);
}

#[tokio::test]
async fn a_card_payroc_refuses_is_rejected_at_tokenization() {
    let running = payroc_sandbox().await;
    let adapter = adapter(&running);
    let mut payment = start("4000000000001000");
    // Pan::parse refuses a bad check digit, so the page cannot send a Luhn-invalid card;
    // an expired one is what Payroc itself refuses.
    if let PaymentMethod::Card(card) = &mut payment.method {
        card.expiry_year = 2020;
    }
    let (result, trace) = flow::run(&adapter, &payment, &session_id(), Cardholder::Cancels).await;
    assert_eq!(result.status, PaymentStatus::Failed);
    let error = result.error.expect("an error");
    assert_eq!(error.code, ResultCode::ProviderRejected);
    assert!(
        error
            .provider_message
            .as_deref()
            .unwrap_or_default()
            .contains("expiryDate"),
        "{error:?}"
    );
    assert_eq!(trace.calls, ["payroc.authorize", "payroc.single_use_token"]);
}

//! Sessions to store and the stores to keep them in: session builders for the store tests,
//! and the test PostgreSQL (scripts/pg-test.sh starts one and exports its URL; `make
//! test-native` runs every test under it).

use serde_json::json;
use threeds_bridge::backend::native::postgres::{PostgresOptions, PostgresStore};
use threeds_bridge::payment::{PaymentResult, PaymentStatus, ProviderKind, ResultCode};
use threeds_bridge::session::{AdapterState, Phase, Session};

/// The test server's URL, from scripts/pg-test.sh. Its absence fails the test: a store
/// test that quietly passes without its database proves nothing.
pub fn database_url() -> String {
    std::env::var("TB_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TB_TEST_DATABASE_URL is not set: this test needs PostgreSQL. Run it under \
             scripts/pg-test.sh (make test-native does), e.g. \
             `scripts/pg-test.sh cargo test --test native store_`"
        )
    })
}

/// A schema no other test uses, so tests running at once never see each other's rows.
pub fn fresh_schema() -> String {
    format!("t_{}", uuid::Uuid::new_v4().simple())
}

/// The default options, in `schema`.
pub fn in_schema(schema: &str) -> PostgresOptions {
    PostgresOptions {
        schema: schema.to_owned(),
        ..PostgresOptions::default()
    }
}

/// A store on the test database, in a schema of its own.
pub async fn postgres() -> PostgresStore {
    postgres_with(in_schema(&fresh_schema())).await
}

pub async fn postgres_with(options: PostgresOptions) -> PostgresStore {
    PostgresStore::connect(&database_url(), options)
        .await
        .expect("connect to the test PostgreSQL")
}

/// A plain client on the test database, to look at or damage what a store wrote.
pub async fn raw_postgres() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
        .await
        .expect("connect to the test PostgreSQL");
    tokio::spawn(connection);
    client
}

pub fn calling(step: &str) -> Phase {
    Phase::Calling {
        state: AdapterState(json!({ "step": step })),
        purpose: "bambora.payment".into(),
    }
}

pub fn declined() -> Phase {
    Phase::Final {
        result: PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined),
    }
}

/// A session in `Calling`, built from JSON so that optional fields added to `Session`
/// later take their default.
pub fn session(id: &str, provider: ProviderKind, order_id: &str, expires_at_ms: u64) -> Session {
    serde_json::from_value(json!({
        "id": id,
        "nonce": "nonce-1",
        "provider": provider,
        "order_id": order_id,
        "amount": 1250,
        "currency": "USD",
        "checkout_origin": "http://127.0.0.1:8080",
        "display": "iframe",
        "card": null,
        "created_at_ms": 0,
        "expires_at_ms": expires_at_ms,
        "version": 1,
        "phase": calling("start"),
    }))
    .expect("a session")
}

/// A session id: 32 hex digits, as the backend mints them.
pub fn id(n: u32) -> String {
    format!("{n:032x}")
}

/// Of swaps spawned together (each answering whether it changed the row, and the session
/// it wrote), the sessions of those that won, in the order they were spawned.
pub async fn winners(contenders: Vec<tokio::task::JoinHandle<(bool, Session)>>) -> Vec<Session> {
    let mut winners = Vec::new();
    for contender in contenders {
        let (won, next) = contender.await.expect("a contender");
        if won {
            winners.push(next);
        }
    }
    winners
}

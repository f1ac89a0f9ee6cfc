//! A second confirm of a payment whose first is still with the provider (a double click)
//! waits for the first's answer, reading the store, at most one call lease: with waits that
//! grow, a few dozen reads rather than one every 20 ms (at the edge each read is a Durable
//! Object call, which the platform counts against the request's subrequests). The clock is
//! virtual: each wait moves it on at once, so the test does not wait the lease out.

use crate::support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use support::backend::{confirm_at, create_at, harness, serve_unlimited, split_start, start_body};
use support::store::calling;
use threeds_bridge::backend::native::{ReqwestTransport, SystemEnv};
use threeds_bridge::backend::{Backend, Env};
use threeds_bridge::store::SessionStore;

/// The system clock when made, moved on by each sleep (which returns at once); counts them.
#[derive(Clone)]
struct Virtual {
    now_ms: Arc<AtomicU64>,
    sleeps: Arc<AtomicU64>,
}

impl Env for Virtual {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn random_u128(&self) -> u128 {
        SystemEnv.random_u128()
    }

    async fn sleep(&self, ms: u64) {
        self.sleeps.fetch_add(1, Ordering::SeqCst);
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_second_confirm_waits_out_the_first_with_a_few_dozen_reads() {
    let h = harness().await;
    let (listener, config) = h.beside().await;
    let url = config.public_url.clone();
    let lease_ms = config.calls.lease_ms();
    let clock = Virtual {
        now_ms: Arc::new(AtomicU64::new(SystemEnv.now_ms())),
        sleeps: Arc::new(AtomicU64::new(0)),
    };
    let transport = ReqwestTransport::new(&config.calls).expect("transport");
    let backend = Backend::new(config, h.store.clone(), transport, clock.clone());
    let _running = serve_unlimited(listener, backend.into());

    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (status, created) = create_at(&url, &create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    // The first confirm's call is under way (as another request left it), and stays so.
    let stored = h.store.load(id).await.unwrap().unwrap();
    let under_way = stored
        .advanced(calling("paysafe.authenticate"), clock.now_ms())
        .unwrap();
    assert!(h.store.swap(&under_way).await.unwrap());

    let started = clock.now_ms();
    let (status, view) = confirm_at(&url, id, secret, &confirm).await;
    // Past the lease the first call counts as lost, and is resumed as such (this stored
    // state is none the adapter can read, so it ends): what is watched is the wait.
    assert_eq!(status, 200, "{view}");
    let waited = clock.now_ms() - started;
    assert!(
        waited >= lease_ms,
        "waited {waited} ms of a {lease_ms} ms lease"
    );
    let reads = clock.sleeps.load(Ordering::SeqCst);
    // 20 ms doubling to 500 ms: about lease / 500 ms, plus the first few.
    assert!(
        reads <= lease_ms / 500 + 10,
        "{reads} reads in a {lease_ms} ms wait"
    );
}

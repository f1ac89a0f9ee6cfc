//! A refused confirm (a bad card, say) counts an attempt with a write of its own. When
//! that count lands between a valid confirm's read and its write, the valid confirm still
//! starts the payment: before, it took the count for another confirm having won and
//! answered 200 `requires_confirmation`, with nothing sent, and the page was stuck.

use crate::support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use support::backend::{confirm_at, create_at, harness, split_start, start_body};
use threeds_bridge::backend::native::SystemEnv;
use threeds_bridge::payment::ProviderKind;
use threeds_bridge::session::{Phase, Session};
use threeds_bridge::store::memory::MemoryStore;
use threeds_bridge::store::operations::OperationStore;
use threeds_bridge::store::{SessionStore, StoreError};

/// A memory store where a refused confirm's count lands just before the first write of a
/// confirm's start (once): the race, made certain.
struct CountedFirst {
    inner: MemoryStore,
    counted: AtomicBool,
}

impl OperationStore for CountedFirst {}

impl SessionStore for CountedFirst {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        self.inner.create(session).await
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.load(id).await
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        self.inner.load_by_order(provider, order_id).await
    }

    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        if matches!(next.phase, Phase::Starting) && !self.counted.swap(true, Ordering::SeqCst) {
            let stored = self.inner.load(&next.id).await?.expect("the payment");
            let count = Session {
                confirm_attempts: stored.confirm_attempts + 1,
                version: stored.version + 1,
                ..stored
            };
            assert!(self.inner.swap(&count).await?, "the count lands first");
        }
        self.inner.swap(next).await
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        self.inner.due(now_ms, limit).await
    }
}

#[tokio::test]
async fn a_refused_confirms_count_does_not_swallow_a_valid_confirm() {
    let h = harness().await;
    let store = CountedFirst {
        inner: MemoryStore::default(),
        counted: AtomicBool::new(false),
    };
    let (url, _, _running) = h.serve_beside(Arc::new(store), SystemEnv).await;

    let (create, confirm) = split_start(&start_body("paysafe", "4000000000001000", "iframe"));
    let (status, created) = create_at(&url, &create).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let secret = created["clientSecret"].as_str().unwrap();
    let (status, view) = confirm_at(&url, id, secret, &confirm).await;
    assert_eq!(status, 200, "{view}");
    assert_ne!(view["status"], "requires_confirmation", "{view}");
    assert_eq!(view["result"]["status"], "authorized", "{view}");
    assert_eq!(h.ledger("paysafe").len(), 1, "charged once");
}

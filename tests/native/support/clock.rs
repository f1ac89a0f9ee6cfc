//! `Ahead`: the system clock, run ahead by an offset a test moves on, so that a test can
//! let a lease or a session's lifetime pass at a moment of its choosing instead of
//! waiting it out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use threeds_bridge::backend::native::SystemEnv;
use threeds_bridge::backend::Env;

/// The system clock, `ahead_ms` later; randomness and sleeps are the system's.
#[derive(Clone, Default)]
pub struct Ahead {
    ahead_ms: Arc<AtomicU64>,
}

impl Ahead {
    /// Moves this clock (and every clone of it) `ms` on.
    pub fn jump(&self, ms: u64) {
        self.ahead_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Env for Ahead {
    fn now_ms(&self) -> u64 {
        SystemEnv.now_ms() + self.ahead_ms.load(Ordering::SeqCst)
    }

    fn random_u128(&self) -> u128 {
        SystemEnv.random_u128()
    }

    async fn sleep(&self, ms: u64) {
        SystemEnv.sleep(ms).await
    }
}

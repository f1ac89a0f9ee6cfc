//! What the backend core asks of its host, and nothing more: send one provider request,
//! read the clock, draw random ids, wait. The native host answers with reqwest and tokio
//! (`native/`), an edge worker with `fetch` and `Date.now()`, tests with whatever they
//! like. The core itself never opens a socket, reads a clock or draws a random number.

use std::future::Future;

use crate::provider::{HttpRequest, HttpResponse, TransportFailure};
use crate::store::{MaybeSend, MaybeSync};

/// Sends provider requests.
pub trait Transport: MaybeSend + MaybeSync {
    /// Sends `request` once, within the host's timeout (a request that outlives it is
    /// `TransportFailure::Timeout`). Never retries: the driver decides what may be repeated.
    fn send(
        &self,
        request: &HttpRequest,
    ) -> impl Future<Output = Result<HttpResponse, TransportFailure>> + MaybeSend;
}

/// The host's clock, randomness and timer.
pub trait Env: MaybeSend + MaybeSync {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> u64;
    /// At least 122 bits from a cryptographically secure generator (session ids and
    /// nonces; a UUID v4 qualifies).
    fn random_u128(&self) -> u128;
    /// Waits `ms` milliseconds (between retries of an idempotent call).
    fn sleep(&self, ms: u64) -> impl Future<Output = ()> + MaybeSend;
}

/// 32 lowercase hex digits of fresh randomness ([`Env::random_u128`]).
pub fn random_hex(env: &impl Env) -> String {
    format!("{:032x}", env.random_u128())
}

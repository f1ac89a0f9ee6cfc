//! Where sessions live between requests. The core only sees [`SessionStore`]; each host
//! brings its own store and keeps it with its other IO: SQLite natively
//! (`backend::native::sqlite`, one file), a Durable Object at the edge
//! (`backend::edge::DurableObjectStore`; not Workers KV, which has no compare-and-set:
//! docs/edge.md). [`memory`] is the one store here: pure, for tests and for hosts that
//! may forget on restart.
//! Every change is a compare-and-set on `Session::version`.
//!
//! Must not: name a host's IO (a database, a runtime, the file system, a clock);
//! `scripts/check-deps.sh` refuses it anywhere in src/store/.

pub mod memory;
pub mod operations;
pub mod outbox;
mod retention;

pub use retention::Retention;

use std::future::Future;

use crate::payment::ProviderKind;
use crate::session::Session;

/// `Send` where the host is multi-threaded (native), nothing in wasm32 (single-threaded).
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSend: Send {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send> MaybeSend for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSend {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSend for T {}

/// `Sync` where the host is multi-threaded (native), nothing in wasm32: an edge worker's
/// store and transport hold JavaScript handles (a Durable Object namespace), which are
/// never shared between threads because there are none.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSync: Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Sync> MaybeSync for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSync {}
#[cfg(target_arch = "wasm32")]
impl<T> MaybeSync for T {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A session with this id, or this provider and order id, exists already.
    #[error("a session for this payment exists already")]
    Duplicate,
    /// The store could not be read or written.
    #[error("session store unavailable: {0}")]
    Unavailable(String),
    /// A stored session could not be read back (schema drift, corruption).
    #[error("stored session unreadable: {0}")]
    Corrupt(String),
    /// The store was written by a newer build (schema `found`, this build knows up to
    /// `supported`); it is left untouched rather than misread.
    #[error("session store schema {found} is newer than this build supports ({supported}); upgrade threeds-bridge")]
    SchemaTooNew { found: u32, supported: u32 },
}

impl StoreError {
    /// A stored record that does not read back (`what`: "body is not a session"), with
    /// serde's kind of error and, for a text that is not JSON, where; never serde's
    /// message, which can quote a stored value (a client secret, a provider's token) into
    /// the log line that reports it.
    pub fn unreadable(what: &str, error: &serde_json::Error) -> StoreError {
        let kind = error.classify();
        StoreError::Corrupt(match error.line() {
            // A value's error from a reader that keeps no position (`json_path`).
            0 => format!("{what} ({kind:?} error)"),
            line => format!(
                "{what} ({kind:?} error at line {line} column {})",
                error.column()
            ),
        })
    }

    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Duplicate => "duplicate_payment",
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::SchemaTooNew { .. } => "store_schema_too_new",
        }
    }
}

/// How long a due session or operation whose stored record cannot be read waits before a
/// sweep looks at it (and reports it) again: each store moves its wake-up this far on.
pub const UNREADABLE_RETRY_MS: u64 = 60 * 60 * 1000;

/// A session id no payment has (ids are 32 hex digits drawn at random): what a
/// readiness read asks for.
pub(crate) const NO_SUCH_SESSION: &str = "00000000000000000000000000000000";

/// Every session store keeps its payments' operations too ([`operations`]).
pub trait SessionStore: operations::OperationStore + MaybeSend + MaybeSync {
    /// Stores a new session; `Duplicate` if its id or (provider, order id) is taken.
    fn create(&self, session: &Session)
        -> impl Future<Output = Result<(), StoreError>> + MaybeSend;

    fn load(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + MaybeSend;

    fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + MaybeSend;

    /// Replaces the stored session with `next` if the stored one still has version
    /// `next.version - 1` and is not final. `Ok(false)`: someone else moved it first, or
    /// it is over; nothing changed.
    fn swap(&self, next: &Session) -> impl Future<Output = Result<bool, StoreError>> + MaybeSend;

    /// [`SessionStore::swap`], and when it changes the session, `events` enqueued in the
    /// webhook outbox in the same write: both or neither ([`outbox`]). A store without an
    /// outbox refuses events (`Unavailable`) rather than drop them.
    fn swap_with_events(
        &self,
        next: &Session,
        events: &[outbox::OutboxEvent],
    ) -> impl Future<Output = Result<bool, StoreError>> + MaybeSend {
        let refused = !events.is_empty();
        async move {
            if refused {
                return Err(outbox::no_outbox());
            }
            self.swap(next).await
        }
    }

    /// Whether this store can serve payments now (`GET /readyz`): by default one cheap
    /// read (a session id no payment has). A store whose writes take another way than
    /// its reads checks that way too.
    fn ready(&self) -> impl Future<Output = Result<(), StoreError>> + MaybeSend {
        async move { self.load(NO_SUCH_SESSION).await.map(|_| ()) }
    }

    /// How many payments and captures, voids or refunds are in doubt (`unknown`: a
    /// money call lost its answer and only a lookup can end it) now; `None` from a store
    /// that does not count them (the edge's, which exports no metrics).
    fn in_doubt(&self) -> impl Future<Output = Result<Option<u64>, StoreError>> + MaybeSend {
        async { Ok(None) }
    }

    /// Up to `limit` unfinished sessions whose `wake_at_ms` is at or before `now_ms`,
    /// soonest first: what the reconciler's sweep must look at.
    fn due(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Session>, StoreError>> + MaybeSend;
}

#[cfg(test)]
mod tests {
    use super::StoreError;
    use crate::session::Session;

    #[test]
    fn an_unreadable_record_is_reported_without_its_values() {
        // A stored session whose provider is no provider's name: serde's message quotes it.
        let body = r#"{"id":"abc","nonce":"n","provider":"leaked-client-secret"}"#;
        let error = Session::from_text(body).unwrap_err();
        assert!(
            error.to_string().contains("leaked-client-secret"),
            "{error}"
        );
        let reported = StoreError::unreadable("stored session", &error).to_string();
        assert!(!reported.contains("leaked"), "{reported}");
        assert!(
            reported.contains("stored session (Data error)"),
            "{reported}"
        );

        // A text that is not JSON: where, which a value's error has not.
        let error = serde_json::from_str::<Session>("{\n \"id\": x}").unwrap_err();
        let reported = StoreError::unreadable("stored session", &error).to_string();
        assert!(
            reported.ends_with("(Syntax error at line 2 column 8)"),
            "{reported}"
        );
    }
}

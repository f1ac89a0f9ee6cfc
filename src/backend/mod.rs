//! The thin merchant backend, framework-free and IO-free: the HTTP API of
//! docs/openapi.yaml as [`Backend::handle`] over plain [`Request`]/[`Response`] values,
//! the driver that carries sessions through their adapter's steps, and the providers
//! registry. The host brings the IO: a [`Transport`] for provider calls, an [`Env`] for
//! the clock, randomness and waiting, and a [`SessionStore`]. `native` (feature
//! `native`) is the axum + reqwest host with its SQLite store (`native/sqlite.rs`) and
//! `listen` its accept loop; `edge` (feature `edge`, wasm32) is the Cloudflare worker host
//! with its Durable Object store (`edge/durable.rs`). docs/architecture.md has the map.
//!
//! Must not: open sockets, read clocks or the environment, spawn tasks, or name a
//! framework type outside the hosts (`native/`, `listen.rs`, `edge/`). docs/backend.md
//! describes the flows and the security model.

mod apart;
mod api;
pub mod auth;
mod cancel;
pub mod config;
#[cfg(feature = "json")]
pub mod config_errors;
pub mod config_urls;
mod create_terms;
mod driver;
pub mod host;
pub mod http;
pub mod observe;
mod operations;
mod pages;
mod payments;
pub mod providers;
pub mod providers_built;
mod reconciler;
mod request_id;
mod returns;
mod routes;
mod views;
pub mod webhooks;

#[cfg(all(feature = "edge", target_arch = "wasm32"))]
pub mod edge;
/// The edge log line's pure parts, tested natively (the edge host is wasm32 only; the
/// tests check timestamps with the native host's `time`).
#[cfg(all(test, feature = "native"))]
#[path = "edge/json_line.rs"]
mod edge_json_line;
#[cfg(feature = "native")]
pub mod listen;
#[cfg(feature = "native")]
pub mod native;

use std::sync::Arc;

pub use api::{ApiError, MerchantView, PaymentView};
pub use config::{BackendConfig, CallPolicy, ProvidersConfig, ReconcilePolicy};
pub use create_terms::{MAX_AMOUNT, MAX_RETURN_URL};
pub use host::{Env, Transport};
pub use http::{Method, Request, Response};
pub use observe::{CallOutcome, Observer, ProviderCall, Unobserved};
pub use operations::{IDEMPOTENCY_KEY_HEADER, MAX_IDEMPOTENCY_KEY};
pub use pages::COMPLETE_JS;
pub use payments::CLIENT_SECRET_HEADER;
pub use providers::{ProviderAdapter, Providers, Registered};
pub use reconciler::Swept;
pub use routes::Trace;

use crate::store::SessionStore;

/// The largest request body the API reads (413 `body_too_large` above).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One backend: configuration, adapters, the store and the host's IO.
pub struct Backend<S, T, E> {
    config: BackendConfig,
    providers: Providers,
    store: Arc<S>,
    transport: T,
    env: E,
    /// Told of payments and provider calls (metrics); [`Unobserved`] unless the host
    /// sets one ([`Backend::observed_by`]).
    observer: Arc<dyn Observer>,
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// A backend with the adapters of `config.providers`.
    pub fn new(config: BackendConfig, store: Arc<S>, transport: T, env: E) -> Backend<S, T, E> {
        let providers = Providers::from_config(&config.providers);
        Backend::with_providers(config, providers, store, transport, env)
    }

    /// A backend with adapters of the caller's choosing (an adapter not yet in
    /// [`Providers::from_config`], or a wrapped one in a test).
    pub fn with_providers(
        config: BackendConfig,
        providers: Providers,
        store: Arc<S>,
        transport: T,
        env: E,
    ) -> Backend<S, T, E> {
        Backend {
            config,
            providers,
            store,
            transport,
            env,
            observer: Arc::new(Unobserved),
        }
    }

    /// This backend, telling `observer` what happens (the native host's metrics).
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Backend<S, T, E> {
        self.observer = observer;
        self
    }

    pub fn config(&self) -> &BackendConfig {
        &self.config
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

//! The native host of the backend core: an axum [`router`] a Rust merchant can mount in
//! their own app, a reqwest [`ReqwestTransport`] with the configured timeouts, the
//! system clock and randomness ([`SystemEnv`]), and the config file of
//! `threeds-bridge serve --config FILE` (JSON or TOML; secrets as `{ env = "NAME" }`),
//! and its session stores: one SQLite file ([`sqlite`]) for one instance, PostgreSQL
//! ([`postgres`]) for several sharing every payment. Owns only IO; every decision is the
//! core's. A file each: the routes (`routes`), serving a listener and `threeds-bridge
//! serve` (`serve`), the reconciler (`reconciler`), the IO the core is given (`io`), the
//! webhooks' delivery (`webhooks`).

mod config;
mod confirm_limit;
mod io;
pub mod logs;
pub mod metrics;
pub mod postgres;
mod postgres_ops;
mod reconciler;
mod routes;
mod serve;
pub mod shutdown;
pub mod sqlite;
mod sqlite_ops;
mod stored;
mod task;
mod webhooks;

pub use config::{ServeConfig, StoreConfig};
pub use confirm_limit::ConfirmRateLimit;
pub use io::{NativeBackend, ReqwestTransport, SystemEnv};
pub use reconciler::{reconcile, spawn_reconciler, Reconciler, SWEEP_BATCH};
pub use routes::{router, router_with, Handling, TaskScope};
pub use serve::{serve, spawn, spawn_with, spawn_with_routes, RunningBackend};
pub use stored::{Purge, Retention};
pub use webhooks::{spawn_webhooks, Webhooks};

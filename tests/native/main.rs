//! The native integration tests, one test binary: the crate is linked once and `support`
//! compiled once, instead of once per file. Each file is a module named as the file was
//! (run one with `cargo test --test native backend_faults::`) and starts with
//! `use crate::support;`, so its paths read `support::…` as when it was a binary of its own.
//!
//! They share one process: the backend's log capture (`support::backend::logs`) holds the
//! log lines of every test of the process, so a test that looks for its own lines filters
//! them by its session or payment id, and a test that asserts a secret never appears
//! asserts it over every test that ran before it.
//!
//! What runs elsewhere: `tests/emv_vectors.rs` (natively and in wasm, `make test-wasm`),
//! `tests/wasm_*.rs` with `tests/wasm_support/` (wasm only), and the `.mjs` suites.

mod support;

mod backend_card_data;
mod backend_faults;
mod backend_faults_dlocal;
mod backend_flows;
mod backend_malformed;
mod backend_openapi;
mod backend_reconcile;
mod backend_reconcile_sweep;
mod backend_safety;
mod backend_serve;
mod backend_trust;
mod backend_whole_page_return;
mod browser_accept;
mod cancel;
mod chaos;
mod cli;
mod confirm_race;
mod confirm_wait;
mod create_terms;
mod demo_shop;
mod edge_store_choice;
mod emv_props;
mod exemption;
mod lifecycle;
mod lifecycle_claims;
mod lifecycle_dlocal;
mod lifecycle_payroc;
mod lifecycle_paysafe;
mod lifecycle_sweep;
mod operations;
mod operations_early;
mod operations_pending;
mod operations_probes;
mod outbox_conformance;
mod provider_bambora;
mod provider_dlocal;
mod provider_dlocal_notify;
mod provider_payroc;
mod provider_paysafe;
mod reconcile_bambora;
mod reconcile_cli;
mod reconcile_dlocal;
mod reconcile_payroc;
mod reconcile_paysafe;
mod return_at_expiry;
mod sandbox_acs;
mod sandbox_bambora;
mod sandbox_control;
mod sandbox_dlocal;
mod sandbox_faults;
mod sandbox_payroc;
mod sandbox_paysafe;
mod sandbox_tokens;
mod store_conformance;
mod store_operations;
mod store_postgres;
mod store_postgres_batch;
mod store_postgres_purge;
mod store_sqlite;
mod store_sqlite_group_commit;
mod store_unreadable;
mod token_no_pan;
mod transport;
mod two_instances;
mod webhooks;

//! The edge host of the backend core: a Cloudflare worker's fetch handler (workerd).
//! `handleFetch(request, env)` turns the web `Request` into the core's plain request,
//! calls [`Backend::handle`](super::Backend::handle) and answers a web `Response`.
//! Provider calls go over the global `fetch`, time and randomness come from the worker
//! (`io.rs`), configuration and secrets from `env` (`config.rs`), and sessions live in a
//! Durable Object ([`DurableObjectStore`], `durable.rs`; docs/edge.md says why not Workers
//! KV).
//!
//! `sweep(env)` is the reconciler's entry: the session object's alarm (`ThreedsSessions`
//! in pkg/edge/sessions.js) calls it when the earliest session is due, and it brings up to
//! date what needs the backend without a request (a payment in doubt to look up, a call a
//! stopped worker left, an expiry), as `threeds-bridge serve`'s reconciler does natively.
//!
//! The one module-level value is the backend itself, built from `env` on an isolate's
//! first request: its adapters cache the Payroc bearer token, which is safe to lose.
//! Everything a payment needs between requests is in the Durable Object.
//! Must not: decide anything about a payment (that is the core's), or keep a session.

mod config;
mod durable;
mod durable_ops;
mod io;
mod json_line;
mod log;
mod web;

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

/// The worker's allocator: talc, not std's dlmalloc (1.6 KB gzip smaller; a payment's CPU
/// measured the same with either: docs/edge/measurements.md). A worker's isolate runs one
/// thread, so the single-threaded form; its heap grows with `memory.grow`.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use config::{CONFIG_VAR, SESSIONS_BINDING};
pub use durable::DurableObjectStore;
pub use io::{FetchTransport, WorkerEnv};

use super::api::ApiError;
use super::Backend;

/// The name of the one Durable Object that holds every session (docs/edge.md, limits).
pub const SESSIONS_OBJECT: &str = "sessions";

pub type EdgeBackend = Backend<DurableObjectStore, FetchTransport, WorkerEnv>;

thread_local! {
    /// The isolate's backend: configuration and adapters (with their token caches).
    static BACKEND: RefCell<Option<Rc<EdgeBackend>>> = const { RefCell::new(None) };
}

/// The worker's fetch handler (`createHandler()` in `threeds-bridge/edge` calls it).
#[wasm_bindgen(js_name = handleFetch)]
pub async fn handle_fetch(
    request: web_sys::Request,
    env: JsValue,
) -> Result<web_sys::Response, JsValue> {
    let backend = match backend(&env) {
        Ok(backend) => backend,
        Err(problem) => {
            log::console_error(&format!("threeds-bridge edge: {problem}"));
            let error = ApiError::new(
                500,
                "edge_misconfigured",
                "the payment backend is not configured; see the worker's log",
            );
            return web::response(error.response().with_header("Cache-Control", "no-store"));
        }
    };
    let plain = web::request(&request).await?;
    web::response(backend.handle(plain).await)
}

/// Builds the isolate's backend before its first request: `createHandler()` calls it when the
/// worker's module is loaded, with the `env` of `cloudflare:workers`, so the configuration is
/// parsed (and the code doing it compiled) while the isolate starts, not while a request waits
/// (docs/edge/measurements.md, "Cold start"). A configuration that does not build is left to
/// the first request, which answers `edge_misconfigured` and logs why.
///
/// Then it warms the request path up: V8 compiles each wasm function on its first call, and an
/// isolate's first request used to compile some 400 of them (the request span, the route, the
/// access line, the key check, the answer; docs/edge/measurements.md, "Cold start").
/// [`warm_up`] sends two requests that need no IO through the backend, unlogged, and awaits one
/// promise in a spawned task, so that the first real request finds those compiled (about 50
/// functions are left to it: the ones that need IO).
#[wasm_bindgen]
pub fn prepare(env: JsValue) {
    if let Ok(backend) = backend(&env) {
        warm_up(&backend);
    }
}

/// What [`warm_up`] sends: paths that touch no store and no provider, each with a request
/// id of its own (the global scope may not draw random numbers): the probe, and a read
/// with a key no backend has (refused with 401 before any store call; merchant keys are at
/// least 16 characters).
const WARM_UP: [(&str, Option<&str>); 2] = [
    ("/healthz", None),
    (
        "/v1/payments/00000000000000000000000000000000",
        Some("Bearer warm-up"),
    ),
];

/// Each [`WARM_UP`] request through the web conversions and `backend`, its log lines
/// formatted but not written, its answer dropped.
fn warm_up(backend: &EdgeBackend) {
    log::quietly(|| {
        for (path, authorization) in WARM_UP {
            let _ = warm_up_one(backend, path, authorization);
        }
    });
    // The await of a JavaScript promise from a spawned task, as every request's store
    // call does: wasm-bindgen's task queue and its promise glue, compiled now too (the
    // task runs in a microtask before the module has finished loading).
    wasm_bindgen_futures::spawn_local(async {
        let _ = JsFuture::from(js_sys::Promise::resolve(&JsValue::UNDEFINED)).await;
    });
}

/// One warm-up request. Nothing in it waits, so each future is done in one poll; one that
/// were not would be dropped unfinished, which only leaves less compiled.
fn warm_up_one(
    backend: &EdgeBackend,
    path: &str,
    authorization: Option<&str>,
) -> Result<(), JsValue> {
    let mut context = Context::from_waker(Waker::noop());
    let web_request = web_sys::Request::new_with_str(&format!("https://warm-up.invalid{path}"))?;
    let Poll::Ready(plain) = pin!(web::request(&web_request)).poll(&mut context) else {
        return Ok(());
    };
    let mut plain = plain?;
    plain
        .headers
        .push(("x-request-id".into(), "warm-up".into()));
    if let Some(authorization) = authorization {
        plain
            .headers
            .push(("authorization".into(), authorization.into()));
    }
    if let Poll::Ready(answer) = pin!(backend.handle(plain)).poll(&mut context) {
        web::response(answer)?;
    }
    Ok(())
}

/// How many due sessions one alarm sweeps: each may make a few provider calls, and an
/// invocation's subrequests are limited. The object sets its next alarm at once while more
/// are due.
const SWEEP_BATCH: usize = 25;

/// The session object's alarm: one sweep of the sessions that are due. Answers
/// `{lookedAt, settled, inDoubt}`; rejects (and logs why) when the backend is not
/// configured or the store fails, and the object tries again later.
#[wasm_bindgen]
pub async fn sweep(env: JsValue) -> Result<JsValue, JsValue> {
    let backend = backend(&env).map_err(|problem| {
        log::console_error(&format!("threeds-bridge edge: {problem}"));
        JsValue::from_str(&problem)
    })?;
    let swept = backend.sweep(SWEEP_BATCH).await.map_err(|error| {
        let problem = format!("threeds-bridge edge: the sweep stopped: {error}");
        log::console_error(&problem);
        JsValue::from_str(&problem)
    })?;
    if swept.looked_at > 0 {
        tracing::info!(
            looked_at = swept.looked_at,
            settled = swept.settled,
            in_doubt = swept.in_doubt,
            "reconciler swept the sessions that were due"
        );
    }
    let answer = js_sys::Object::new();
    for (name, count) in [
        ("lookedAt", swept.looked_at),
        ("settled", swept.settled),
        ("inDoubt", swept.in_doubt),
    ] {
        js_sys::Reflect::set(&answer, &name.into(), &(count as f64).into())?;
    }
    Ok(answer.into())
}

/// The session object's alarm, when a webhook delivery is due: one delivery round (docs/
/// backend/webhooks.md), which starts no POST at or after `stop_at_ms` (the alarm's budget
/// for deliveries: its claimed rows left are sent once their lease ends). Answers how many
/// rows it attempted (0: nothing was due).
#[wasm_bindgen(js_name = deliverWebhooks)]
pub async fn deliver_webhooks(env: JsValue, stop_at_ms: f64) -> Result<JsValue, JsValue> {
    let backend = backend(&env).map_err(|problem| {
        log::console_error(&format!("threeds-bridge edge: {problem}"));
        JsValue::from_str(&problem)
    })?;
    let round = backend
        .deliver_webhooks_until(|| js_sys::Date::now() >= stop_at_ms)
        .await
        .map_err(|error| {
            let problem = format!("threeds-bridge edge: webhook delivery stopped: {error}");
            log::console_error(&problem);
            JsValue::from_str(&problem)
        })?;
    Ok(JsValue::from_f64(round.attempted() as f64))
}

/// The isolate's backend, built from `env` the first time. A configuration that does not
/// build is not kept: the next request tries again (after `wrangler secret put`, say).
fn backend(env: &JsValue) -> Result<Rc<EdgeBackend>, String> {
    if let Some(built) = BACKEND.with(|b| b.borrow().clone()) {
        return Ok(built);
    }
    log::install();
    let config = config::from_env(env)?;
    let namespace = config::binding(env, SESSIONS_BINDING).ok_or(format!(
        "the Durable Object binding {SESSIONS_BINDING} is missing"
    ))?;
    let store = DurableObjectStore::new(namespace, SESSIONS_OBJECT)?;
    let transport = FetchTransport {
        timeout_ms: u32::try_from(config.calls.timeout_ms).unwrap_or(u32::MAX),
    };
    // One thread in a worker: the Arc is never shared across threads.
    #[allow(clippy::arc_with_non_send_sync)]
    let store = Arc::new(store);
    let built = Rc::new(Backend::new(config, store, transport, WorkerEnv::new()?));
    BACKEND.with(|b| *b.borrow_mut() = Some(built.clone()));
    Ok(built)
}

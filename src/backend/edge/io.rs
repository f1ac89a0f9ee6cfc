//! The worker's IO for the core: provider calls over the global `fetch` (gloo-net), the
//! clock (`Date.now()`), randomness (`crypto.getRandomValues`) and waiting (`setTimeout`).
//! Owns only the conversions; every decision (what to send, what to repeat) is the core's.

use gloo_net::http::{Method, RequestBuilder};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestRedirect};

use super::web::read_up_to;
use crate::backend::host::{Env, Transport};
use crate::provider::{
    answer_text, HttpMethod, HttpRequest, HttpResponse, TransportFailure, MAX_ANSWER_BYTES,
};

/// Provider calls over the worker's `fetch`: one timeout per attempt (an `AbortSignal`),
/// redirects not followed (a provider answering with one gets it back as it is).
#[derive(Debug, Clone, Copy)]
pub struct FetchTransport {
    pub timeout_ms: u32,
}

impl Transport for FetchTransport {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let signal = AbortSignal::timeout_with_u32(self.timeout_ms);
        let mut builder = RequestBuilder::new(&request.url)
            .method(match request.method {
                HttpMethod::Get => Method::GET,
                HttpMethod::Post => Method::POST,
            })
            .redirect(RequestRedirect::Manual)
            .abort_signal(Some(&signal));
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let prepared = match &request.body {
            Some(body) => builder.body(body.as_str()),
            None => builder.build(),
        }
        .map_err(|_| TransportFailure::Connection("request not built".to_owned()))?;
        let response = prepared.send().await.map_err(failure)?;
        let status = response.status();
        let headers = response.headers().entries().collect();
        // At most MAX_ANSWER_BYTES of the body: the wasm's memory never gives back what an
        // answer made it grow by.
        let body = read_up_to(response.body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|error| {
                let name = Reflect::get(&error, &"name".into()).ok();
                by_name(&name.and_then(|n| n.as_string()).unwrap_or_default())
            })?;
        Ok(HttpResponse {
            status,
            headers,
            body: answer_text(&body),
        })
    }
}

/// A fetch that failed: `TimeoutError` (our signal fired) is a timeout, anything else a
/// broken connection. Never the error's text: it may carry the URL's query.
fn failure(error: gloo_net::Error) -> TransportFailure {
    match &error {
        gloo_net::Error::JsError(js) => by_name(&js.name),
        _ => by_name(""),
    }
}

/// A fetch, or the reading of its answer, that failed with the error named `name`.
fn by_name(name: &str) -> TransportFailure {
    if name == "TimeoutError" || name == "AbortError" {
        TransportFailure::Timeout
    } else {
        TransportFailure::Connection("fetch failed".to_owned())
    }
}

/// The worker's clock, randomness and timer, looked up on the global scope once.
#[derive(Debug, Clone)]
pub struct WorkerEnv {
    crypto: JsValue,
    get_random_values: Function,
    set_timeout: Function,
}

impl WorkerEnv {
    /// Refuses a global scope without `crypto.getRandomValues` or `setTimeout`, so that
    /// session ids are never drawn from anything weaker.
    pub fn new() -> Result<WorkerEnv, String> {
        let global = js_sys::global();
        let crypto = Reflect::get(&global, &"crypto".into())
            .ok()
            .filter(|c| c.is_object())
            .ok_or("the worker has no crypto")?;
        let get_random_values = function(&crypto, "getRandomValues")
            .ok_or("the worker has no crypto.getRandomValues")?;
        let set_timeout = function(&global, "setTimeout").ok_or("the worker has no setTimeout")?;
        Ok(WorkerEnv {
            crypto,
            get_random_values,
            set_timeout,
        })
    }
}

fn function(target: &JsValue, name: &str) -> Option<Function> {
    Reflect::get(target, &name.into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
}

impl Env for WorkerEnv {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    fn random_u128(&self) -> u128 {
        let bytes = Uint8Array::new_with_length(16);
        // Cannot fail for 16 bytes of a Uint8Array (it throws only above 65536 bytes or
        // for float arrays), and `new` checked the function exists.
        self.get_random_values
            .call1(&self.crypto, &bytes)
            .expect("crypto.getRandomValues fills 16 bytes");
        let mut buffer = [0u8; 16];
        bytes.copy_to(&mut buffer);
        u128::from_le_bytes(buffer)
    }

    async fn sleep(&self, ms: u64) {
        let set_timeout = self.set_timeout.clone();
        let delay = JsValue::from_f64(ms.min(60_000) as f64);
        let promise = Promise::new(&mut |resolve, _reject| {
            let _ = set_timeout.call2(&JsValue::NULL, &resolve, &delay);
        });
        let _ = JsFuture::from(promise).await;
    }
}

//! The worker's IO for the core: provider calls over the global `fetch`, the
//! clock (`Date.now()`), randomness (`crypto.getRandomValues`) and waiting (`setTimeout`).
//! Owns only the conversions; every decision (what to send, what to repeat) is the core's.

use gloo_net::http::Headers;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, RequestInit, RequestRedirect, Response};

use super::web::{header, read_up_to, read_whole};
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

#[wasm_bindgen]
extern "C" {
    /// The worker's global `fetch`, given the URL and an init dictionary: no `Request` or
    /// `Headers` object is built for a call, as a plain-JavaScript worker builds none.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_with_init(url: &str, init: &RequestInit) -> Result<Promise, JsValue>;
}

impl Transport for FetchTransport {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let init = RequestInit::new();
        init.set_method(match request.method {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        });
        init.set_redirect(RequestRedirect::Manual);
        init.set_signal(Some(&AbortSignal::timeout_with_u32(self.timeout_ms)));
        let headers = Object::new();
        for (name, value) in &request.headers {
            // Cannot fail: a plain object's own property set with a string key. A name given
            // twice would keep its last value; no adapter sends one twice.
            let _ = Reflect::set(&headers, &name.into(), &value.into());
        }
        init.set_headers(&headers);
        if let Some(body) = &request.body {
            init.set_body(&body.into());
        }
        let response: Response =
            JsFuture::from(fetch_with_init(&request.url, &init).map_err(failure)?)
                .await
                .map_err(failure)?
                .unchecked_into();
        let headers: Vec<(String, String)> =
            Headers::from_raw(response.headers()).entries().collect();
        // At most MAX_ANSWER_BYTES of the body: the wasm's memory never gives back what an
        // answer made it grow by. One of declared length within it, and not encoded (fetch
        // decodes an encoded body, and a small gzip answer can unpack to gigabytes), is read
        // in one call, as its framing bounds it; any other chunk by chunk up to the limit.
        let declared = header(&headers, "content-length")
            .and_then(|length| length.trim().parse::<usize>().ok())
            .filter(|length| *length <= MAX_ANSWER_BYTES);
        let body = match declared {
            Some(_) if header(&headers, "content-encoding").is_none() => {
                read_whole(response.array_buffer(), MAX_ANSWER_BYTES).await
            }
            _ => read_up_to(response.body(), MAX_ANSWER_BYTES).await,
        }
        .map_err(failure)?;
        Ok(HttpResponse {
            status: response.status(),
            headers,
            body: answer_text(&body),
        })
    }
}

/// A fetch, or the reading of its answer, that failed: `TimeoutError` (our signal fired)
/// is a timeout, anything else a broken connection. Never the error's text: it may carry
/// the URL's query.
fn failure(error: JsValue) -> TransportFailure {
    let name = Reflect::get(&error, &"name".into()).ok();
    by_name(&name.and_then(|n| n.as_string()).unwrap_or_default())
}

/// A failure named `name`.
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

//! The worker's configuration, from its `env`: the core's [`BackendConfig`] as one JSON
//! variable, `THREEDS_BRIDGE_CONFIG` (an object in wrangler.toml's `[vars]`, or its JSON
//! text), in the shape of the native config file (`public_url`, `checkout_origins`,
//! `session_ttl_seconds`, `calls`, `providers`). A value written `{ "env": "NAME" }` is
//! read from the worker's binding NAME: the secrets `wrangler secret put NAME` stores,
//! under the same names the native config reads from its environment
//! (`PAYROC_API_KEY`, `DLOCAL_TRANS_KEY`, `MERCHANT_API_KEY`, …). Errors are the native
//! config's (`config_errors`): the key's full path, a suggestion for a misspelt key or
//! value, never a value (one resolved from a secret would be a secret).

use js_sys::Reflect;
use serde_json::Value;
use wasm_bindgen::JsValue;

use crate::backend::config::BackendConfig;
use crate::backend::config_errors::{json_value, resolve_refs, JsonRefused};

/// The variable holding the configuration.
pub const CONFIG_VAR: &str = "THREEDS_BRIDGE_CONFIG";
/// The Durable Object namespace binding holding the sessions.
pub const SESSIONS_BINDING: &str = "THREEDS_SESSIONS";

/// Reads and checks the configuration in `env`.
pub fn from_env(env: &JsValue) -> Result<BackendConfig, String> {
    let raw = binding(env, CONFIG_VAR).ok_or(format!("{CONFIG_VAR} is not set"))?;
    // An object (wrangler.toml's [vars]) goes straight into serde through serde-wasm-bindgen,
    // one of the project's mandated crates. Reading it as one JSON.stringify text instead was
    // measured at 0.2 ms and 2.6 KB less (docs/edge/measurements.md, "Cold start"), and was not
    // kept for that.
    let mut value: Value = match raw.as_string() {
        Some(text) => json_value(&text).map_err(|refused| match refused {
            JsonRefused::NotJson(e) => format!("{CONFIG_VAR} is not JSON: {e}"),
            JsonRefused::KeyTwice(message) => format!("{CONFIG_VAR}: {message}"),
        })?,
        None => serde_wasm_bindgen::from_value(raw)
            .map_err(|_| format!("{CONFIG_VAR} is neither JSON text nor an object"))?,
    };
    // A provider this build lacks is named before its secrets are looked up: a worker
    // built without it was likely never given them either.
    crate::backend::providers_built::check_sections(&value)
        .map_err(|refused| format!("{CONFIG_VAR}: {refused}"))?;
    let secret = |name: &str| binding(env, name).and_then(|v| v.as_string());
    resolve_refs(&mut value, &secret, "the secret", "")
        .map_err(|message| format!("{CONFIG_VAR}: {message}"))?;
    let config: BackendConfig = crate::backend::config_errors::parse(value)
        .map_err(|message| format!("{CONFIG_VAR}: {message}"))?;
    config
        .validate()
        .map_err(|message| format!("{CONFIG_VAR}: {message}"))?;
    Ok(config)
}

/// `env[name]`, when it is set.
pub fn binding(env: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(env, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

//! The worker's configuration, from its `env`: the core's [`BackendConfig`] as one JSON
//! variable, `THREEDS_BRIDGE_CONFIG` (an object in wrangler.toml's `[vars]`, or its JSON
//! text), in the shape of the native config file (`public_url`, `checkout_origins`,
//! `session_ttl_seconds`, `calls`, `providers`). A value written `{ "env": "NAME" }` is
//! read from the worker's binding NAME: the secrets `wrangler secret put NAME` stores,
//! under the same names the native config reads from its environment
//! (`PAYROC_API_KEY`, `DLOCAL_TRANS_KEY`, …). Errors name a variable, never a value.

use js_sys::Reflect;
use serde_json::Value;
use wasm_bindgen::JsValue;

use crate::backend::config::BackendConfig;

/// The variable holding the configuration.
pub const CONFIG_VAR: &str = "THREEDS_BRIDGE_CONFIG";
/// The Durable Object namespace binding holding the sessions.
pub const SESSIONS_BINDING: &str = "THREEDS_SESSIONS";

/// Reads and checks the configuration in `env`.
pub fn from_env(env: &JsValue) -> Result<BackendConfig, String> {
    let raw = binding(env, CONFIG_VAR).ok_or(format!("{CONFIG_VAR} is not set"))?;
    let mut value: Value = match raw.as_string() {
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| format!("{CONFIG_VAR} is not JSON: {e}"))?
        }
        None => serde_wasm_bindgen::from_value(raw)
            .map_err(|_| format!("{CONFIG_VAR} is neither JSON text nor an object"))?,
    };
    resolve_secrets(&mut value, env, CONFIG_VAR)?;
    let config: BackendConfig = serde_json::from_value(value).map_err(|e| {
        format!(
            "{CONFIG_VAR}: {}",
            crate::backend::api::safe_message(&e.to_string())
        )
    })?;
    config.validate()?;
    Ok(config)
}

/// `env[name]`, when it is set.
pub fn binding(env: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(env, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Replaces every `{"env": "NAME"}` with the text of binding NAME.
fn resolve_secrets(value: &mut Value, env: &JsValue, at: &str) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::String(name))) = (map.len(), map.get("env")) {
                let secret = binding(env, name)
                    .and_then(|v| v.as_string())
                    .ok_or_else(|| format!("{at}: the secret {name} is not set"))?;
                *value = Value::String(secret);
                return Ok(());
            }
            for (key, inner) in map.iter_mut() {
                resolve_secrets(inner, env, &format!("{at}.{key}"))?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, inner)| resolve_secrets(inner, env, &format!("{at}[{i}]"))),
        _ => Ok(()),
    }
}

//! The worker's configuration, from its `env`: the core's [`BackendConfig`] as one JSON
//! variable, `THREEDS_BRIDGE_CONFIG` (an object in wrangler.toml's `[vars]`, or its JSON
//! text), in the shape of the native config file (`public_url`, `checkout_origins`,
//! `session_ttl_seconds`, `calls`, `providers`). A value written `{ "env": "NAME" }` is
//! read from the worker's binding NAME: the secrets `wrangler secret put NAME` stores,
//! under the same names the native config reads from its environment
//! (`PAYROC_API_KEY`, `DLOCAL_TRANS_KEY`, `MERCHANT_API_KEY`, …). Errors name a variable,
//! never a value: a secret that serde would quote (a value of the wrong type) is shown
//! by its name and place.

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
    let mut secrets = Vec::new();
    resolve_secrets(&mut value, env, CONFIG_VAR, &mut secrets)?;
    let config: BackendConfig = serde_json::from_value(value).map_err(|e| {
        let message = crate::backend::api::safe_message(&e.to_string());
        format!("{CONFIG_VAR}: {}", without_secrets(message, &secrets))
    })?;
    config.validate()?;
    Ok(config)
}

/// A secret read from a binding: its name, where the configuration asked for it, its value.
struct Resolved {
    name: String,
    at: String,
    value: String,
}

/// serde's message with every resolved secret's value replaced by its name and place.
/// serde quotes a value of the wrong type (`invalid type: string "…", expected a
/// sequence`: a key list written without its brackets), so its message can hold a secret.
fn without_secrets(mut message: String, secrets: &[Resolved]) -> String {
    for secret in secrets.iter().filter(|s| !s.value.is_empty()) {
        let named = format!("[the secret {}, at {}]", secret.name, secret.at);
        // Quoted as serde quotes (`{:?}`) first, then bare (`unknown variant `…``).
        message = message
            .replace(&format!("{:?}", secret.value), &named)
            .replace(&secret.value, &named);
    }
    message
}

/// `env[name]`, when it is set.
pub fn binding(env: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(env, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Replaces every `{"env": "NAME"}` with the text of binding NAME, noting each in `resolved`.
fn resolve_secrets(
    value: &mut Value,
    env: &JsValue,
    at: &str,
    resolved: &mut Vec<Resolved>,
) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::String(name))) = (map.len(), map.get("env")) {
                let secret = binding(env, name)
                    .and_then(|v| v.as_string())
                    .ok_or_else(|| format!("{at}: the secret {name} is not set"))?;
                resolved.push(Resolved {
                    name: name.clone(),
                    at: at.to_owned(),
                    value: secret.clone(),
                });
                *value = Value::String(secret);
                return Ok(());
            }
            for (key, inner) in map.iter_mut() {
                resolve_secrets(inner, env, &format!("{at}.{key}"), resolved)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().enumerate().try_for_each(|(i, inner)| {
            resolve_secrets(inner, env, &format!("{at}[{i}]"), resolved)
        }),
        _ => Ok(()),
    }
}

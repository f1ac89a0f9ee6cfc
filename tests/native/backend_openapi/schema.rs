//! The schema checker the route test uses: docs/openapi.yaml read, `$ref`s resolved, a
//! JSON body validated against a small JSON Schema subset (see the parent module), and
//! each answer's path, method, status, `Cache-Control` and content type looked up.

use std::collections::BTreeSet;

use serde_json::Value;

pub(super) fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml"))
        .expect("docs/openapi.yaml");
    serde_yaml::from_str(&text).expect("valid YAML")
}

fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = root
                .pointer(reference.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("dangling $ref {reference}"));
            resolve(root, target)
        }
        None => node,
    }
}

fn type_matches(name: &str, value: &Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    }
}

/// Validates `value` against `schema`; the error names the JSON path.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let schema = resolve(root, schema);
    let fail = |why: String| Err(format!("{at}: {why} (value {value})"));
    if let Some(constant) = schema.get("const") {
        if constant != value {
            return fail(format!("not the constant {constant}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return fail(format!("not one of {options:?}"));
        }
    }
    if let Some(kind) = schema.get("type") {
        let ok = match kind {
            Value::String(name) => type_matches(name, value),
            Value::Array(names) => names
                .iter()
                .filter_map(Value::as_str)
                .any(|n| type_matches(n, value)),
            _ => false,
        };
        if !ok {
            return fail(format!("not of type {kind}"));
        }
    }
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let passing = options
            .iter()
            .filter(|o| validate(root, o, value, at).is_ok())
            .count();
        if passing != 1 {
            return fail(format!("{passing} of the oneOf alternatives match"));
        }
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
        if !options.iter().any(|o| validate(root, o, value, at).is_ok()) {
            return fail("no anyOf alternative matches".into());
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            return fail(format!("below {min}"));
        }
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n > max {
            return fail(format!("above {max}"));
        }
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| chars < m)
            || schema
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|m| chars > m)
        {
            return fail("length out of bounds".into());
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return fail(format!("missing required {name}"));
            }
        }
        for (name, inner) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(property) => validate(root, property, inner, &format!("{at}.{name}"))?,
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => {
                        return fail(format!("undocumented property {name}"))
                    }
                    Some(extra @ Value::Object(_)) => {
                        validate(root, extra, inner, &format!("{at}.{name}"))?
                    }
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(root, items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Calls made, answers checked against the spec.
pub(super) struct Checker {
    pub(super) spec: Value,
    /// Each (path template, method, status) answered so far.
    pub(super) seen: BTreeSet<(String, String, u16)>,
}

impl Checker {
    pub(super) fn new() -> Checker {
        Checker {
            spec: spec(),
            seen: BTreeSet::new(),
        }
    }

    /// Checks one answer of `method` on the documented `template` path.
    pub(super) async fn check(
        &mut self,
        template: &str,
        method: &str,
        response: reqwest::Response,
    ) -> (u16, Value) {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let documented =
            self.spec["paths"][template][method]["responses"][status.to_string()].clone();
        assert!(
            !documented.is_null(),
            "{method} {template} answered {status}, undocumented: {text}"
        );
        assert_eq!(
            headers.get("cache-control").map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{method} {template}"
        );
        let documented = resolve(&self.spec, &documented).clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.split(';').next().unwrap_or_default().trim().to_owned());
        let body = match (&documented.get("content"), content_type) {
            (Some(content), Some(ctype)) => {
                let media = &content[&ctype];
                assert!(
                    !media.is_null(),
                    "{method} {template} {status}: {ctype} is not documented"
                );
                if ctype == "application/json" {
                    let body: Value = serde_json::from_str(&text).expect("JSON body");
                    validate(&self.spec, &media["schema"], &body, "$")
                        .unwrap_or_else(|e| panic!("{method} {template} {status}: {e}"));
                    body
                } else {
                    Value::String(text)
                }
            }
            (None, _) => {
                if documented
                    .get("headers")
                    .and_then(|h| h.get("Location"))
                    .is_some()
                {
                    assert!(
                        headers.get("location").is_some(),
                        "{method} {template} {status}: Location"
                    );
                }
                Value::Null
            }
            (Some(_), None) => panic!("{method} {template} {status}: no content type"),
        };
        self.seen
            .insert((template.to_owned(), method.to_owned(), status));
        (status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The checker itself refuses what the spec does not allow.
    #[test]
    fn the_schema_check_can_fail() {
        let spec = spec();
        let view = &spec["components"]["schemas"]["PaymentView"];
        let good = json!({"id": "0".repeat(32), "nonce": "1".repeat(32), "provider": "dlocal", "orderId": "o",
            "amount": 1, "currency": "USD", "status": "requires_action", "state": "pending", "next": {"type": "none"}, "result": null});
        validate(&spec, view, &good, "$").expect("a valid view");
        let mut extra = good.clone();
        extra["secret"] = json!("x");
        assert!(validate(&spec, view, &extra, "$").is_err());
        let mut state = good.clone();
        state["state"] = json!("done");
        assert!(validate(&spec, view, &state, "$").is_err());
        let mut next = good.clone();
        next["next"] =
            json!({"type": "challenge", "form": {"action": "a", "method": "POST", "fields": []}});
        assert!(validate(&spec, view, &next, "$")
            .unwrap_err()
            .contains("oneOf"));
        let mut result = good.clone();
        result["result"] = json!({"status": "authorized"});
        assert!(validate(&spec, view, &result, "$").is_err());
        let mut unknown = good.clone();
        unknown["status"] = json!("unknown");
        validate(&spec, view, &unknown, "$").expect("a payment in doubt");
        let mut invented = good;
        invented["status"] = json!("maybe");
        assert!(validate(&spec, view, &invented, "$").is_err());
    }
}

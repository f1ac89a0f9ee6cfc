//! A configuration value read into its structs with errors an operator can act on: the
//! full path of the key (`providers.paysafe.api_user`) for a missing key, a wrong type
//! and an unknown key, and for a misspelt key or value the nearest one expected ("did you
//! mean `api_user`?"). A key given twice in a JSON text is refused before it becomes a
//! value ([`json_value`]). Never a value: one resolved from the environment may be a secret.

use crate::json_path::{self, NotRead, Segment};

/// A configuration's JSON text as a value. A key given twice in one object is refused,
/// named by its path (`providers.paysafe.account_id: given twice (line 7)`): a
/// `serde_json::Value` would keep the second silently, and a merchant account, a provider
/// URL or a key list written twice would then be whichever came last.
pub fn json_value(text: &str) -> Result<serde_json::Value, JsonRefused> {
    json_path::value(text).map_err(|e| match e {
        NotRead::NotJson(e) => JsonRefused::NotJson(e),
        NotRead::KeyTwice { path, line } => JsonRefused::KeyTwice(format!(
            "{}: given twice (line {line})",
            joined(&key_path(&path))
        )),
    })
}

/// Why [`json_value`] refused a text.
#[derive(Debug)]
pub enum JsonRefused {
    NotJson(serde_json::Error),
    /// `path: given twice (line N)`.
    KeyTwice(String),
}

impl std::fmt::Display for JsonRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonRefused::NotJson(e) => write!(f, "not valid JSON: {e}"),
            JsonRefused::KeyTwice(message) => f.write_str(message),
        }
    }
}

/// Reads `value` into `T`; `Err` is one line: `path: what is wrong`.
pub fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    json_path::typed(&value).map_err(|e| message(&e.path, &e.error.to_string()))
}

/// `path: what is wrong`, from serde's message `text` about the value at `path`.
/// Replaces every `{"env": "NAME"}` in a config value with `lookup(NAME)`. A name it cannot
/// find is an error naming the key path (`providers.paysafe.api_password`) and `what` the
/// name is (`environment variable`, `the secret`), never a value. Both hosts read their
/// secrets this way: the native one from its environment, the edge from its bindings.
pub fn resolve_refs(
    value: &mut serde_json::Value,
    lookup: &dyn Fn(&str) -> Option<String>,
    what: &str,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let (1, Some(Value::String(name))) = (map.len(), map.get("env")) {
                // A variable set to nothing is a secret forgotten, not an empty password.
                let found = match lookup(name) {
                    Some(found) if !found.is_empty() => found,
                    Some(_) => return Err(format!("{at}: {what} {name} is empty")),
                    None => return Err(format!("{at}: {what} {name} is not set")),
                };
                *value = Value::String(found);
                return Ok(());
            }
            for (key, inner) in map.iter_mut() {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                resolve_refs(inner, lookup, what, &path)?;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .enumerate()
            .try_for_each(|(i, inner)| resolve_refs(inner, lookup, what, &format!("{at}[{i}]"))),
        _ => Ok(()),
    }
}

fn message(path: &[Segment], text: &str) -> String {
    let text = text.split(" at line ").next().unwrap_or_default();
    let mut keys = key_path(path);
    let expected = expected_names(text);
    if let Some(field) = quoted_after(text, "unknown field ") {
        // An internally tagged section (`store`) stops its path before the key.
        let shown = shown_key(field);
        if keys.last() != Some(&shown) {
            keys.push(shown);
        }
        return format!(
            "{}: unknown key{}{}",
            joined(&keys),
            suggestion(field, &expected),
            listed(&expected)
        );
    }
    if let Some(field) = quoted_after(text, "missing field ") {
        keys.push(shown_key(field));
        return format!("{}: missing (this key is required)", joined(&keys));
    }
    if let Some(variant) = quoted_after(text, "unknown variant ") {
        return format!(
            "{}: unknown value{}{}",
            joined(&keys),
            suggestion(variant, &expected),
            listed(&expected)
        );
    }
    if let Some(found) = text.strip_prefix("invalid type: ") {
        // `string "…"`, `integer `5``: the kind, never the value.
        let kind = given_kind(found.split([' ', ',']).next().unwrap_or_default());
        return format!(
            "{}: wrong type ({kind}){}",
            joined(&keys),
            expectation(text)
        );
    }
    format!("{}: invalid value{}", joined(&keys), expectation(text))
}

/// The keys and list indexes leading to the value, `[key]` for a key that is not a plain
/// identifier (it is shown, so it must not be able to carry a card number or a secret).
fn key_path(path: &[Segment]) -> Vec<String> {
    path.iter()
        .map(|segment| match segment {
            Segment::Member(key) => shown_key(key),
            Segment::Index(index) => format!("[{index}]"),
        })
        .collect()
}

fn shown_key(key: &str) -> String {
    let plain = key.len() <= 40
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && key.bytes().filter(u8::is_ascii_digit).count() < 6;
    if plain {
        key.to_owned()
    } else {
        "[key]".to_owned()
    }
}

/// `providers.paysafe[0].url`; the top level is "the config".
fn joined(keys: &[String]) -> String {
    if keys.is_empty() {
        return "the config".to_owned();
    }
    let mut out = String::new();
    for key in keys {
        if !out.is_empty() && !key.starts_with('[') {
            out.push('.');
        }
        out.push_str(key);
    }
    out
}

/// The name in backquotes right after `prefix`, when `text` starts with it.
fn quoted_after<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let rest = text.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

/// The names serde lists after `expected` (`expected one of `a`, `b``): after its last
/// `expected `, since the value before it may say "expected " too.
fn expected_names(text: &str) -> Vec<&str> {
    let Some(list) = json_path::after_last(text, "expected ") else {
        return Vec::new();
    };
    list.split('`').skip(1).step_by(2).collect()
}

/// `, expected a non-negative integer`: serde's expectation, in the config's words rather
/// than Rust's (`u64`, `struct CallsConfig`). It comes last; what comes before may quote
/// the value (`invalid type: string "…"`), which may say ", expected " too.
fn expectation(text: &str) -> String {
    let Some(expected) = json_path::after_last(text, ", expected ") else {
        return String::new();
    };
    match json_path::json_kind(&expected.replace('`', "")) {
        "an object" => ", expected an object (a table in TOML)".to_owned(),
        kind => format!(", expected {kind}"),
    }
}

/// The kind of value serde found (`sequence`, `map`, `unit`), as JSON and TOML name it.
fn given_kind(serde_kind: &str) -> &str {
    match serde_kind {
        "sequence" => "array",
        "map" => "object",
        "unit" => "null",
        "floating" => "number",
        other => other,
    }
}

/// ` (expected one of: a, b)`.
fn listed(expected: &[&str]) -> String {
    match expected {
        [] => " (this section takes no keys)".to_owned(),
        names => format!(" (expected one of: {})", names.join(", ")),
    }
}

/// `; did you mean `api_user`?` when one expected name is close to `given`.
fn suggestion(given: &str, expected: &[&str]) -> String {
    match closest(given, expected) {
        Some(name) => format!("; did you mean `{name}`?"),
        None => String::new(),
    }
}

/// The expected name nearest to `given` (case aside), if it is near enough to be a typo:
/// at most a third of its letters wrong, and never fewer than one.
pub fn closest<'e>(given: &str, expected: &[&'e str]) -> Option<&'e str> {
    let given = given.to_ascii_lowercase();
    expected
        .iter()
        .map(|name| (levenshtein(&given, &name.to_ascii_lowercase()), *name))
        .filter(|(distance, name)| *distance <= (name.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Edits (insert, delete, substitute) from `a` to `b`, by characters.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_twice_is_refused_by_its_path() {
        let refused = |text: &str| json_value(text).unwrap_err().to_string();
        assert_eq!(refused("{\"a\": 1,\n \"a\": 2}"), "a: given twice (line 2)");
        assert_eq!(
            refused(r#"{"providers": {"paysafe": {"account_id": "1", "account_id": "2"}}}"#),
            "providers.paysafe.account_id: given twice (line 1)"
        );
        assert_eq!(
            refused(r#"{"hooks": [{"url": "a"}, {"url": "b", "url": "c"}]}"#),
            "hooks[1].url: given twice (line 1)"
        );
        // A key that could carry a secret or a card number is not shown.
        assert_eq!(
            refused(r#"{"x": {"4111111111111111": 1, "4111111111111111": 1}}"#),
            "x[key]: given twice (line 1)"
        );
        assert!(refused("{\"a\": ").starts_with("not valid JSON: "));
        assert!(refused("{} {}").starts_with("not valid JSON: trailing characters"));
    }

    #[test]
    fn a_value_reads_as_serde_json_reads_it() {
        let text = r#"{"s": "x\u00e9", "n": -3, "u": 18446744073709551615, "f": 1.5,
            "b": true, "z": null, "l": [1, {"k": []}], "o": {}, "same": {"a": 1}, "a": 2}"#;
        let expected: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(json_value(text).unwrap(), expected);
    }

    #[test]
    fn edit_distances() {
        assert_eq!(levenshtein("api_usr", "api_user"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }

    #[test]
    fn only_near_names_are_suggested() {
        let names = ["base_url", "api_user", "api_password", "account_id"];
        assert_eq!(closest("api_usr", &names), Some("api_user"));
        assert_eq!(closest("API_USER", &names), Some("api_user"));
        assert_eq!(closest("acount_id", &names), Some("account_id"));
        assert_eq!(closest("colour", &names), None);
        assert_eq!(closest("x", &["y"]), Some("y"));
        assert_eq!(closest("xy", &["ab"]), None);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        section: Inner,
        #[serde(default)]
        list: Vec<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        api_user: String,
        #[serde(default)]
        count: u32,
    }

    fn error(json: &str) -> String {
        parse::<Outer>(serde_json::from_str(json).unwrap()).unwrap_err()
    }

    #[test]
    fn errors_name_the_full_path_and_never_the_value() {
        assert_eq!(
            error(r#"{"section":{"api_usr":"u"}}"#),
            "section.api_usr: unknown key; did you mean `api_user`? \
             (expected one of: api_user, count)"
        );
        assert_eq!(
            error(r#"{"section":{}}"#),
            "section.api_user: missing (this key is required)"
        );
        assert_eq!(error("{}"), "section: missing (this key is required)");
        let wrong = error(r#"{"section":{"api_user":"u","count":"s3cret-value"}}"#);
        assert_eq!(
            wrong,
            "section.count: wrong type (string), expected an integer from 0 to 4294967295"
        );
        assert_eq!(
            error(r#"{"section":{"api_user":"u","count":5000000000}}"#),
            "section.count: invalid value, expected an integer from 0 to 4294967295"
        );
        assert_eq!(
            error(r#"{"section":[1, 2]}"#),
            "section: wrong type (array), expected an object (a table in TOML)"
        );
        assert_eq!(
            error(r#"{"section":{"api_user":"u","count":1.5}}"#),
            "section.count: wrong type (number), expected an integer from 0 to 4294967295"
        );
        assert_eq!(
            error(r#"{"section":{"api_user":"u"},"list":{"api_user":"u"}}"#),
            "list: wrong type (object), expected an array"
        );
        assert_eq!(
            error(r#"{"section":null}"#),
            "section: wrong type (null), expected an object (a table in TOML)"
        );
        let listed = error(r#"{"section":{"api_user":"u"},"list":[{"api_user":7}]}"#);
        assert_eq!(
            listed,
            "list[0].api_user: wrong type (integer), expected a string"
        );
        let odd = error(r#"{"section":{"api_user":"u"},"4111111111111111":1}"#);
        assert!(
            odd.starts_with("[key]: unknown key") && !odd.contains("4111"),
            "{odd}"
        );
    }
}

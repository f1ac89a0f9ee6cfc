//! What of a provider exchange the demo page may see: bodies with every card number
//! masked (`400000******1000`) and every secret-looking field (CVV, passwords, tokens,
//! keys) replaced, cut to a readable length. Headers are never shown: they carry the
//! credentials.

use serde_json::Value;

/// Longest body shown, in bytes.
const MAX_SHOWN: usize = 8 * 1024;

/// Field names whose value is never shown (matched case-insensitively, ignoring `_`/`-`).
const SECRET_NAMES: [&str; 12] = [
    "cvv",
    "cvc",
    "cvd",
    "cvn",
    "securitycode",
    "password",
    "passcode",
    "secret",
    "token",
    "apikey",
    "transkey",
    "authorization",
];

const REDACTED: &str = "[redacted]";

/// A body as the demo page may show it.
pub fn body(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    let shown = if let Ok(mut value) = serde_json::from_str::<Value>(trimmed) {
        redact_json(&mut value);
        serde_json::to_string_pretty(&value).unwrap_or_default()
    } else if looks_urlencoded(trimmed) {
        form_urlencoded::parse(trimmed.as_bytes())
            .map(|(name, value)| {
                let value = if is_secret(&name) {
                    REDACTED.to_owned()
                } else {
                    digits(&value)
                };
                format!("{}={value}", digits(&name))
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        digits(trimmed)
    };
    cut(shown)
}

/// A URL path and query as the page may show it.
pub fn path(text: &str) -> String {
    match text.split_once('?') {
        Some((path, query)) => format!("{}?{}", digits(path), body(query).replace('\n', "&")),
        None => digits(text),
    }
}

fn is_secret(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_NAMES.iter().any(|secret| folded.contains(secret))
}

fn looks_urlencoded(text: &str) -> bool {
    text.contains('=')
        && !text.contains(char::is_whitespace)
        && !text.contains('<')
        && !text.starts_with('{')
}

fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, inner) in map.iter_mut() {
                if is_secret(name) && !inner.is_object() && !inner.is_array() {
                    *inner = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::String(text) => *text = digits(text),
        Value::Number(number) => {
            let text = number.to_string();
            if run_is_card_like(text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
                *value = Value::String(mask_run(&text));
            }
        }
        _ => {}
    }
}

/// Every run of 12 to 19 digits (a card number's length) masked to its first six and
/// last four digits.
pub fn digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        flush(&mut out, &mut run);
        out.push(c);
    }
    flush(&mut out, &mut run);
    out
}

fn flush(out: &mut String, run: &mut String) {
    if run_is_card_like(run.len()) {
        out.push_str(&mask_run(run));
    } else {
        out.push_str(run);
    }
    run.clear();
}

fn run_is_card_like(len: usize) -> bool {
    (12..=19).contains(&len)
}

fn mask_run(run: &str) -> String {
    format!(
        "{}{}{}",
        &run[..6],
        "*".repeat(run.len() - 10),
        &run[run.len() - 4..]
    )
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_SHOWN {
        let mut end = MAX_SHOWN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("\n… (cut)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const PANS: [&str; 3] = ["4000000000001000", "370000000000200", "4012007153923001"];

    #[test]
    fn card_numbers_never_survive() {
        for pan in PANS {
            for text in [
                format!(r#"{{"card":{{"number":"{pan}","cvv":"123"}}}}"#),
                format!(r#"{{"card_number":{pan}}}"#),
                format!("number={pan}&cvd=123&name=Jo"),
                format!("<p>card {pan} here</p>"),
            ] {
                let shown = body(&text);
                assert!(!shown.contains(pan), "{shown}");
                assert!(shown.contains(&pan[..6]) && shown.contains(&pan[pan.len() - 4..]));
                assert!(
                    !shown.contains("123\"") && !shown.contains("=123"),
                    "{shown}"
                );
            }
        }
        assert_eq!(
            path("/v1/x/4000000000001000?pan=4000000000001000"),
            "/v1/x/400000******1000?pan=400000******1000"
        );
    }

    #[test]
    fn secrets_are_redacted_and_other_values_kept() {
        let shown = body(
            r#"{"access_token":"eyJabc","amount":1000,"orderId":"o-1","card":{"expiryMonth":12},"apiKey":"k","client_secret":"s"}"#,
        );
        for secret in ["eyJabc", "\"k\"", "\"s\""] {
            assert!(!shown.contains(secret), "{shown}");
        }
        for kept in ["1000", "o-1", "12"] {
            assert!(shown.contains(kept), "{shown}");
        }
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let shown = body(&"é".repeat(MAX_SHOWN));
        assert!(shown.ends_with("(cut)") && shown.len() < MAX_SHOWN + 20);
    }
}

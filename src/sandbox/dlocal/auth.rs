//! dLocal's request signing: `Authorization: V2-HMAC-SHA256, Signature: <hex>` where
//! the hex is the lowercase HMAC-SHA256 of `X-Login + X-Date + body` under the secret
//! key (docs.dlocal.com/reference/payins-security). The same scheme signs the sandbox's
//! notifications, and a variant of it the `callback_url` form.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::ApiError;

/// The sandbox merchant's `X-Login`.
pub const LOGIN: &str = "sak223k2wdksdl2";
/// The sandbox merchant's `X-Trans-Key`.
pub const TRANS_KEY: &str = "fm12O7G9";
/// The secret key both sides sign with.
pub const SECRET_KEY: &str = "sandbox-dlocal-secret";
/// The one API version served.
pub const VERSION: &str = "2.1";

const SCHEME_PREFIX: &str = "V2-HMAC-SHA256, Signature: ";

type HmacSha256 = Hmac<Sha256>;

fn mac_over(parts: &[&[u8]]) -> HmacSha256 {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(SECRET_KEY.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac
}

/// `hex(HMAC-SHA256(secret, login + date + body))`, lowercase.
pub fn signature(login: &str, date: &str, body: &[u8]) -> String {
    hex(&mac_over(&[login.as_bytes(), date.as_bytes(), body])
        .finalize()
        .into_bytes())
}

/// The `signature` field of the form posted to `callback_url`:
/// `hmac256(secret, X-Login + date + '{status:' + status + ',paymentId:' + id + '}')`.
pub fn callback_signature(date: &str, status: &str, payment_id: &str) -> String {
    let message = format!("{{status:{status},paymentId:{payment_id}}}");
    signature(LOGIN, date, message.as_bytes())
}

/// The `Authorization` header value for a body signed at `date`.
pub(super) fn authorization_header(date: &str, body: &[u8]) -> String {
    format!("{SCHEME_PREFIX}{}", signature(LOGIN, date, body))
}

/// Checks a request's headers and signature exactly as dLocal does. The order decides
/// which error a request with several faults gets: missing headers, version,
/// credentials, then the signature.
pub(super) fn verify(headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let header = |name: &'static str| -> Result<&str, ApiError> {
        match headers.get(name).map(|v| v.to_str()) {
            None => Err(ApiError::missing_parameter(name)),
            Some(Ok(value)) => Ok(value),
            Some(Err(_)) => Err(ApiError::invalid_parameter(name)),
        }
    };
    let date = header("X-Date")?;
    let login = header("X-Login")?;
    let trans_key = header("X-Trans-Key")?;
    let authorization = header("Authorization")?;
    if header("X-Version")? != VERSION {
        return Err(ApiError::invalid_version());
    }
    if !is_x_date(date) {
        return Err(ApiError::invalid_parameter("X-Date"));
    }
    if login != LOGIN || trans_key != TRANS_KEY {
        return Err(ApiError::bad_credentials("Invalid credentials"));
    }
    let claimed = authorization
        .strip_prefix(SCHEME_PREFIX)
        .and_then(decode_lowercase_hex)
        .ok_or_else(|| ApiError::bad_credentials("Invalid Authorization header"))?;
    mac_over(&[login.as_bytes(), date.as_bytes(), body])
        .verify_slice(&claimed)
        .map_err(|_| ApiError::bad_credentials("Invalid signature"))
}

/// ISO-8601 UTC with milliseconds, exactly: `2018-07-12T13:46:28.629Z`.
fn is_x_date(text: &str) -> bool {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    text.len() == 24 && time::PrimitiveDateTime::parse(text, &format).is_ok()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// 64 lowercase hex digits → 32 bytes; anything else (uppercase included) → `None`.
fn decode_lowercase_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_headers(date: &str, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("X-Date", date.to_owned()),
            ("X-Login", LOGIN.to_owned()),
            ("X-Trans-Key", TRANS_KEY.to_owned()),
            ("X-Version", VERSION.to_owned()),
            ("Authorization", authorization_header(date, body)),
        ] {
            headers.insert(name, value.parse().unwrap());
        }
        headers
    }

    #[test]
    fn signatures_match_an_independent_hmac() {
        // Values computed with Python's hmac module.
        let date = "2018-07-12T13:46:28.629Z";
        assert_eq!(
            signature(LOGIN, date, b"{}"),
            "2b02fa3787d005beff0b0f5fa6d661feef8abe1aac31f59f90843a9999ba74a3"
        );
        assert_eq!(
            callback_signature(date, "APPROVED", "D-4-x"),
            "d7b4681c23e50fc21cc0942a3d1b24a0a6a315e4b7dd4e0579cd97d6f10d2c73"
        );
        let sig = signature(LOGIN, date, b"{}");
        assert_eq!(decode_lowercase_hex(&sig).map(|b| hex(&b)), Some(sig));
    }

    #[test]
    fn verify_accepts_own_signature_and_refuses_tampering() {
        let date = "2018-07-12T13:46:28.629Z";
        let headers = signed_headers(date, b"{}");
        assert_eq!(verify(&headers, b"{}"), Ok(()));
        assert_eq!(verify(&headers, b"{ }").map_err(|e| e.code), Err(3001));
        let mut upper = headers.clone();
        let value = authorization_header(date, b"{}")
            .to_uppercase()
            .replace("V2-HMAC-SHA256, SIGNATURE: ", SCHEME_PREFIX);
        upper.insert("Authorization", value.parse().unwrap());
        assert_eq!(verify(&upper, b"{}").map_err(|e| e.code), Err(3001));
    }

    #[test]
    fn x_date_must_have_milliseconds_and_z() {
        assert!(is_x_date("2018-07-12T13:46:28.629Z"));
        assert!(!is_x_date("2018-07-12T13:46:28Z"));
        assert!(!is_x_date("2018-07-12T13:46:28.629+00:00"));
        assert!(!is_x_date("2018-13-12T13:46:28.629Z"));
    }
}

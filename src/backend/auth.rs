//! Who may do what (docs/backend.md, "Trust"): the merchant's server with an API key
//! (`Authorization: Bearer …`: create, the full view), the checkout page with its
//! payment's client secret (confirm, the 3DS Method, the page view). Both comparisons run
//! in constant time over SHA-256 digests, so neither the content nor the length of a
//! secret leaks through timing; neither secret is ever logged.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::api::ApiError;
use super::http::Request;
use crate::provider::Secret;

/// Shortest merchant API key the configuration accepts.
pub const MIN_API_KEY_LEN: usize = 16;

/// One merchant API key from the configuration. Several may be valid at once (rotation).
/// A [`Secret`]: `Debug` prints `ApiKey(***)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(Secret);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(Secret::new(key))
    }

    pub fn len(&self) -> usize {
        self.0.expose().len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.expose().is_empty()
    }
}

/// Equal in constant time, whatever the lengths.
fn same_secret(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes())
        .ct_eq(&Sha256::digest(b.as_bytes()))
        .into()
}

/// Checks `Authorization: Bearer <key>` against every configured key (no early exit). The
/// scheme's name is matched ignoring case, as RFC 9110 §11.1 has it.
pub fn merchant(request: &Request, keys: &[ApiKey]) -> Result<(), ApiError> {
    let presented = request
        .header("authorization")
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, key)| key.trim())
        .filter(|key| !key.is_empty());
    let Some(presented) = presented else {
        return Err(ApiError::new(
            401,
            "missing_api_key",
            "this route needs the merchant's API key: Authorization: Bearer <key>",
        ));
    };
    let matches = keys.iter().fold(false, |found, key| {
        same_secret(presented, key.0.expose()) | found
    });
    if !matches {
        tracing::warn!("a request with an unknown merchant API key was refused");
        return Err(ApiError::new(
            401,
            "invalid_api_key",
            "the API key is not one of this backend's merchant keys",
        ));
    }
    Ok(())
}

/// `{id}_secret_{32 hex}`: the payment's id, so the page needs nothing else, and the
/// host's random `u128` of its own (128 random bits at the edge, a UUID v4's 122 natively).
pub fn mint_client_secret(id: &str, random: u128) -> String {
    format!("{id}_secret_{random:032x}")
}

/// Checks the client secret the page presented for payment `stored_secret`.
pub fn page(presented: Option<&str>, stored_secret: &str) -> Result<(), ApiError> {
    let Some(presented) = presented.filter(|s| !s.is_empty()) else {
        return Err(ApiError::new(
            401,
            "missing_client_secret",
            "this route needs the payment's clientSecret",
        ));
    };
    if stored_secret.is_empty() || !same_secret(presented, stored_secret) {
        return Err(ApiError::new(
            401,
            "invalid_client_secret",
            "the clientSecret is not this payment's",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::http::Method;

    fn with_auth(value: &str) -> Request {
        Request {
            method: Method::Post,
            path: "/v1/payments".into(),
            query: String::new(),
            headers: vec![("Authorization".into(), value.into())],
            body: Vec::new(),
            peer_ip: None,
        }
    }

    #[test]
    fn any_configured_key_is_accepted_and_nothing_else() {
        let keys = [
            ApiKey::new("old-key-0123456789"),
            ApiKey::new("new-key-0123456789"),
        ];
        assert!(merchant(&with_auth("Bearer old-key-0123456789"), &keys).is_ok());
        assert!(merchant(&with_auth("Bearer new-key-0123456789"), &keys).is_ok());
        assert!(merchant(&with_auth("bearer new-key-0123456789"), &keys).is_ok());
        assert!(merchant(&with_auth("BEARER new-key-0123456789"), &keys).is_ok());
        let wrong = merchant(&with_auth("Bearer new-key-012345678"), &keys).unwrap_err();
        assert_eq!((wrong.status, wrong.code), (401, "invalid_api_key"));
        let basic = merchant(&with_auth("Basic new-key-0123456789"), &keys).unwrap_err();
        assert_eq!(basic.code, "missing_api_key");
        assert!(!format!("{keys:?}").contains("key-0123"));
        assert_eq!(format!("{:?}", keys[0]), "ApiKey(***)");
    }

    #[test]
    fn client_secrets() {
        let secret = mint_client_secret("ab", 7);
        assert_eq!(secret, "ab_secret_00000000000000000000000000000007");
        assert!(page(Some(&secret), &secret).is_ok());
        assert_eq!(
            page(None, &secret).unwrap_err().code,
            "missing_client_secret"
        );
        assert_eq!(
            page(Some("ab_secret_0"), &secret).unwrap_err().code,
            "invalid_client_secret"
        );
        assert_eq!(
            page(Some(""), "").unwrap_err().code,
            "missing_client_secret"
        );
        assert_eq!(
            page(Some("x"), "").unwrap_err().code,
            "invalid_client_secret"
        );
    }
}

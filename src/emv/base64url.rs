//! Base64url as 3-D Secure uses it (threeDSMethodData, creq, cres, threeDSSessionData).
//!
//! Encoding is unpadded, as [CH] requires. Decoding is lenient where real ACSs differ
//! and the meaning is unambiguous: padded or unpadded, and the standard alphabet's
//! `+` `/` are read as `-` `_`. Bytes in, bytes out: UTF-8 is the caller's, so any
//! Unicode JSON round-trips (the browser SDKs' `btoa(JSON.stringify())` does not).

use super::EmvError;

/// Unpadded base64url of `bytes`.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    crate::base64_codec::url_safe_unpadded(bytes)
}

/// Bytes of a base64url (or standard base64) text, padded or not.
pub fn decode(text: &str) -> Result<Vec<u8>, EmvError> {
    crate::base64_codec::decode_either(text).ok_or(EmvError::InvalidBase64)
}

/// The UTF-8 text behind a base64url value.
pub fn decode_utf8(text: &str) -> Result<String, EmvError> {
    String::from_utf8(decode(text)?).map_err(|_| EmvError::InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpadded_url_alphabet() {
        assert_eq!(encode([0xfb, 0xff]), "-_8");
        assert_eq!(encode("a"), "YQ");
    }

    #[test]
    fn accepts_padding_and_standard_alphabet() {
        assert_eq!(decode("YQ==").unwrap(), b"a");
        assert_eq!(decode("YQ").unwrap(), b"a");
        assert_eq!(decode("+/8").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode("+/8=").unwrap(), [0xfb, 0xff]);
    }

    #[test]
    fn refuses_garbage() {
        for bad in ["Y", "a b", "é", "Y*==", "YQ=x"] {
            assert_eq!(decode(bad), Err(EmvError::InvalidBase64), "{bad}");
        }
    }

    #[test]
    fn utf8_round_trip() {
        let json = r#"{"name":"Zoë 山田 🚀"}"#;
        assert_eq!(decode_utf8(&encode(json)).unwrap(), json);
    }
}

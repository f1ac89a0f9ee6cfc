//! Base64 (RFC 4648 §4 and §5), written here rather than taken from the base64 crate:
//! its engine is built for throughput over long inputs and was 1.8-1.9 KB gzip of a
//! Paysafe or Bambora edge worker, to encode a Basic credential and read a few short 3-D
//! Secure messages. The provider sandbox still uses the crate, so every flow's tests
//! check this codec against it (and the tests below compare the two directly).

#[cfg(any(feature = "paysafe", feature = "bambora"))]
const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Standard base64 with padding (`+`, `/`, `=`), as HTTP's Basic credentials take it
/// (Paysafe's and Bambora's credentials).
#[cfg(any(feature = "paysafe", feature = "bambora"))]
pub fn standard(bytes: impl AsRef<[u8]>) -> String {
    encode(bytes.as_ref(), STANDARD, true)
}

/// Base64url without padding (`-`, `_`).
pub fn url_safe_unpadded(bytes: impl AsRef<[u8]>) -> String {
    encode(bytes.as_ref(), URL_SAFE, false)
}

fn encode(bytes: &[u8], alphabet: &[u8; 64], padded: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let group = chunk
            .iter()
            .zip([16, 8, 0])
            .fold(0u32, |group, (byte, shift)| {
                group | u32::from(*byte) << shift
            });
        for (symbol, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if symbol <= chunk.len() {
                out.push(char::from(alphabet[(group >> shift) as usize & 63]));
            } else if padded {
                out.push('=');
            }
        }
    }
    out
}

/// The bytes of a text in either alphabet (`+` `/` or `-` `_`, mixed too), with or
/// without trailing `=`; `None` for any other character, a `=` before the end, a lone
/// last symbol, or bits set after the last byte (a text that is not its bytes' encoding).
pub fn decode_either(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let (mut pending, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        pending = pending << 6 | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((pending >> bits) as u8);
            pending &= (1 << bits) - 1;
        }
    }
    (bits < 6 && pending == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD as CRATE_STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;

    /// Every length from 0 to 64 of varied bytes: the same texts as the base64 crate,
    /// and each read back, in either alphabet, padded or not.
    #[test]
    fn encodes_as_the_crate_does_and_reads_back() {
        let bytes: Vec<u8> = (0..64u32).map(|i| (i * 97 + 13) as u8 ^ 0xa5).collect();
        for len in 0..=bytes.len() {
            let input = &bytes[..len];
            let padded = standard(input);
            let unpadded = url_safe_unpadded(input);
            assert_eq!(padded, CRATE_STANDARD.encode(input), "{len}");
            assert_eq!(unpadded, URL_SAFE_NO_PAD.encode(input), "{len}");
            for text in [&padded, &unpadded, padded.trim_end_matches('=')] {
                assert_eq!(decode_either(text).as_deref(), Some(input), "{text}");
            }
        }
        assert_eq!(standard("api:secret"), "YXBpOnNlY3JldA==");
        assert_eq!(url_safe_unpadded([0xfb, 0xff]), "-_8");
        assert_eq!(standard([0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn refuses_what_is_not_an_encoding() {
        // A lone symbol, bits after the last byte (`YR`, `YWJ`), `=` inside, other
        // characters, whitespace.
        for bad in [
            "Y", "YQ=x", "Y*==", "a b", "é", "YR", "YWJ", "YQ\n", "YWJj Y",
        ] {
            assert_eq!(decode_either(bad), None, "{bad:?}");
            assert!(
                CRATE_STANDARD.decode(bad).is_err(),
                "the crate took {bad:?}"
            );
        }
        assert_eq!(decode_either("").as_deref(), Some(&[][..]));
        assert_eq!(decode_either("YQ===").as_deref(), Some(&b"a"[..]));
    }
}

//! Property tests of the EMV core: what must hold for every input, not just the vectors.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use threeds_bridge::emv::browser::{format_ip, parse_ip, truncate_chars, MAX_HEADER_CHARS};
use threeds_bridge::emv::{
    base64url, luhn_valid, BrowserDetails, BrowserLanguage, BrowserReadings, ChallengeOutcome,
    ChallengeWindowSize, ColorDepth, Eci, MessageVersion, Pan, ServerReadings, TransStatus,
};

const ALLOWED_DEPTHS: [u8; 8] = [1, 4, 8, 15, 16, 24, 32, 48];

fn check_digit(body: &str) -> char {
    (0..10u8)
        .map(|d| format!("{body}{d}"))
        .find(|candidate| luhn_valid(candidate))
        .and_then(|candidate| candidate.chars().last())
        .expect("one digit completes any body")
}

proptest! {
    #[test]
    fn base64url_round_trips_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let encoded = base64url::encode(&bytes);
        prop_assert!(!encoded.contains(['=', '+', '/']));
        prop_assert_eq!(base64url::decode(&encoded).unwrap(), bytes);
    }

    #[test]
    fn base64url_round_trips_any_unicode(text in "\\PC*") {
        prop_assert_eq!(base64url::decode_utf8(&base64url::encode(&text)).unwrap(), text);
    }

    #[test]
    fn decoders_never_panic(text in "\\PC{0,300}") {
        let _ = base64url::decode(&text);
        let _ = ChallengeOutcome::from_base64url(&text);
        let _ = ChallengeOutcome::from_base64url(&base64url::encode(&text));
        let _ = TransStatus::parse(&text);
        let _ = Eci::parse(&text);
        let _ = ChallengeWindowSize::parse(&text);
        let _ = Pan::parse(&text);
        let _ = parse_ip(&text);
    }

    #[test]
    fn color_depth_is_allowed_and_never_above_the_reading(reading in any::<Option<i64>>()) {
        let bits = ColorDepth::from_reading(reading).bits();
        prop_assert!(ALLOWED_DEPTHS.contains(&bits));
        if let Some(r) = reading.filter(|r| *r >= 1) {
            prop_assert!(i64::from(bits) <= r);
            // and it is the largest allowed value that is not above the reading
            prop_assert!(ALLOWED_DEPTHS.iter().all(|&d| i64::from(d) > r || d <= bits));
        }
    }

    #[test]
    fn language_fits_eight_characters_or_is_refused(tag in "[a-zA-Z0-9_-]{0,30}") {
        if let Ok(language) = BrowserLanguage::parse(&tag) {
            prop_assert!(language.as_str().len() <= 8);
            prop_assert!(!language.as_str().is_empty());
            prop_assert_eq!(BrowserLanguage::parse(language.as_str()).unwrap(), language.clone());
        }
    }

    #[test]
    fn truncation_keeps_a_prefix_of_at_most_max_chars(text in "\\PC{0,3000}") {
        let cut = truncate_chars(&text, MAX_HEADER_CHARS);
        prop_assert!(text.starts_with(cut));
        prop_assert!(cut.chars().count() <= MAX_HEADER_CHARS);
        prop_assert_eq!(cut.len() == text.len(), text.chars().count() <= MAX_HEADER_CHARS);
    }

    #[test]
    fn headers_are_truncated_to_2048_characters(ua in "[a-zé山🚀]{1,3000}", tz in -9999i64..=9999) {
        let page = BrowserReadings {
            screen_width: Some(1280),
            screen_height: Some(720),
            color_depth: Some(24),
            timezone_offset: Some(tz),
            language: Some("en".into()),
            javascript_enabled: true,
            user_agent: Some(ua.clone()),
            ..Default::default()
        };
        let server = ServerReadings { accept_header: Some(ua.clone()), ..Default::default() };
        let details = BrowserDetails::build(&page, &server).unwrap();
        let areq = details.to_areq(MessageVersion::V2_2_0).unwrap();
        prop_assert!(areq.browser_user_agent.chars().count() <= 2048);
        prop_assert!(areq.browser_accept_header.chars().count() <= 2048);
        prop_assert!(ua.starts_with(&areq.browser_user_agent));
        // browserTZ is the raw offset with its sign, never its absolute value
        prop_assert_eq!(areq.browser_tz.unwrap(), tz.to_string());
        prop_assert!(details.to_paysafe().is_err() || details.to_paysafe().unwrap().user_agent.chars().count() <= 256);
    }

    #[test]
    fn chosen_window_fits_and_none_larger_does(width in 0u32..3000, height in 0u32..3000) {
        let chosen = ChallengeWindowSize::largest_fitting(width, height);
        match chosen.pixels() {
            Some((w, h)) => {
                prop_assert!(w <= width && h <= height);
                for other in ChallengeWindowSize::FIXED {
                    let (ow, oh) = other.pixels().unwrap();
                    if ow <= width && oh <= height {
                        prop_assert!(ow * oh <= w * h);
                    }
                }
            }
            None => {
                let none_fits = ChallengeWindowSize::FIXED
                    .iter()
                    .filter_map(|s| s.pixels())
                    .all(|(w, h)| w > width || h > height);
                prop_assert!(none_fits);
            }
        }
    }

    #[test]
    fn luhn_catches_every_single_digit_error(body in "[0-9]{11,18}", position in any::<prop::sample::Index>(), delta in 1u8..10) {
        let pan = format!("{body}{}", check_digit(&body));
        prop_assert!(luhn_valid(&pan));
        let i = position.index(pan.len());
        let mut digits: Vec<u8> = pan.bytes().collect();
        digits[i] = b'0' + (digits[i] - b'0' + delta) % 10;
        prop_assert!(!luhn_valid(std::str::from_utf8(&digits).unwrap()));
    }

    #[test]
    fn a_pan_never_prints_its_middle_digits(body in "[0-9]{12,18}") {
        let pan = Pan::parse(&format!("{body}{}", check_digit(&body))).unwrap();
        let shown = format!("{pan} {pan:?}");
        prop_assert!(!shown.contains(pan.expose()));
        prop_assert_eq!(pan.masked().len(), pan.expose().len());
        prop_assert!(pan.masked().starts_with(pan.bin()) && pan.masked().ends_with(pan.last_four()));
    }

    #[test]
    fn ip_addresses_format_as_emv_requires(ip in any::<std::net::IpAddr>()) {
        let parsed = parse_ip(&ip.to_string()).unwrap();
        let text = format_ip(parsed);
        prop_assert!(text.len() <= 45);
        if parsed.is_ipv6() {
            prop_assert_eq!(text.split(':').count(), 8);
            prop_assert!(text.split(':').all(|group| group.len() == 4));
        }
        prop_assert_eq!(parse_ip(&text).unwrap(), parsed);
    }
}

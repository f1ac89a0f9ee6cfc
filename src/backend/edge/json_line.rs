//! The edge log line's plain parts, written straight into the line's text: JSON string
//! escaping as a `fmt::Write` (so a field's `Debug` or `Display` is escaped as it is
//! formatted, with no text or `serde_json` value in between) and the RFC 3339 UTC
//! timestamp with milliseconds, from `Date.now()`'s number (no `Date` object, no string
//! across the JS boundary). Pure: the native unit tests run them (`backend::mod`
//! includes this file under `cfg(test)`).

use std::fmt::{self, Write};

/// Writes what is formatted into it as the inside of a JSON string: `"`, `\` and the
/// control characters escaped, the rest as it is (JSON text is UTF-8).
pub struct Escaped<'a>(pub &'a mut String);

impl Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut clean = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            // `at` is an ASCII byte's index, so a character boundary.
            self.0.push_str(&text[clean..at]);
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.push_str(escape);
            }
            clean = at + 1;
        }
        self.0.push_str(&text[clean..]);
        Ok(())
    }
}

/// `text` as a JSON string, quotes included.
pub fn push_str(out: &mut String, text: &str) {
    out.push('"');
    let _ = Escaped(out).write_str(text);
    out.push('"');
}

/// `value`'s `Debug` (a `Display` for tracing's `%` fields, the text of a message) as a
/// JSON string, quotes included.
pub fn push_debug(out: &mut String, value: &dyn fmt::Debug) {
    out.push('"');
    let _ = write!(Escaped(out), "{value:?}");
    out.push('"');
}

/// A 128-bit integer field, `-` before `magnitude` when `negative`: a JSON number when the
/// magnitude fits 64 bits, as the 64-bit fields are written; beyond, its hex as a string
/// (`"-0x…"`). No event logs one; tracing's default hands such a field to `Debug`, which
/// brought 128-bit decimal formatting (both signs) into the worker: some 2 KB of code
/// for no line it writes.
pub fn push_wide(out: &mut String, negative: bool, magnitude: u128) {
    let sign = if negative { "-" } else { "" };
    let _ = match u64::try_from(magnitude) {
        Ok(small) => write!(out, "{sign}{small}"),
        Err(_) => write!(out, "\"{sign}{magnitude:#x}\""),
    };
}

/// A float field as a JSON number, written by serde_json's float writer (the one every
/// JSON answer is written with); `null` for NaN and the infinities, which JSON has no
/// number for. tracing's default hands a float to `Debug`, which brought core's own float
/// formatting (Grisu and Dragon4, with their tables) into the worker for no line it writes.
pub fn push_f64(out: &mut String, value: f64) {
    match serde_json::Number::from_f64(value) {
        Some(number) => {
            let _ = write!(out, "{number}");
        }
        None => out.push_str("null"),
    }
}

/// The instant `unix_ms` (milliseconds since 1970, UTC) as `"2026-12-03T08:10:35.441Z"`,
/// quotes included: what JavaScript's `Date.prototype.toISOString` writes for years 0 to
/// 9999.
pub fn push_timestamp(out: &mut String, unix_ms: i64) {
    let (days, ms_of_day) = (
        unix_ms.div_euclid(86_400_000),
        unix_ms.rem_euclid(86_400_000),
    );
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
    let (second, milli) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
    let _ = write!(
        out,
        "\"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{milli:03}Z\""
    );
}

/// The proleptic Gregorian date of the day `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{push_debug, push_f64, push_str, push_timestamp, push_wide};

    fn timestamp(unix_ms: i64) -> String {
        let mut out = String::new();
        push_timestamp(&mut out, unix_ms);
        out
    }

    #[test]
    fn timestamps_as_javascript_writes_them() {
        // The expected texts are `new Date(ms).toISOString()`'s.
        assert_eq!(timestamp(0), "\"1970-01-01T00:00:00.000Z\"");
        assert_eq!(timestamp(1_796_285_435_441), "\"2026-12-03T08:10:35.441Z\"");
        assert_eq!(timestamp(951_782_399_999), "\"2000-02-28T23:59:59.999Z\"");
        assert_eq!(timestamp(951_782_400_000), "\"2000-02-29T00:00:00.000Z\"");
        assert_eq!(timestamp(4_107_542_400_000), "\"2100-03-01T00:00:00.000Z\"");
        assert_eq!(timestamp(1_709_251_199_000), "\"2024-02-29T23:59:59.000Z\"");
        assert_eq!(timestamp(-1), "\"1969-12-31T23:59:59.999Z\"");
    }

    #[test]
    fn every_timestamp_of_a_day_step_parses_back() {
        for day in (-800..80_000).step_by(37) {
            let ms = day * 86_400_000 + 45_296_789;
            let text = timestamp(ms);
            let parsed = time::OffsetDateTime::parse(
                text.trim_matches('"'),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            assert_eq!(
                parsed.unix_timestamp_nanos(),
                i128::from(ms) * 1_000_000,
                "{text}"
            );
        }
    }

    #[test]
    fn strings_escaped_as_serde_json_reads_them() {
        for text in [
            "plain",
            "a \"quoted\" word",
            "back\\slash",
            "lines\nand\r\ttabs",
            "\u{0}\u{1}\u{8}\u{c}\u{1f} controls",
            "visa 400000…1000, ünïcödé ✓",
            "",
        ] {
            let mut out = String::new();
            push_str(&mut out, text);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), text, "{out}");
            let mut debugged = String::new();
            push_debug(&mut debugged, &format_args!("{text}"));
            assert_eq!(debugged, out);
        }
    }

    #[test]
    fn wide_integers_as_numbers_while_they_fit_64_bits() {
        let wide = |negative: bool, magnitude: u128| {
            let mut out = String::new();
            push_wide(&mut out, negative, magnitude);
            serde_json::from_str::<serde_json::Value>(&out).unwrap_or_else(|e| panic!("{out}: {e}"))
        };
        assert_eq!(wide(false, 0), serde_json::json!(0));
        assert_eq!(
            wide(false, u128::from(u64::MAX)),
            serde_json::json!(u64::MAX)
        );
        assert_eq!(wide(true, 5), serde_json::json!(-5));
        assert_eq!(wide(true, 1 << 63), serde_json::json!(i64::MIN));
        assert_eq!(wide(false, 1 << 64), "0x10000000000000000");
        assert_eq!(
            wide(true, i128::MIN.unsigned_abs()),
            "-0x80000000000000000000000000000000"
        );
    }

    #[test]
    fn floats_as_json_numbers_and_what_json_cannot_hold_as_null() {
        let float = |value: f64| {
            let mut out = String::new();
            push_f64(&mut out, value);
            out
        };
        for value in [0.0, 1.5, -2.25, 1e300, 5e-324, 0.1 + 0.2] {
            let text = float(value);
            assert_eq!(serde_json::from_str::<f64>(&text).unwrap(), value, "{text}");
        }
        for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(float(value), "null");
        }
    }
}

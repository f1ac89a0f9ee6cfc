//! Card numbers: Luhn, brand from BIN, and a `Pan` that cannot leak.
//!
//! `Pan` has no `Serialize` and its `Debug`/`Display` print only BIN and last four, so a
//! full card number cannot reach a log line or a stored session by accident; the one
//! way to the digits is [`Pan::expose`], for the request body to the provider.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::EmvError;

/// The card scheme, as far as the BIN tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardBrand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    Diners,
    Elo,
    UnionPay,
    Unknown,
}
crate::unit_variant::deserialize_by_name!(CardBrand { Visa = "visa", Mastercard = "mastercard", Amex = "amex", Discover = "discover", Jcb = "jcb", Diners = "diners", Elo = "elo", UnionPay = "unionpay", Unknown = "unknown" });

impl CardBrand {
    /// The brand as serde spells it (`visa`, `unionpay`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CardBrand::Visa => "visa",
            CardBrand::Mastercard => "mastercard",
            CardBrand::Amex => "amex",
            CardBrand::Discover => "discover",
            CardBrand::Jcb => "jcb",
            CardBrand::Diners => "diners",
            CardBrand::Elo => "elo",
            CardBrand::UnionPay => "unionpay",
            CardBrand::Unknown => "unknown",
        }
    }

    /// The brand of a card number (or of its first digits, at least six for Elo).
    pub fn from_pan(digits: &str) -> CardBrand {
        let prefix = |n: usize| -> Option<u32> { digits.get(..n)?.parse().ok() };
        let in_range =
            |n: usize, low: u32, high: u32| prefix(n).is_some_and(|p| (low..=high).contains(&p));
        // Elo's ranges sit inside Visa's, Mastercard's and Discover's, so it is asked first.
        if prefix(6).is_some_and(is_elo_bin) {
            return CardBrand::Elo;
        }
        if in_range(2, 34, 34) || in_range(2, 37, 37) {
            CardBrand::Amex
        } else if in_range(3, 300, 305)
            || in_range(4, 3095, 3095)
            || in_range(2, 36, 36)
            || in_range(2, 38, 39)
        {
            CardBrand::Diners
        } else if in_range(4, 3528, 3589) {
            CardBrand::Jcb
        } else if in_range(4, 6011, 6011)
            || in_range(6, 622126, 622925)
            || in_range(3, 644, 649)
            || in_range(2, 65, 65)
        {
            CardBrand::Discover
        } else if in_range(2, 62, 62) {
            CardBrand::UnionPay
        } else if in_range(2, 51, 55) || in_range(4, 2221, 2720) {
            CardBrand::Mastercard
        } else if in_range(1, 4, 4) {
            CardBrand::Visa
        } else {
            CardBrand::Unknown
        }
    }

    /// Whether the scheme uses Visa's ECI values (05/06/07) rather than Mastercard's.
    pub fn uses_visa_eci(self) -> bool {
        !matches!(self, CardBrand::Mastercard | CardBrand::Unknown)
    }
}

/// Elo's published BIN ranges (six digits).
fn is_elo_bin(bin: u32) -> bool {
    const SINGLE: [u32; 11] = [
        401178, 401179, 431274, 438935, 451416, 457393, 457631, 457632, 504175, 627780, 636297,
    ];
    const RANGES: [(u32, u32); 14] = [
        (506699, 506778),
        (509000, 509999),
        (636368, 636368),
        (650031, 650033),
        (650035, 650051),
        (650405, 650439),
        (650485, 650538),
        (650541, 650598),
        (650700, 650718),
        (650720, 650727),
        (650901, 650978),
        (651652, 651679),
        (655000, 655019),
        (655021, 655058),
    ];
    SINGLE.contains(&bin)
        || RANGES
            .iter()
            .any(|&(low, high)| (low..=high).contains(&bin))
}

/// The Luhn (mod 10) check over a string of ASCII digits; false for anything else.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 {
                    twice - 9
                } else {
                    twice
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// A full card number: 13 to 19 digits (EMV 3-D Secure's `acctNumber`), Luhn-valid.
/// Printing it shows BIN and last four, so at least three digits stay hidden (a 12-digit
/// number would show 10 of its 12, the Luhn digit giving away one more).
#[derive(Clone, PartialEq, Eq)]
pub struct Pan(String);

impl Pan {
    /// Parses a card number as a person types it: spaces and dashes are ignored.
    pub fn parse(text: &str) -> Result<Pan, EmvError> {
        let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let length_ok = (13..=19).contains(&digits.len());
        if length_ok && luhn_valid(&digits) {
            Ok(Pan(digits))
        } else {
            Err(EmvError::InvalidCardNumber)
        }
    }

    pub fn brand(&self) -> CardBrand {
        CardBrand::from_pan(&self.0)
    }

    /// The first six digits.
    pub fn bin(&self) -> &str {
        &self.0[..6]
    }

    pub fn last_four(&self) -> &str {
        &self.0[self.0.len() - 4..]
    }

    /// `400000******1000`: what may be shown, logged or stored.
    pub fn masked(&self) -> String {
        let hidden = self.0.len() - 10;
        format!("{}{}{}", self.bin(), "*".repeat(hidden), self.last_four())
    }

    /// The full number, for the one place that needs it: the provider request body.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({})", self.masked())
    }
}

impl fmt::Display for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl<'de> Deserialize<'de> for Pan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Pan::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands() {
        let cases = [
            ("4000000000001000", CardBrand::Visa),
            ("5200000000001005", CardBrand::Mastercard),
            ("2221000000000009", CardBrand::Mastercard),
            ("2720990000000007", CardBrand::Mastercard),
            ("370000000000200", CardBrand::Amex),
            ("6011000990139424", CardBrand::Discover),
            ("3530111333300000", CardBrand::Jcb),
            ("36227206271667", CardBrand::Diners),
            ("6362970000457013", CardBrand::Elo),
            ("5066991111111118", CardBrand::Elo),
            ("4011780000000000", CardBrand::Elo),
            ("6200000000000005", CardBrand::UnionPay),
            ("9999999999999995", CardBrand::Unknown),
        ];
        for (pan, brand) in cases {
            assert_eq!(CardBrand::from_pan(pan), brand, "{pan}");
        }
    }

    #[test]
    fn pan_never_prints_in_full() {
        let pan = Pan::parse("4000 0000 0000 1000").unwrap();
        assert_eq!(format!("{pan:?}"), "Pan(400000******1000)");
        assert_eq!(pan.to_string(), "400000******1000");
        assert_eq!(pan.expose(), "4000000000001000");
        assert_eq!(
            Pan::parse("4000000000001001"),
            Err(EmvError::InvalidCardNumber)
        );
        assert_eq!(
            Pan::parse("40000000001").map(|_| ()),
            Err(EmvError::InvalidCardNumber)
        );
        assert_eq!(
            Pan::parse("4000abcd00001000").map(|_| ()),
            Err(EmvError::InvalidCardNumber)
        );
    }

    /// EMV 3-D Secure's acctNumber is 13 to 19 digits. A 12-digit number, Luhn-valid,
    /// would print 10 of its digits (BIN and last four), leaving 10 candidates.
    #[test]
    fn a_card_number_is_13_to_19_digits() {
        assert_eq!(
            Pan::parse("675900000000").map(|_| ()),
            Err(EmvError::InvalidCardNumber)
        );
        let shortest = Pan::parse("6759000000005").unwrap();
        assert_eq!(shortest.to_string(), "675900***0005");
        assert!(Pan::parse("4000000000000000006").is_ok());
        assert!(
            Pan::parse("40000000000000000002").is_err(),
            "20 digits, Luhn-valid"
        );
    }
}

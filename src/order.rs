//! What the merchant's server says it charges for: its order reference and the currency,
//! parsed once where they enter (the create request, a stored session) so nothing after
//! that holds an unchecked string. Like [`crate::emv::Pan`]. Pure.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// Why an order id or a currency was refused: a stable code and what is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidTerm {
    pub code: &'static str,
    pub message: &'static str,
}

/// The merchant's order reference: 1 to 64 of `A-Z a-z 0-9 - _ . :` (what every provider
/// takes in its order field and in a URL path, where dLocal's lookup puts it); `.` and
/// `..` alone are refused, since no URL path can name them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(String);

/// The longest order id: Payroc's `orderId` and Paysafe's `merchantRefNum` take more, 64
/// keeps every provider's field and a log line readable.
pub const MAX_ORDER_ID: usize = 64;

impl OrderId {
    pub fn parse(text: &str) -> Result<OrderId, InvalidTerm> {
        let charset = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        let nameable = text != "." && text != "..";
        if (1..=MAX_ORDER_ID).contains(&text.len()) && charset && nameable {
            Ok(OrderId(text.to_owned()))
        } else {
            Err(InvalidTerm {
                code: "invalid_order_id",
                message: "orderId must be 1 to 64 of A-Z a-z 0-9 - _ . : (not . or ..)",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OrderId {
    type Error = InvalidTerm;
    fn try_from(text: String) -> Result<OrderId, InvalidTerm> {
        OrderId::parse(&text)
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.0
    }
}

impl Deref for OrderId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for OrderId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for OrderId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<OrderId> for str {
    fn eq(&self, other: &OrderId) -> bool {
        other == self
    }
}

impl PartialEq<OrderId> for &str {
    fn eq(&self, other: &OrderId) -> bool {
        other == *self
    }
}

impl PartialEq<OrderId> for String {
    fn eq(&self, other: &OrderId) -> bool {
        other == self.as_str()
    }
}

/// An ISO 4217 alphabetic code, upper case (`USD`). Whether a provider's account takes it
/// is the provider's to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(text: &str) -> Result<Currency, InvalidTerm> {
        match text.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Currency([a, b, c])),
            _ => Err(InvalidTerm {
                code: "invalid_currency",
                message: "currency must be an ISO 4217 code in upper case",
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        // Three ASCII upper-case letters, checked by `parse`.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl TryFrom<String> for Currency {
    type Error = InvalidTerm;
    fn try_from(text: String) -> Result<Currency, InvalidTerm> {
        Currency::parse(&text)
    }
}

impl From<Currency> for String {
    fn from(currency: Currency) -> String {
        currency.as_str().to_owned()
    }
}

impl Deref for Currency {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Currency {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Currency {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Currency> for str {
    fn eq(&self, other: &Currency) -> bool {
        other == self
    }
}

impl PartialEq<Currency> for &str {
    fn eq(&self, other: &Currency) -> bool {
        other == *self
    }
}

impl PartialEq<Currency> for String {
    fn eq(&self, other: &Currency) -> bool {
        other == self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_what_every_provider_and_a_url_path_take() {
        for good in ["o-1", "A_b.c:9", &"x".repeat(64), "..."] {
            assert_eq!(OrderId::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", ".", "..", "a/b", "a b", "é", &"x".repeat(65), "a\n"] {
            assert_eq!(
                OrderId::parse(bad).unwrap_err().code,
                "invalid_order_id",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert_eq!(Currency::parse("BRL").unwrap().as_str(), "BRL");
        for bad in ["", "usd", "US", "USDX", "U$D", "ÜSD"] {
            assert_eq!(
                Currency::parse(bad).unwrap_err().code,
                "invalid_currency",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn both_travel_as_plain_strings_and_are_checked_when_read() {
        let id = OrderId::parse("o-1").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"o-1\"");
        assert_eq!(serde_json::from_str::<OrderId>("\"o-1\"").unwrap(), id);
        assert!(serde_json::from_str::<OrderId>("\"a/b\"").is_err());
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(serde_json::to_string(&usd).unwrap(), "\"USD\"");
        assert!(serde_json::from_str::<Currency>("\"usd\"").is_err());
    }
}

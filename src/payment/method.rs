//! [`PaymentMethod`] read as its derive read it (`#[serde(tag = "type")]`, the card's members
//! beside the tag), without serde's `Content`: the members are kept in order, duplicates and
//! all, as JSON values, and the variant's struct is read from them. The derive's buffering was
//! the last user of `Content` in a one-provider worker, whose whole machinery it kept in the
//! wasm (docs/edge/measurements.md). The same errors, in the same words, at the same path
//! (`paymentMethod`, as the body's reader names it): a missing or repeated `type`, an unknown
//! one, any card member's.

use std::fmt;

use serde::de::value::MapDeserializer;
use serde::de::{Error as _, MapAccess, Unexpected, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{CardDetails, PaymentMethod};

impl<'de> Deserialize<'de> for PaymentMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PaymentMethod, D::Error> {
        let (kind, members) = deserializer.deserialize_any(Tagged)?;
        let members = MapDeserializer::<_, serde_json::Error>::new(members.into_iter());
        match kind {
            Kind::Card => CardDetails::deserialize(members).map(PaymentMethod::Card),
            Kind::Token => Token::deserialize(members)
                .map(|Token { token, bin }| PaymentMethod::Token { token, bin }),
        }
        .map_err(D::Error::custom)
    }
}

/// `Token { token, bin }`'s members.
#[derive(Deserialize)]
struct Token {
    token: String,
    #[serde(default)]
    bin: Option<String>,
}

/// The tag's word, read as the derive reads a variant's name.
enum Kind {
    Card,
    Token,
}

const KINDS: &[&str] = &["card", "token"];

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Kind, D::Error> {
        deserializer.deserialize_identifier(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_u64<E: serde::de::Error>(self, index: u64) -> Result<Kind, E> {
        match index {
            0 => Ok(Kind::Card),
            1 => Ok(Kind::Token),
            _ => Err(E::invalid_value(
                Unexpected::Unsigned(index),
                &"variant index 0 <= i < 2",
            )),
        }
    }

    fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<Kind, E> {
        match word {
            "card" => Ok(Kind::Card),
            "token" => Ok(Kind::Token),
            _ => Err(E::unknown_variant(word, KINDS)),
        }
    }

    fn visit_bytes<E: serde::de::Error>(self, word: &[u8]) -> Result<Kind, E> {
        match word {
            b"card" => Ok(Kind::Card),
            b"token" => Ok(Kind::Token),
            _ => Err(E::unknown_variant(&String::from_utf8_lossy(word), KINDS)),
        }
    }
}

/// The object: its `type` (once) and its other members, in order.
struct Tagged;

impl<'de> Visitor<'de> for Tagged {
    type Value = (Kind, Vec<(String, Value)>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("internally tagged enum PaymentMethod")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut kind = None;
        let mut members = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if name == "type" {
                if kind.is_some() {
                    return Err(M::Error::duplicate_field("type"));
                }
                kind = Some(map.next_value::<Kind>()?);
            } else {
                members.push((name, map.next_value::<Value>()?));
            }
        }
        match kind {
            Some(kind) => Ok((kind, members)),
            None => Err(M::Error::missing_field("type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the API reads a body (`backend::api::parse_body`, through `crate::json_path`):
    /// what it answers is built from the path and the error.
    fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, (String, String, bool)> {
        let value =
            crate::json_path::value(body).map_err(|e| (String::new(), format!("{e:?}"), false))?;
        crate::json_path::typed(&value).map_err(|e| {
            let (path, error) = (format!("{:?}", e.path), e.error);
            (path, error.to_string(), error.is_data())
        })
    }

    /// The derive this reading replaced, kept to compare against (its name too: the name
    /// is in the derive's words).
    mod derived {
        use super::CardDetails;

        #[derive(Debug, serde::Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case")]
        #[allow(dead_code)]
        pub enum PaymentMethod {
            Card(CardDetails),
            Token {
                token: String,
                #[serde(default)]
                bin: Option<String>,
            },
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body<T> {
        payment_method: T,
    }

    /// Every body answers as with the derive: the same method, or the same refusal in the
    /// same words at the same path.
    #[test]
    fn every_payment_method_reads_as_the_derive_read_it() {
        let card = r#""number":"4000000000001000","expiryMonth":12,"expiryYear":2040,"cvv":"123","holderName":"Jo Doe""#;
        let bodies = [
            format!(r#"{{"paymentMethod":{{"type":"card",{card}}}}}"#),
            format!(r#"{{"paymentMethod":{{{card},"type":"card","colour":1}}}}"#),
            r#"{"paymentMethod":{"type":"token","token":"tok_1"}}"#.to_owned(),
            r#"{"paymentMethod":{"token":"tok_1","number":5,"type":"token"}}"#.to_owned(),
            format!(r#"{{"paymentMethod":{{{card}}}}}"#),
            format!(r#"{{"paymentMethod":{{"type":"card","type":"card",{card}}}}}"#),
            format!(r#"{{"paymentMethod":{{"type":"cash",{card}}}}}"#),
            format!(r#"{{"paymentMethod":{{"type":5,{card}}}}}"#),
            format!(r#"{{"paymentMethod":{{"type":null,{card}}}}}"#),
            format!(r#"{{"paymentMethod":{{"type":"card",{card},"number":"4000000000001000"}}}}"#),
            r#"{"paymentMethod":{"type":"card","number":4000000000001000,"expiryMonth":12,"expiryYear":2040,"cvv":"123","holderName":"Jo"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"card","number":"4000000000001000","expiryMonth":13,"expiryYear":2040,"cvv":"123","holderName":"Jo"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"card","number":"4000000000001000","expiryMonth":1.5,"expiryYear":2040,"cvv":"123","holderName":"Jo"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"card","number":"4000000000001000","expiryMonth":"1","expiryYear":2040,"cvv":"123","holderName":"Jo"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"card","number":"4000000000001000","expiryMonth":1,"expiryYear":300,"cvv":"12","holderName":"Jo"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"card","number":"4000000000001000","expiryMonth":1,"expiryYear":2040,"cvv":"12","holderName":"Jo"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"card","number":"4000000000001001","expiryMonth":1,"expiryYear":2040,"cvv":"123"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"token"}}"#.to_owned(),
            r#"{"paymentMethod":{"type":"token","token":5}}"#.to_owned(),
            r#"{"paymentMethod":{}}"#.to_owned(),
            r#"{"paymentMethod":"card"}"#.to_owned(),
            r#"{"paymentMethod":5}"#.to_owned(),
            r#"{"paymentMethod":null}"#.to_owned(),
            r#"{"paymentMethod":{"type":"card","number":"#.to_owned(),
        ];
        let mut refused = 0;
        for body in &bodies {
            let now = parse::<Body<PaymentMethod>>(body);
            let before = parse::<Body<derived::PaymentMethod>>(body);
            match (now, before) {
                (Ok(now), Ok(before)) => assert_eq!(
                    format!("{:?}", now.payment_method),
                    format!("{:?}", before.payment_method),
                    "{body}"
                ),
                (Err(now), Err(before)) => {
                    refused += 1;
                    assert_eq!(now, before, "{body}");
                }
                (now, before) => panic!("{body}: {now:?} / {before:?}"),
            }
        }
        assert_eq!(
            refused,
            bodies.len() - 4,
            "all but the four good ones refused"
        );
    }
}

//! A JSON scalar that may come as text or as a number ([`TextOrNumber`]): what the wire
//! members read as `#[serde(untagged)] enum { Text(String), Number(…) }` were (`Eci`,
//! Bambora's `id`/`approved`/`message_id`, dLocal's codes). The derive buffers such a
//! member in serde's `Content` first and expands a `Content` reader of each variant; here
//! one visitor per deserializer reads any of them. Each reader keeps the derive's answer
//! for every JSON value: what it accepted it accepts, anything else is refused with the
//! derive's words ("data did not match any variant of untagged enum …", [`unmatched`]).

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One JSON value as such a member sees it: a string, a number (unsigned, negative or
/// not an integer, as serde_json tells them apart), `null`, or anything else (`Other`:
/// `true`, an array, an object, read past and dropped).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TextOrNumber {
    Text(String),
    Unsigned(u64),
    Negative(i64),
    Float(f64),
    Null,
    Other,
}

/// The error the derive gave when no variant of the untagged enum `name` matched.
pub(crate) fn unmatched<E: Error>(name: &str) -> E {
    E::custom(format_args!(
        "data did not match any variant of untagged enum {name}"
    ))
}

impl<'de> Deserialize<'de> for TextOrNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = TextOrNumber;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string or a number")
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<TextOrNumber, E> {
        Ok(TextOrNumber::Text(text.to_owned()))
    }

    fn visit_string<E: Error>(self, text: String) -> Result<TextOrNumber, E> {
        Ok(TextOrNumber::Text(text))
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<TextOrNumber, E> {
        Ok(TextOrNumber::Unsigned(n))
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<TextOrNumber, E> {
        Ok(match u64::try_from(n) {
            Ok(n) => TextOrNumber::Unsigned(n),
            Err(_) => TextOrNumber::Negative(n),
        })
    }

    fn visit_f64<E: Error>(self, f: f64) -> Result<TextOrNumber, E> {
        Ok(TextOrNumber::Float(f))
    }

    fn visit_unit<E: Error>(self) -> Result<TextOrNumber, E> {
        Ok(TextOrNumber::Null)
    }

    fn visit_none<E: Error>(self) -> Result<TextOrNumber, E> {
        Ok(TextOrNumber::Null)
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<TextOrNumber, E> {
        Ok(TextOrNumber::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TextOrNumber, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TextOrNumber::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TextOrNumber, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(TextOrNumber::Other)
    }
}

/// A reading's outcome as text, to compare two readers: the value's `Debug`, or the
/// error's words and position.
#[cfg(all(test, feature = "json"))]
pub(crate) fn outcome<T: std::fmt::Debug>(read: Result<T, serde_json::Error>) -> String {
    match read {
        Ok(value) => format!("{value:?}"),
        Err(error) => format!("error: {error}"),
    }
}

/// JSON values of every kind a text-or-number member may meet.
#[cfg(all(test, feature = "json"))]
pub(crate) const INPUTS: &[&str] = &[
    r#""05""#,
    r#""5""#,
    r#""""#,
    r#""ab""#,
    r#""100""#,
    r#""  7 ""#,
    r#""é""#,
    "0",
    "5",
    "7",
    "99",
    "100",
    "255",
    "256",
    "18446744073709551615",
    "-1",
    "-9223372036854775808",
    "5.0",
    "1e3",
    "-0.5",
    "1.5e300",
    "null",
    "true",
    "false",
    "[]",
    "[1, 2]",
    "{}",
    r#"{"a": 1}"#,
];

#[cfg(all(test, feature = "json"))]
mod tests {
    use super::{outcome, INPUTS};
    use crate::emv::Eci;
    use serde::Deserialize;

    /// `Eci`'s reading before: the derive's untagged enum.
    #[derive(Debug, PartialEq)]
    struct DeriveEci(Eci);

    impl<'de> Deserialize<'de> for DeriveEci {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Wire {
                Text(String),
                Number(u8),
            }
            match Wire::deserialize(deserializer)? {
                Wire::Text(text) => Eci::parse(&text).map_err(serde::de::Error::custom),
                Wire::Number(n) => {
                    Eci::new(n).ok_or_else(|| serde::de::Error::custom("eci above 99"))
                }
            }
            .map(DeriveEci)
        }
    }

    #[derive(Debug, Deserialize)]
    struct Holder<T> {
        #[allow(dead_code)]
        eci: T,
    }

    /// `Eci` reads every kind of JSON value as the derive did, from text (alone and as a
    /// member: the same words and positions) and from a value: a string or an integer of
    /// 0–99, anything else refused.
    #[test]
    fn eci_reads_as_the_derive_read_it() {
        for input in INPUTS {
            let now = serde_json::from_str::<Eci>(input).map(DeriveEci);
            let before = serde_json::from_str::<DeriveEci>(input);
            assert_eq!(outcome(now), outcome(before), "{input}");
            let member = format!(r#"{{"eci": {input}, "more": 1}}"#);
            let now = serde_json::from_str::<Holder<Eci>>(&member).map(|h| DeriveEci(h.eci));
            let before = serde_json::from_str::<Holder<DeriveEci>>(&member).map(|h| h.eci);
            assert_eq!(outcome(now), outcome(before), "{member}");
            let value: serde_json::Value = serde_json::from_str(input).unwrap();
            let now = Eci::deserialize(&value).map(DeriveEci);
            let before = DeriveEci::deserialize(&value);
            assert_eq!(outcome(now), outcome(before), "{input} as a value");
        }
        assert_eq!(
            serde_json::from_str::<Eci>("5").unwrap(),
            Eci::new(5).unwrap()
        );
        assert_eq!(
            serde_json::from_str::<Eci>(r#""05""#).unwrap(),
            Eci::new(5).unwrap()
        );
        assert!(serde_json::from_str::<Eci>("100").is_err());
        assert!(serde_json::from_str::<Eci>("5.0").is_err());
    }
}

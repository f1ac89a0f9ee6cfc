//! A JSON text read into a `serde_json::Value`, a key given twice refused by its path (or
//! kept as the last one, when asked).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{Chain, Track};

/// What becomes of a key given twice in one object.
#[derive(Clone, Copy)]
pub(super) enum Repeated {
    Refused,
    LastKept,
}

/// A JSON value, a key given twice as `repeated` says; `at` is its path.
pub(super) struct UniqueKeys<'a> {
    pub(super) at: &'a Chain<'a>,
    pub(super) track: &'a Track,
    pub(super) repeated: Repeated,
}

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let at = Chain::Index(self.at, items.len());
            let seed = UniqueKeys { at: &at, ..self };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = Chain::Member(self.at, &key);
            if matches!(self.repeated, Repeated::Refused) && members.contains_key(&key) {
                self.track.at(&at);
                return Err(de::Error::custom("given twice"));
            }
            let value = map.next_value_seed(UniqueKeys { at: &at, ..self })?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

//! Reading a stored, internally tagged JSON object by hand, in the shape serde's derived
//! `Serialize` writes it (`#[serde(tag = "…")]`, flattened members beside the tag). The
//! derive's `Deserialize` for that shape buffers the whole value in serde's private
//! `Content` type and expands a visitor per variant over it, for every deserializer the
//! type is read through: the largest part of the edge wasm's deserializers. These take the
//! stored object once (as a `serde_json::Value`) and each member by name. As the derive
//! does: unknown members are ignored, a missing `Option` member is `None`, any other missing
//! member is an error ("missing field").

use serde::de::{DeserializeOwned, Error as _, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The members of the object `deserializer` holds; `what` names it in the error.
pub(crate) fn members<'de, D: Deserializer<'de>>(
    deserializer: D,
    what: &str,
) -> Result<Map<String, Value>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Object(members) => Ok(members),
        _ => Err(D::Error::custom(format_args!("{what} is a JSON object"))),
    }
}

/// A stored object read from its text: its members parsed once and `read` from them, with
/// no text reading of the type itself (the edge's stores: one reader less in the wasm).
pub(crate) fn from_text<T>(
    text: &str,
    what: &str,
    read: fn(&mut Map<String, Value>) -> Result<T, serde_json::Error>,
) -> Result<T, serde_json::Error> {
    match crate::json_path::value(text).map_err(crate::json_path::NotRead::into_error)? {
        Value::Object(mut members) => read(&mut members),
        _ => Err(serde_json::Error::custom(format_args!(
            "{what} is a JSON object"
        ))),
    }
}

/// Member `name`, taken out of `members` (absent: `None` for an `Option`, else an error).
/// Its value is taken and a null left in its place, not the member removed: what `rest`
/// then reads ignores it as the derive ignores a member no field names, and the map is
/// not rebalanced for each member read (in the edge wasm, no code for it either).
pub(crate) fn take<T: DeserializeOwned>(
    members: &mut Map<String, Value>,
    name: &'static str,
) -> Result<T, serde_json::Error> {
    match members.get_mut(name).map(Value::take) {
        Some(value) => crate::json_path::typed(&value)
            .map_err(|e| serde_json::Error::custom(format_args!("{name}: {}", e.error))),
        None => T::deserialize(Missing(name)),
    }
}

/// Member `name`, or its type's default when absent (`#[serde(default)]`).
pub(crate) fn take_or_default<T: DeserializeOwned + Default>(
    members: &mut Map<String, Value>,
    name: &'static str,
) -> Result<T, serde_json::Error> {
    match members.contains_key(name) {
        true => take(members, name),
        false => Ok(T::default()),
    }
}

/// The members left: a newtype variant's struct (or a flattened one), its members beside
/// the tag.
pub(crate) fn rest<T: DeserializeOwned>(
    members: &mut Map<String, Value>,
) -> Result<T, serde_json::Error> {
    let members = Value::Object(std::mem::take(members));
    crate::json_path::typed(&members).map_err(|e| e.error)
}

/// An absent member, as serde's derive reads one: `None` to an `Option`, else
/// "missing field".
struct Missing(&'static str);

impl<'de> Deserializer<'de> for Missing {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, serde_json::Error> {
        Err(serde_json::Error::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// A tag no variant has.
pub(crate) fn unknown_tag(what: &str, tag: &str) -> serde_json::Error {
    serde_json::Error::custom(format_args!("{what}: unknown tag `{tag}`"))
}

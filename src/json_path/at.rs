//! A `serde_json::Value` read into a type, as `&serde_json::Value` reads it, noting the
//! path of the first error.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde_json::{Error, Value};

use super::{Chain, Track};

/// A value being read into a type, at `chain`. It answers each type's reading as
/// `&serde_json::Value` does, in the same words, but one: a struct is read only from an
/// object. serde's readers also read one from an array, its members by the order the
/// struct declares them (`["Jo", "jo@example.com"]` for a payer), which no document we
/// read allows; refusing it also leaves out each struct's reading of a sequence, 20 KB of
/// the edge wasm gzipped (docs/edge/measurements.md).
#[derive(Clone, Copy)]
pub(super) struct At<'a, 'de> {
    pub(super) value: &'de Value,
    pub(super) chain: &'a Chain<'a>,
    pub(super) track: &'a Track,
}

impl<'a, 'de> At<'a, 'de> {
    fn noted<T>(self, read: Result<T, Error>) -> Result<T, Error> {
        if read.is_err() {
            self.track.at(self.chain);
        }
        read
    }

    fn any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => n.deserialize_any(visitor),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => self.elements(items, visitor),
            Value::Object(members) => self.members(members, visitor),
        }
    }

    fn elements<V: Visitor<'de>>(self, items: &'de [Value], visitor: V) -> Result<V::Value, Error> {
        let mut elements = Elements {
            items: items.iter(),
            index: 0,
            chain: self.chain,
            track: self.track,
        };
        let read = visitor.visit_seq(&mut elements)?;
        match elements.items.len() {
            0 => Ok(read),
            _ => Err(de::Error::invalid_length(
                items.len(),
                &"fewer elements in array",
            )),
        }
    }

    fn members<V: Visitor<'de>>(
        self,
        members: &'de serde_json::Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let mut left = Members {
            members: members.iter(),
            pending: None,
            chain: self.chain,
            track: self.track,
        };
        let read = visitor.visit_map(&mut left)?;
        match left.members.len() {
            0 => Ok(read),
            _ => Err(de::Error::invalid_length(
                members.len(),
                &"fewer elements in map",
            )),
        }
    }

    /// An externally tagged enum: a variant's name, or an object of one member, the
    /// variant's name and its content (read at the enum's own path, as
    /// serde_path_to_error's paths did once their variant steps were left out).
    fn variant<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let (name, content) = match self.value {
            Value::String(name) => (name.as_str(), None),
            Value::Object(members) => {
                let mut members = members.iter();
                match (members.next(), members.next()) {
                    (Some((name, content)), None) => (name.as_str(), Some(content)),
                    _ => {
                        return Err(de::Error::invalid_value(
                            Unexpected::Map,
                            &"map with a single key",
                        ))
                    }
                }
            }
            other => return Err(de::Error::invalid_type(unexpected(other), &"string or map")),
        };
        visitor.visit_enum(Variant {
            name,
            content,
            at: self,
        })
    }
}

/// Readings that take one kind of value, as `&serde_json::Value` has them: that kind
/// read, any other refused as the wrong type (a tag's or a field's name given as a number
/// is not read as the variant's index, say). Each reads only its kind, so that a type's
/// visitor is not compiled with every other kind's reading.
macro_rules! only {
    ($($method:ident)* : $kind:pat => |$at:ident, $visitor:ident| $read:expr) => {
        $(
            fn $method<V: Visitor<'de>>(self, $visitor: V) -> Result<V::Value, Error> {
                let $at = self;
                let read = match $at.value {
                    $kind => $read,
                    other => Err(de::Error::invalid_type(unexpected(other), &$visitor)),
                };
                $at.noted(read)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for At<'_, 'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.noted(self.any(visitor))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let read = match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        };
        self.noted(read)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.noted(visitor.visit_newtype_struct(self))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.noted(self.variant(visitor))
    }

    only! { deserialize_bool: Value::Bool(b) => |at, visitor| visitor.visit_bool(*b) }
    only! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64: Value::Number(n) => |at, visitor| n.deserialize_any(visitor)
    }
    only! {
        deserialize_char deserialize_str deserialize_string deserialize_identifier:
        Value::String(s) => |at, visitor| visitor.visit_borrowed_str(s)
    }
    only! {
        deserialize_bytes deserialize_byte_buf:
        Value::String(_) | Value::Array(_) => |at, visitor| at.any(visitor)
    }
    only! { deserialize_unit: Value::Null => |at, visitor| visitor.visit_unit() }
    only! { deserialize_seq: Value::Array(items) => |at, visitor| at.elements(items, visitor) }
    only! { deserialize_map: Value::Object(members) => |at, visitor| at.members(members, visitor) }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

/// An object's members, each read at its key's path.
struct Members<'a, 'de> {
    members: serde_json::map::Iter<'de>,
    /// The member whose key was read and whose value is next.
    pending: Option<(&'de str, &'de Value)>,
    chain: &'a Chain<'a>,
    track: &'a Track,
}

impl<'de> MapAccess<'de> for Members<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.members.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(BorrowedStrDeserializer::<Error>::new(key))
            .map(Some)
            .inspect_err(|_| self.track.at(&Chain::Member(self.chain, key)))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        let Some((key, value)) = self.pending.take() else {
            return Err(de::Error::custom("value is missing"));
        };
        // Noted here too: a type that buffers its value (a tagged enum, `flatten`) reads
        // it after this value's own reading has ended.
        let chain = Chain::Member(self.chain, key);
        seed.deserialize(At {
            value,
            chain: &chain,
            track: self.track,
        })
        .inspect_err(|_| self.track.at(&chain))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.members.len())
    }
}

/// An array's elements, each read at its index's path.
struct Elements<'a, 'de> {
    items: std::slice::Iter<'de, Value>,
    index: usize,
    chain: &'a Chain<'a>,
    track: &'a Track,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        let Some(value) = self.items.next() else {
            return Ok(None);
        };
        let chain = Chain::Index(self.chain, self.index);
        self.index += 1;
        seed.deserialize(At {
            value,
            chain: &chain,
            track: self.track,
        })
        .map(Some)
        .inspect_err(|_| self.track.at(&chain))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// An externally tagged enum's variant: its name and what it holds, if anything.
struct Variant<'a, 'de> {
    name: &'de str,
    content: Option<&'de Value>,
    at: At<'a, 'de>,
}

impl<'a, 'de> Variant<'a, 'de> {
    fn content_at(&self, value: &'de Value) -> At<'a, 'de> {
        At { value, ..self.at }
    }
}

impl<'a, 'de> EnumAccess<'de> for Variant<'a, 'de> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let name = seed.deserialize(BorrowedStrDeserializer::<Error>::new(self.name))?;
        Ok((name, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, 'de> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.content {
            None => Ok(()),
            Some(content) => <()>::deserialize(self.content_at(content)),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        match self.content {
            Some(content) => {
                let at = self.content_at(content);
                seed.deserialize(at).inspect_err(|_| at.track.at(at.chain))
            }
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"newtype variant",
            )),
        }
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        match self.content {
            Some(content @ Value::Array(_)) => self.content_at(content).deserialize_any(visitor),
            Some(other) => Err(de::Error::invalid_type(unexpected(other), &"tuple variant")),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"tuple variant",
            )),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.content {
            Some(content @ Value::Object(_)) => self.content_at(content).deserialize_map(visitor),
            Some(other) => Err(de::Error::invalid_type(
                unexpected(other),
                &"struct variant",
            )),
            None => Err(de::Error::invalid_type(
                Unexpected::UnitVariant,
                &"struct variant",
            )),
        }
    }
}

/// A value's kind for serde's "invalid type" message, as serde_json names it.
fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (None, Some(i)) => Unexpected::Signed(i),
            (None, None) => Unexpected::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

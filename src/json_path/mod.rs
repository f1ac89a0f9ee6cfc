//! The crate's JSON reading: a text into a `serde_json::Value` ([`value`], one text reader
//! for everything), and a value into its type ([`typed`]) by a deserializer that keeps the
//! path of what failed (`paymentMethod.cvv`, `providers.paysafe.api_user`), as
//! serde_path_to_error did around serde_json's readers for the request bodies and the
//! configuration. Provider answers, an ACS's messages ([`from_text`]) and stored objects
//! are read the same way. Each type's reading is then compiled once, for this
//! deserializer, instead of for serde_json's text reader, its value readers and
//! serde_path_to_error's wrapper of each: 15 KB of the edge wasm gzipped (docs/edge.md).

use std::cell::Cell;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Unexpected,
    VariantAccess, Visitor,
};
use serde_json::{Error, Value};

/// One step of a path: an object's member by its key, or an array's element by its index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Member(String),
    Index(usize),
}

/// Why [`value`] refused a text.
#[derive(Debug)]
pub enum NotRead {
    NotJson(Error),
    /// The path of the second one, and its line.
    KeyTwice {
        path: Vec<Segment>,
        line: usize,
    },
}

impl NotRead {
    /// As a serde_json error, for readers that answer one.
    pub fn into_error(self) -> Error {
        match self {
            NotRead::NotJson(e) => e,
            NotRead::KeyTwice { line, .. } => {
                de::Error::custom(format_args!("a key given twice (line {line})"))
            }
        }
    }
}

/// Why [`typed`] refused a value: serde's error about the value at `path`.
#[derive(Debug)]
pub struct Refusal {
    pub path: Vec<Segment>,
    pub error: Error,
}

/// A JSON text as a value, all of it (nothing but whitespace after the value). A key
/// given twice in one object is refused with its path: a `serde_json::Value` would keep the
/// second silently, and a member written twice would then be whichever came last.
pub fn value(text: &str) -> Result<Value, NotRead> {
    read_value(text, Repeated::Refused)
}

/// A JSON text as a value, a key given twice kept as the last one, as serde_json's own
/// reader keeps it: for a body read only to look at a few members before it is read
/// strictly ([`value`]), whose refusal must come later.
pub fn value_last_wins(text: &str) -> Result<Value, Error> {
    read_value(text, Repeated::LastKept).map_err(NotRead::into_error)
}

/// The one text reader of the crate's JSON: the bodies, the configuration, provider
/// answers and stored objects, so that the wasm compiles serde_json's parser once.
fn read_value(text: &str, repeated: Repeated) -> Result<Value, NotRead> {
    let track = Track::default();
    let mut reader = serde_json::Deserializer::from_str(text);
    let read = UniqueKeys {
        at: &Chain::Root,
        track: &track,
        repeated,
    }
    .deserialize(&mut reader)
    .and_then(|value| reader.end().map(|()| value));
    read.map_err(|e| match track.take() {
        Some(path) => NotRead::KeyTwice {
            path,
            line: e.line(),
        },
        None => NotRead::NotJson(e),
    })
}

/// `value` read into `T`; a refusal carries the path of the value the first error was
/// about: the member or element itself for a wrong type or value and an unknown key, the
/// object for a missing member.
pub fn typed<'de, T: Deserialize<'de>>(value: &'de Value) -> Result<T, Refusal> {
    let track = Track::default();
    T::deserialize(At {
        value,
        chain: &Chain::Root,
        track: &track,
    })
    .map_err(|error| Refusal {
        path: track.take().unwrap_or_default(),
        error,
    })
}

/// A JSON text from outside (a provider's answer, an ACS's CRes) read into `T` through a
/// value, as [`value`] and [`typed`] read a request body: a key given twice refused, as
/// serde's derive refuses a member given twice, but no path kept. Read so, the wasm
/// compiles one deserializer for every type instead of serde_json's text reader for
/// each answer type besides this one for the bodies (docs/edge.md).
pub fn from_text<T: de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let value = value(text).map_err(NotRead::into_error)?;
    typed(&value).map_err(|refusal| refusal.error)
}

/// The way from the root to a value, kept on the stack while it is read.
enum Chain<'a> {
    Root,
    Member(&'a Chain<'a>, &'a str),
    Index(&'a Chain<'a>, usize),
}

impl Chain<'_> {
    fn path(&self) -> Vec<Segment> {
        match self {
            Chain::Root => Vec::new(),
            Chain::Member(parent, key) => {
                let mut path = parent.path();
                path.push(Segment::Member((*key).to_owned()));
                path
            }
            Chain::Index(parent, index) => {
                let mut path = parent.path();
                path.push(Segment::Index(*index));
                path
            }
        }
    }
}

/// The path of the first error, the innermost: each reader notes its own path when its
/// read fails, and an error passes the inner readers first.
#[derive(Default)]
struct Track(Cell<Option<Vec<Segment>>>);

impl Track {
    fn at(&self, chain: &Chain) {
        let noted = self.0.take().unwrap_or_else(|| chain.path());
        self.0.set(Some(noted));
    }

    fn take(&self) -> Option<Vec<Segment>> {
        self.0.take()
    }
}

/// What becomes of a key given twice in one object.
#[derive(Clone, Copy)]
enum Repeated {
    Refused,
    LastKept,
}

/// A JSON value, a key given twice as `repeated` says; `at` is its path.
struct UniqueKeys<'a> {
    at: &'a Chain<'a>,
    track: &'a Track,
    repeated: Repeated,
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

/// A value being read into a type, at `chain`. It answers each type's reading as
/// `&serde_json::Value` does, in the same words, but one: a struct is read only from an
/// object. serde's readers also read one from an array, its members by the order the
/// struct declares them (`["Jo", "jo@example.com"]` for a payer), which no document we
/// read allows; refusing it also leaves out each struct's reading of a sequence, 20 KB of
/// the edge wasm gzipped (docs/edge.md).
#[derive(Clone, Copy)]
struct At<'a, 'de> {
    value: &'de Value,
    chain: &'a Chain<'a>,
    track: &'a Track,
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

#[cfg(test)]
pub(crate) mod tests;

//! The crate's JSON reading: a text into a `serde_json::Value` ([`value`], one text reader for
//! everything), and a value into its type ([`typed`]) by a deserializer that keeps the path of
//! what failed (`paymentMethod.cvv`, `providers.paysafe.api_user`), as serde_path_to_error did
//! around serde_json's readers for the request bodies and the configuration. Provider answers,
//! an ACS's messages ([`from_text`]) and stored objects are read the same way. Each type's
//! reading is then compiled once, for this deserializer, instead of for serde_json's text
//! reader, its value readers and serde_path_to_error's wrapper of each: 15 KB of the edge wasm
//! gzipped (docs/edge/measurements.md).
//!
//! Two parts, a file each: `text` reads a text into a value, each key once; `at` reads a
//! value into a type, noting the path of what failed.

mod at;
mod text;

use std::cell::Cell;

use serde::de::{self, Deserialize, DeserializeSeed};
use serde_json::{Error, Value};

use at::At;
use text::{Repeated, UniqueKeys};

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
/// each answer type besides this one for the bodies (docs/edge/measurements.md).
pub fn from_text<T: de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let value = value(text).map_err(NotRead::into_error)?;
    typed(&value).map_err(|refusal| refusal.error)
}

/// What follows the last `marker` in serde's message `text`: its expectation comes last,
/// and what comes before may quote the value sent, which may hold `marker` too. Forward
/// searches to the last one, with the searcher every `split_once` uses: a reverse one
/// (`rsplit_once`) brought its own into the edge worker, 0.4 KB.
pub fn after_last<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let (_, mut rest) = text.split_once(marker)?;
    while let Some((_, after)) = rest.split_once(marker) {
        rest = after;
    }
    Some(rest)
}

/// What serde said it expected (`u64`, `struct PayerInput`, `a sequence`), as the kind of
/// JSON value a document's writer knows (`a non-negative integer`, `an object`, `an
/// array`): a request body's or a configuration's error names no Rust type.
pub fn json_kind(expected: &str) -> &str {
    match expected.split(' ').next().unwrap_or_default() {
        // The bound of a narrow one is named: `5000000000` is refused for a `u32`.
        "u8" => "an integer from 0 to 255",
        "u16" => "an integer from 0 to 65535",
        "u32" => "an integer from 0 to 4294967295",
        "u64" | "u128" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        // Any struct is read only from an object (`at`).
        "struct" | "internally" => "an object",
        // An enum of names (`unit_variant`), a variant's or a tag's name.
        "enum" | "variant" => "a string",
        _ => match expected {
            "a map" => "an object",
            "a sequence" => "an array",
            // A derived enum's reading (`at`): a variant by its name, or one with content.
            "string or map" => "a string or an object",
            "map with a single key" => "an object with a single member",
            _ => expected,
        },
    }
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

#[cfg(test)]
pub(crate) mod tests;

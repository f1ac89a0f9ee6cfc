//! Checks of a type read back by hand (`crate::provider::stored`) against what its derived
//! `Serialize` writes, at every depth of the stored object: the derive's rules, kept.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// Each of `values` reads back as it was written, from a JSON value and from text; at
/// every object inside it, a member removed is refused unless it is null (an `Option`)
/// or `may_be_absent(path, name)` says the derive defaults it, a tag (a member named in
/// `tags`) with an unknown word is refused, and a member added is ignored. A value that
/// is not an object is refused.
pub(crate) fn assert_reads_as_the_derive<T>(
    values: &[T],
    tags: &[&str],
    may_be_absent: impl Fn(&[String], &str) -> bool,
) where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let read = |value: &Value| T::deserialize(value);
    for expected in values {
        let stored = serde_json::to_value(expected).expect("serializes");
        assert_eq!(&read(&stored).expect("reads"), expected, "{stored}");
        let text = serde_json::to_string(expected).expect("serializes");
        assert_eq!(&serde_json::from_str::<T>(&text).expect("reads"), expected);
        objects(&stored, &mut Vec::new(), &mut |path, members| {
            for (name, member) in members {
                let without = changed(&stored, path, |m| {
                    m.remove(name);
                });
                let refused = !member.is_null() && !may_be_absent(path, name);
                assert_eq!(
                    read(&without).is_err(),
                    refused,
                    "{path:?}.{name} missing: {stored}"
                );
                if tags.contains(&name.as_str()) {
                    let unknown = changed(&stored, path, |m| {
                        m.insert(name.clone(), json!("levitating"));
                    });
                    assert!(read(&unknown).is_err(), "{path:?}.{name} unknown: {stored}");
                }
            }
            let extra = changed(&stored, path, |m| {
                m.insert("later_member".into(), json!(1));
            });
            assert_eq!(
                &read(&extra).expect("reads"),
                expected,
                "{path:?}: {stored}"
            );
        });
    }
    for not_an_object in [json!(null), json!(3), json!("final"), json!([])] {
        assert!(read(&not_an_object).is_err(), "{not_an_object}");
    }
}

/// What is done with each object: its path and its members.
type EachObject<'a> = dyn FnMut(&[String], &Map<String, Value>) + 'a;

/// Calls `each` with the object at every member path (the top one first).
fn objects(value: &Value, path: &mut Vec<String>, each: &mut EachObject<'_>) {
    if let Value::Object(members) = value {
        each(path, members);
        for (name, member) in members {
            path.push(name.clone());
            objects(member, path, each);
            path.pop();
        }
    }
}

/// `stored` with the object at `path` changed by `change`.
fn changed(stored: &Value, path: &[String], change: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut stored = stored.clone();
    let target = path
        .iter()
        .fold(&mut stored, |value, name| &mut value[name.as_str()]);
    change(target.as_object_mut().expect("an object"));
    stored
}

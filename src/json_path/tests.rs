//! `typed` against what it replaced (the API's bodies: `backend::api`'s tests), serde_path_to_error around serde_json's readers: over
//! every type the API and the configuration read, each value changed at every depth (each
//! member removed, replaced by a value of every kind, an unknown member added), the same
//! value or the same error at the same path.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::*;

/// What a reading came to: the value's `Debug`, or the path, the error's words without
/// serde_json's position, and whether it is about the data.
pub(crate) type Outcome = Result<String, (Vec<Segment>, String, bool)>;

fn before_path(path: &serde_path_to_error::Path) -> Vec<Segment> {
    use serde_path_to_error::Segment as Old;
    path.iter()
        .filter_map(|segment| match segment {
            Old::Map { key } => Some(Segment::Member(key.clone())),
            Old::Seq { index } => Some(Segment::Index(*index)),
            Old::Enum { .. } | Old::Unknown => None,
        })
        .collect()
}

fn words(error: &serde_json::Error) -> String {
    let text = error.to_string();
    text.split(" at line ")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// The API's bodies as they were read: the text reader, wrapped.
pub(crate) fn before_text<T: DeserializeOwned + std::fmt::Debug>(text: &str) -> Outcome {
    let mut reader = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, T>(&mut reader)
        .map(|value| format!("{value:?}"))
        .map_err(|e| (before_path(e.path()), words(e.inner()), e.inner().is_data()))
}

/// The configuration as it was read: the value's reader, wrapped.
#[cfg(feature = "native")]
fn before_value<T: DeserializeOwned + std::fmt::Debug>(value: &Value) -> Outcome {
    serde_path_to_error::deserialize::<_, T>(value.clone())
        .map(|value| format!("{value:?}"))
        .map_err(|e| (before_path(e.path()), words(e.inner()), e.inner().is_data()))
}

fn now<T: DeserializeOwned + std::fmt::Debug>(value: &Value) -> Outcome {
    typed::<T>(value)
        .map(|value| format!("{value:?}"))
        .map_err(|e| (e.path, words(&e.error), e.error.is_data()))
}

/// JSON pointers to every value in `value`, the root first.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(member, format!("{at}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{index}"), out);
            }
        }
        _ => {}
    }
}

/// `value` changed in one place, every way.
fn changed(value: &Value) -> Vec<Value> {
    let kinds = [
        json!(null),
        json!(true),
        json!(7),
        json!(-7),
        json!(1.5),
        json!(""),
        json!("x"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"zz": 1}),
    ];
    let mut at = Vec::new();
    pointers(value, String::new(), &mut at);
    let mut out = vec![value.clone()];
    for pointer in &at {
        for kind in &kinds {
            let mut one = value.clone();
            *one.pointer_mut(pointer).expect("a pointer of the value") = kind.clone();
            out.push(one);
        }
        if let Some(Value::Object(members)) = value.pointer(pointer) {
            for key in members.keys().chain([&"zz_unknown".to_owned()]) {
                let mut one = value.clone();
                let object = one.pointer_mut(pointer).and_then(Value::as_object_mut);
                let object = object.expect("an object");
                if object.remove(key).is_none() {
                    object.insert(key.clone(), json!(1));
                }
                out.push(one);
            }
        }
    }
    out
}

/// A difference by design: a struct given as an array is refused as the wrong type, where
/// serde's readers read its members from the elements in the order the struct declares
/// them (and so read it, or refused it for the elements' number or kinds).
fn struct_given_as_array(words: &str) -> bool {
    words.starts_with("invalid type: sequence, expected struct ")
}

/// The value at `path` in `value`.
fn at_path<'v>(value: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(value, |at, segment| match segment {
        Segment::Member(key) => at.get(key),
        Segment::Index(index) => at.get(index),
    })
}

/// Every change of `good` reads the same both ways; returns how many were refused.
///
/// Two differences are by design: a struct given as an array (above); and serde_json's
/// text reader refuses an enum given as neither a string nor an object of one member
/// (`"completion": null`, `{}`) as a syntax error, `expected value`, which the API
/// answered as a body that is not JSON; read from the value it is a wrong type or value
/// at the same path.
pub(crate) fn same_for_every_change<T: DeserializeOwned + std::fmt::Debug>(
    good: &Value,
    before: fn(&Value) -> Outcome,
) -> usize {
    assert!(now::<T>(good).is_ok(), "{good}: {:?}", now::<T>(good));
    let mut refused = 0;
    for value in changed(good) {
        let (now, before) = (now::<T>(&value), before(&value));
        match (&now, &before) {
            (Err((path, words, true)), _) if struct_given_as_array(words) => {
                let given = at_path(&value, path);
                assert!(matches!(given, Some(Value::Array(_))), "{value}: {path:?}");
            }
            (Err((path, words, true)), Err((at, syntax, false))) if syntax == "expected value" => {
                assert_eq!(path, at, "{value}");
                assert!(words.starts_with("invalid "), "{value}: {words}");
            }
            _ => assert_eq!(now, before, "{value}"),
        }
        refused += usize::from(now.is_err());
    }
    refused
}

#[cfg(feature = "native")]
#[test]
fn the_configuration_reads_as_the_value_reader_read_it() {
    use crate::backend::native::ServeConfig;
    let text = include_str!("../../examples/backend-sandbox.toml");
    let mut good: Value = toml::from_str(text).expect("the example is TOML");
    let secret = |_: &str| Some("a-secret-of-more-than-16-characters".to_owned());
    crate::backend::config_errors::resolve_refs(&mut good, &secret, "variable", "").unwrap();
    let refused = same_for_every_change::<ServeConfig>(&good, before_value::<ServeConfig>);
    assert!(refused > 300, "{refused}");
}

#[test]
fn paths_name_members_and_elements() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }
    let value = json!({"items": [{"n": 1}, {"n": 300}]});
    let refusal = typed::<Outer>(&value).unwrap_err();
    assert_eq!(
        refusal.path,
        [
            Segment::Member("items".into()),
            Segment::Index(1),
            Segment::Member("n".into())
        ]
    );
    assert_eq!(
        words(&refusal.error),
        "invalid value: integer `300`, expected u8"
    );
}

/// serde's readers read `[7]` as `Inner { n: 7 }`; ours refuses it at its path, in the
/// words serde uses for any other wrong type, and still reads an array of structs.
#[test]
fn a_struct_is_read_from_an_object_only() {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Inner {
        n: u8,
    }
    let positional = json!({"items": [{"n": 1}, [7]]});
    assert!(serde_json::from_value::<Outer>(positional.clone()).is_ok());
    let refusal = typed::<Outer>(&positional).unwrap_err();
    assert_eq!(
        refusal.path,
        [Segment::Member("items".into()), Segment::Index(1)]
    );
    assert_eq!(
        words(&refusal.error),
        "invalid type: sequence, expected struct Inner"
    );
    let read = typed::<Outer>(&json!({"items": [{"n": 1}, {"n": 7}]})).unwrap();
    assert_eq!(read.items, [Inner { n: 1 }, Inner { n: 7 }]);
}

/// What each reading expected, as `json_kind` names it to a document's writer.
#[test]
fn expectations_are_named_as_json_kinds() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        small: u16,
        signed: i64,
        list: Vec<u8>,
        inner: Inner,
        choice: Choice,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {}
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Choice {
        Plain,
        With(u8),
    }
    let good = json!({"small": 1, "signed": -1, "list": [], "inner": {}, "choice": "Plain"});
    assert!(typed::<Doc>(&good).is_ok());
    let expected = |member: &str, given: Value| {
        let mut doc = good.clone();
        doc[member] = given;
        let refusal = typed::<Doc>(&doc).unwrap_err();
        assert_eq!(refusal.path, [Segment::Member(member.into())]);
        let text = words(&refusal.error);
        let (_, serde_words) = text.split_once(", expected ").expect("an expectation");
        json_kind(&serde_words.replace('`', "")).to_owned()
    };
    assert_eq!(
        expected("small", json!(70_000)),
        "an integer from 0 to 65535"
    );
    assert_eq!(expected("signed", json!("-1")), "an integer");
    assert_eq!(expected("list", json!({})), "an array");
    assert_eq!(expected("inner", json!([])), "an object");
    assert_eq!(expected("choice", json!(5)), "a string or an object");
    assert_eq!(
        expected("choice", json!({"Plain": null, "With": 1})),
        "an object with a single member"
    );
    // Words that name no Rust type pass as they are.
    assert_eq!(json_kind("a string"), "a string");
    assert_eq!(json_kind("one of a, b"), "one of a, b");
}

#[test]
fn a_text_is_one_value_each_key_once() {
    let twice = value("{\"a\": [{\"b\": 1},\n {\"b\": 2, \"b\": 3}]}").unwrap_err();
    match twice {
        NotRead::KeyTwice { path, line } => {
            assert_eq!(
                path,
                [
                    Segment::Member("a".into()),
                    Segment::Index(1),
                    Segment::Member("b".into())
                ]
            );
            assert_eq!(line, 2);
        }
        other => panic!("{other:?}"),
    }
    for text in ["{} {}", "{\"a\": 1", "[1,]", "", "1 x"] {
        assert!(matches!(value(text), Err(NotRead::NotJson(_))), "{text}");
    }
    assert_eq!(
        value(" {\"a\": [1, 2.5, null]}\n").unwrap(),
        json!({"a": [1, 2.5, null]})
    );
}

/// `from_text` reads what serde_json's text reader read, in the same words (positions
/// aside), for every change of a CReq, which comes from outside; a key given twice is
/// refused, as the derive refused a member twice. (An ACS's notification, CRes or Erro, is
/// read from the members of [`value`]: `crate::emv::ChallengeOutcome`'s tests.)
#[test]
fn outside_texts_read_as_serde_json_read_them() {
    use crate::emv::CReq;
    fn same<T: DeserializeOwned + std::fmt::Debug>(good: &Value) -> usize {
        let mut refused = 0;
        for value in changed(good) {
            let text = value.to_string();
            let now = from_text::<T>(&text).map(|v| format!("{v:?}"));
            let before = serde_json::from_str::<T>(&text).map(|v| format!("{v:?}"));
            match (now, before) {
                (Err(now), _) if struct_given_as_array(&words(&now)) => {
                    refused += 1;
                    assert!(text.contains('['), "{text}: {now}");
                }
                (Ok(now), Ok(before)) => assert_eq!(now, before, "{text}"),
                (Err(now), Err(before)) => {
                    refused += 1;
                    // serde_json's text reader calls an enum given as neither a string
                    // nor an object of one member a syntax error (see above).
                    if before.is_syntax() && words(&before) == "expected value" {
                        assert!(now.is_data(), "{text}: {now}");
                    } else {
                        assert_eq!(words(&now), words(&before), "{text}");
                    }
                }
                (now, before) => panic!("{text}: {now:?} / {before:?}"),
            }
        }
        refused
    }
    let creq = json!({"threeDSServerTransID": "8a880dc0", "acsTransID": "d7c1ee99",
        "messageType": "CReq", "messageVersion": "2.2.0", "challengeWindowSize": "05"});
    assert!(same::<CReq>(&creq) > 40);
    let twice = r#"{"threeDSServerTransID": "8a880dc0", "acsTransID": "d7c1ee99",
        "messageType": "CReq", "messageVersion": "2.2.0", "challengeWindowSize": "05",
        "messageType": "CReq"}"#;
    let refused = from_text::<CReq>(twice).unwrap_err();
    assert_eq!(words(&refused), "a key given twice (line 3)");
    assert!(serde_json::from_str::<CReq>(twice).is_err());
}

/// The confirm's first look at a body keeps the last of a key given twice (the strict
/// reading refuses it later, counted as an attempt); both read the same value otherwise.
#[test]
fn the_last_of_a_key_given_twice_when_asked() {
    let text = r#"{"a": 1, "b": {"c": [true, null]}, "a": 2}"#;
    assert_eq!(
        value_last_wins(text).unwrap(),
        json!({"a": 2, "b": {"c": [true, null]}})
    );
    assert!(matches!(value(text), Err(NotRead::KeyTwice { .. })));
    let once = r#"{"a": 1, "b": {"c": [true, null]}}"#;
    assert_eq!(value_last_wins(once).unwrap(), value(once).unwrap());
    assert!(value_last_wins("{\"a\": 1} x").unwrap_err().is_syntax());
}

/// serde's expectation is what follows the last marker, whatever the value before it says.
#[test]
fn after_last_takes_what_follows_the_last_marker() {
    let marker = ", expected ";
    let quoted = "unknown variant `x, expected 4000`, expected `iframe` or `redirect`";
    assert_eq!(after_last(quoted, marker), Some("`iframe` or `redirect`"));
    assert_eq!(after_last("invalid length", marker), None);
    assert_eq!(after_last("a, expected ", marker), Some(""));
}

//! [`SearchResult`] read by hand: the derive's `#[serde(untagged)]` buffered the whole
//! search answer in serde's `Content` and expanded a `Content` reader of every record.
//! Accepted as the derive accepted it: an object whose `records` member (once) is the list,
//! other members ignored, or a bare list. Anything else is refused, with the derive's
//! words where the shape is wrong (a record's own error where a record is).

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::wire::{SearchRecord, SearchResult};
use crate::text_or_number::unmatched;

impl<'de> Deserialize<'de> for SearchResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SearchVisitor)
    }
}

struct SearchVisitor;

impl<'de> Visitor<'de> for SearchVisitor {
    type Value = SearchResult;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a search result")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SearchResult, A::Error> {
        let mut records = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "records" {
                map.next_value::<IgnoredAny>()?;
            } else if records.is_some() {
                return Err(unmatched("SearchResult"));
            } else {
                records = Some(map.next_value::<Vec<SearchRecord>>()?);
            }
        }
        let records = records.ok_or_else(|| unmatched("SearchResult"))?;
        Ok(SearchResult::Records { records })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SearchResult, A::Error> {
        let mut records = Vec::new();
        while let Some(record) = seq.next_element::<SearchRecord>()? {
            records.push(record);
        }
        Ok(SearchResult::Bare(records))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::super::wire::{SearchRecord, SearchResult, Validation};
    use crate::text_or_number::{outcome, INPUTS};

    /// The readings before: the derive's untagged enums.
    #[derive(Debug, Deserialize)]
    #[serde(untagged)]
    enum DeriveSearch {
        Records {
            #[allow(dead_code)]
            records: Vec<SearchRecord>,
        },
        Bare(#[allow(dead_code)] Vec<SearchRecord>),
    }

    #[derive(Debug, Deserialize)]
    struct DeriveValidation {
        #[serde(deserialize_with = "text_or_number")]
        id: String,
        #[serde(default, deserialize_with = "optional_text_or_number")]
        message_id: Option<String>,
    }

    fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Number(u64),
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Text(text) => text,
            Wire::Number(n) => n.to_string(),
        })
    }

    fn optional_text_or_number<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Number(u64),
            Nothing(()),
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Text(text) => Some(text),
            Wire::Number(n) => Some(n.to_string()),
            Wire::Nothing(()) => None,
        })
    }

    /// `id` and `message_id` (text or number; `message_id` also `null` or absent) read every
    /// kind of JSON value as the derive did: same strings, same errors and positions.
    #[test]
    fn text_or_number_members_read_as_the_derive_read_them() {
        let mut bodies = vec![r#"{"id": 1}"#.to_owned(), r#"{"id": "1"}"#.to_owned()];
        for input in INPUTS {
            bodies.push(format!(r#"{{"id": {input}, "message": "m"}}"#));
            bodies.push(format!(r#"{{"id": 7, "message_id": {input}}}"#));
        }
        for body in &bodies {
            let now = serde_json::from_str::<Validation>(body).map(|v| (v.id, v.message_id));
            let before =
                serde_json::from_str::<DeriveValidation>(body).map(|v| (v.id, v.message_id));
            assert_eq!(outcome(now), outcome(before), "{body}");
        }
        let read: Validation = serde_json::from_str(r#"{"id": 314, "message_id": null}"#).unwrap();
        assert_eq!((read.id.as_str(), read.message_id), ("314", None));
    }

    /// Every shape the derive accepted is read, to the same records; what it refused
    /// (a list in a list too) is refused.
    #[test]
    fn search_answers_read_as_the_derive_read_them() {
        let record = r#"{"trn_id": 10000050, "trn_order_number": "order-25", "trn_amount": 15.99,
            "trn_response": "1", "message_id": 1, "trn_type": "P"}"#;
        let accepted = [
            format!(r#"{{"records": [{record}]}}"#),
            format!(r#"{{"records": [{record}, {record}], "total": 2}}"#),
            r#"{"records": []}"#.to_owned(),
            r#"{"other": [1], "records": []}"#.to_owned(),
            format!("[{record}]"),
            "[]".to_owned(),
        ];
        for body in &accepted {
            let now = serde_json::from_str::<SearchResult>(body).map(SearchResult::records);
            let before = serde_json::from_str::<DeriveSearch>(body);
            let before = before.map(|found| match found {
                DeriveSearch::Records { records } | DeriveSearch::Bare(records) => records,
            });
            assert_eq!(outcome(now), outcome(before), "{body}");
            assert!(serde_json::from_str::<SearchResult>(body).is_ok(), "{body}");
        }
        let refused = [
            "{}".to_owned(),
            r#"{"records": [], "records": []}"#.to_owned(),
            r#"{"records": null}"#.to_owned(),
            r#"{"records": [{"trn_order_number": "x"}]}"#.to_owned(),
            r#"[{"trn_id": true}]"#.to_owned(),
            r#""records""#.to_owned(),
            "null".to_owned(),
            "7".to_owned(),
        ];
        for body in &refused {
            assert!(
                serde_json::from_str::<DeriveSearch>(body).is_err(),
                "{body}"
            );
            assert!(
                serde_json::from_str::<SearchResult>(body).is_err(),
                "{body}"
            );
        }
        let nested = format!("[[{record}]]");
        assert!(serde_json::from_str::<DeriveSearch>(&nested).is_err());
        assert!(serde_json::from_str::<SearchResult>(&nested).is_err());
    }
}

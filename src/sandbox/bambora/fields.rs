//! A small walker over a JSON request body that collects one `{field, message}` detail
//! per missing, mistyped or out-of-range member, under Bambora's dotted field names.

use serde_json::{Map, Value};

use super::wire::{ApiError, Detail};

/// Collects one detail per bad field while walking a body.
#[derive(Default)]
pub(super) struct Check {
    details: Vec<Detail>,
}

impl Check {
    pub(super) fn fail(&mut self, field: &str, message: &str) {
        self.details.push(Detail::new(field, message));
    }

    pub(super) fn finish(self) -> Result<(), ApiError> {
        if self.details.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.details))
        }
    }

    pub(super) fn object<'v>(
        &mut self,
        parent: &'v Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
    ) -> Option<&'v Map<String, Value>> {
        match parent.get(key) {
            Some(Value::Object(map)) => Some(map),
            None | Some(Value::Null) => {
                if required {
                    self.fail(path, "This field is required");
                }
                None
            }
            Some(_) => {
                self.fail(path, "Must be an object");
                None
            }
        }
    }

    pub(super) fn string(
        &mut self,
        parent: &Map<String, Value>,
        key: &str,
        path: &str,
        required: bool,
        max_chars: usize,
    ) -> Option<String> {
        match parent.get(key) {
            Some(Value::String(text)) if text.chars().count() > max_chars => {
                self.fail(path, &format!("Must be at most {max_chars} characters"));
                None
            }
            Some(Value::String(text)) if text.trim().is_empty() => {
                if required {
                    self.fail(path, "This field is required");
                }
                None
            }
            Some(Value::String(text)) => Some(text.clone()),
            None | Some(Value::Null) => {
                if required {
                    self.fail(path, "This field is required");
                }
                None
            }
            Some(_) => {
                self.fail(path, "Must be a string");
                None
            }
        }
    }

    pub(super) fn boolean(
        &mut self,
        parent: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<bool> {
        match parent.get(key) {
            Some(Value::Bool(value)) => Some(*value),
            None | Some(Value::Null) => None,
            Some(_) => {
                self.fail(path, "Must be true or false");
                None
            }
        }
    }

    pub(super) fn integer(
        &mut self,
        parent: &Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<i64> {
        match parent.get(key) {
            Some(Value::Number(number)) => match number.as_i64() {
                Some(value) => Some(value),
                None => {
                    self.fail(path, "Must be an integer");
                    None
                }
            },
            None | Some(Value::Null) => None,
            Some(_) => {
                self.fail(path, "Must be an integer");
                None
            }
        }
    }

    pub(super) fn required_bool(&mut self, parent: &Map<String, Value>, key: &str, path: &str) {
        if !parent.contains_key(key) {
            self.fail(path, "This field is required");
        } else {
            self.boolean(parent, key, path);
        }
    }

    pub(super) fn required_integer(
        &mut self,
        parent: &Map<String, Value>,
        key: &str,
        path: &str,
        range: std::ops::RangeInclusive<i64>,
    ) {
        match self.integer(parent, key, path) {
            Some(value) if range.contains(&value) => {}
            Some(_) => self.fail(path, "Out of range"),
            None if !parent.contains_key(key) => self.fail(path, "This field is required"),
            None => {}
        }
    }

    /// An absolute http(s) URL without whitespace.
    pub(super) fn url(&mut self, path: &str, url: &str) -> bool {
        let ok = (url.starts_with("http://") || url.starts_with("https://"))
            && !url.chars().any(char::is_whitespace);
        if !ok {
            self.fail(path, "Must be an absolute http(s) URL");
        }
        ok
    }

    /// How many problems were found so far.
    pub(super) fn problems(&self) -> usize {
        self.details.len()
    }
}

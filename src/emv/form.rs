//! A browser form as data: what the page must submit, and where. The checkout module
//! builds the `<form>` element from this value; it never inserts provider HTML.

use serde::{Deserialize, Serialize};

/// GET or POST, the two methods an HTML form knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FormMethod {
    Get,
    Post,
}
crate::unit_variant::deserialize_by_name!(FormMethod { Get = "GET", Post = "POST" });

/// One named value of a form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormField {
    pub name: String,
    pub value: String,
}

/// A form submission: action URL, method and fields, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormPost {
    pub action: String,
    pub method: FormMethod,
    pub fields: Vec<FormField>,
}

impl FormPost {
    pub fn post(
        action: impl Into<String>,
        fields: impl IntoIterator<Item = (&'static str, String)>,
    ) -> FormPost {
        FormPost {
            action: action.into(),
            method: FormMethod::Post,
            fields: fields
                .into_iter()
                .map(|(name, value)| FormField {
                    name: name.to_owned(),
                    value,
                })
                .collect(),
        }
    }

    /// The value of the first field called `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_str())
    }
}

//! HTTP as plain values for the routes: what a host hands [`super::Backend::handle`] and
//! what it writes back. No framework types, so every host (axum, a worker's `fetch`
//! handler, a test) converts at its edge.

use std::net::IpAddr;

/// The request methods the API knows; anything else is `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Options,
    Head,
    Other(String),
}

impl Method {
    pub fn parse(text: &str) -> Method {
        match text.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "OPTIONS" => Method::Options,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_owned()),
        }
    }
}

/// One request as the host received it. `body` may be cut at [`super::MAX_BODY_BYTES`]
/// + 1 bytes by a host that streams: anything longer is refused anyway.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The path without the query, e.g. `/v1/payments/0123…`.
    pub path: String,
    /// The raw query string, without `?` (empty when none).
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The address the request came from, as the host knows it (the TCP peer, or what a
    /// trusted edge tells it). Goes into the EMV browser details.
    pub peer_ip: Option<IpAddr>,
}

impl Request {
    /// The value of header `name` (case-insensitive), if it appears exactly once.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }
}

/// What the host writes back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// `value` as a JSON value, the one `serde_json::to_value` builds, but by writing it as
/// text and reading that: the text-writing code of a type is there anyway (bodies and
/// stored sessions are written as text), a value-writing copy of it is not needed too.
pub fn to_value<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<serde_json::Value> {
    crate::json_path::value(&serde_json::to_string(value)?)
        .map_err(crate::json_path::NotRead::into_error)
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }

    pub fn json(status: u16, value: &impl serde::Serialize) -> Response {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Response::new(status, "application/json", body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// `name=value&…` (query or urlencoded form) as pairs, in order.
pub fn form_pairs(text: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(text).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "camelCase")]
    enum Tagged {
        Unit,
        Fields { amount: u64, ratio: f64 },
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        text: &'static str,
        numbers: Vec<f64>,
        big: u64,
        small: i64,
        by_number: BTreeMap<u32, bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        absent: Option<u8>,
        tagged: Vec<Tagged>,
        unit: (),
    }

    /// Written as text and read back, every kind of member gives the value `to_value`
    /// builds, and the same text again: escapes, floats (shortest form, negative zero,
    /// NaN as null), the integer limits, number keys, skipped and `None` members, tags.
    #[test]
    fn to_value_through_text_is_serde_json_to_value() {
        let sample = Sample {
            text: "quote \" back \\ nl \n tab \t nul \u{0} é €",
            numbers: vec![
                0.1,
                10.5,
                10.0,
                -0.0,
                1e300,
                5e-324,
                f64::NAN,
                f64::INFINITY,
            ],
            big: u64::MAX,
            small: i64::MIN,
            by_number: BTreeMap::from([(1, true), (20, false)]),
            skipped: None,
            absent: None,
            tagged: vec![
                Tagged::Unit,
                Tagged::Fields {
                    amount: 1000,
                    ratio: 0.3,
                },
            ],
            unit: (),
        };
        let direct = serde_json::to_value(&sample).unwrap();
        let through_text = super::to_value(&sample).unwrap();
        assert_eq!(through_text, direct);
        assert_eq!(
            serde_json::to_string(&through_text).unwrap(),
            serde_json::to_string(&direct).unwrap()
        );
        assert_eq!(direct["numbers"][6], serde_json::Value::Null);
    }
}

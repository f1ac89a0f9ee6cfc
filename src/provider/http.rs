//! HTTP as data: what an adapter wants sent, and what came back. The host sends it
//! (reqwest natively, `fetch` at the edge, nothing at all in unit tests).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HttpMethod {
    Get,
    Post,
}

/// A request to a provider. `Debug` leaves the body and headers out: a card body holds a
/// PAN, and headers hold credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: HttpMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// Whether sending it again after a timeout or a dropped connection is harmless: it
    /// only reads, or it carries a key the provider deduplicates on.
    pub retry_safe: bool,
    /// What the request does, in the adapter's words (`payroc.sale`), for logs.
    pub purpose: &'static str,
}

impl HttpRequest {
    pub fn get(url: impl Into<String>, purpose: &'static str) -> HttpRequest {
        HttpRequest {
            method: HttpMethod::Get,
            url: url.into(),
            headers: Vec::new(),
            body: None,
            retry_safe: true,
            purpose,
        }
    }

    pub fn post_json(url: impl Into<String>, body: String, purpose: &'static str) -> HttpRequest {
        HttpRequest {
            method: HttpMethod::Post,
            url: url.into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: Some(body),
            retry_safe: false,
            purpose,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn retry_safe(mut self) -> HttpRequest {
        self.retry_safe = true;
        self
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("purpose", &self.purpose)
            .field("method", &self.method)
            .field("url", &self.url)
            .field("retry_safe", &self.retry_safe)
            .finish_non_exhaustive()
    }
}

/// A provider's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    /// The provider did not answer in time.
    Timeout,
    /// The connection failed or was dropped before an answer arrived.
    Connection(String),
}

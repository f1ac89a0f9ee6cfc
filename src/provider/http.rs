//! HTTP as data: what an adapter wants sent, and what came back. The host sends it
//! (reqwest natively, `fetch` at the edge, nothing at all in unit tests).

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum HttpMethod {
    Get,
    Post,
}
crate::unit_variant::deserialize_by_name!(HttpMethod { Get = "Get", Post = "Post" });

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

/// The most of an answer's body a host reads, a provider's or a webhook endpoint's: far
/// above any answer a provider documents (a few KB). A longer one, or one that never ends,
/// is cut there and the rest left unread, so no answer can hold a host's memory (the edge
/// worker's wasm memory never shrinks). A cut answer no longer parses, so an adapter reads
/// it as it reads any unreadable answer (it asks again, or the payment is in doubt); a
/// webhook endpoint's answer is read for its status only.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

/// An answer's body as text, as `fetch`'s `text()` reads one: UTF-8, a leading byte order
/// mark dropped, what is not UTF-8 (a character cut at [`MAX_ANSWER_BYTES`], say) replaced.
pub fn answer_text(body: &[u8]) -> String {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    String::from_utf8_lossy(body).into_owned()
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

#[cfg(test)]
mod tests {
    use super::answer_text;

    #[test]
    fn an_answer_reads_as_fetch_reads_it() {
        assert_eq!(answer_text(b"{\"a\":1}"), "{\"a\":1}");
        assert_eq!(answer_text(b"\xEF\xBB\xBF{}"), "{}");
        // "é" cut after its first byte, as a cut at the limit may leave it.
        assert_eq!(answer_text(b"caf\xC3"), "caf\u{FFFD}");
    }
}

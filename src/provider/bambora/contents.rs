//! The `contents` of Bambora's 302 answer, read on the server into a typed issuer form.
//!
//! Bambora sends the form that takes the cardholder to the issuer as a URL-encoded HTML
//! page (`<FORM id="form1" …><INPUT type="hidden" …>…<SCRIPT>document.form1.submit()`).
//! The page is never rendered or passed on: this module decodes it, finds its one form,
//! and keeps only what the protocol needs — `PaReq`, `MD`, `TermUrl` for 3-D Secure
//! 1.0.2, `creq`, `threeDSSessionData` for 2.x — after checking where it posts (an https
//! URL, or the configured sandbox's own origin), that `MD` / `threeDSSessionData` name the
//! payment Bambora will continue, and that `TermUrl` is this session's return route.
//! Display-only fields (`merchant_name`, `trnAmount`, …) and anything else are dropped.
//! Pure: text in, [`IssuerForm`] or [`ContentsError`] out.

use serde::Serialize;

use super::config::origin;
use crate::emv::{CReq, ChallengeWindowSize, FormPost, PaReqForm};

/// Larger `contents` are refused unread (the seed's page is under 2 KiB).
pub const MAX_CONTENTS_BYTES: usize = 64 * 1024;
/// Larger field values are refused (a PaReq or creq is well under 4 KiB).
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// The issuer's form, as this adapter will hand it to the browser. Stored (in a state) as
/// its derived `Serialize` writes it, read back by hand (`stored.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum IssuerForm {
    /// 3-D Secure 1.0.2: the ACS posts `PaRes` and `MD` back to `TermUrl`.
    PaReq(PaReqForm),
    /// EMV 3-D Secure 2.x: the ACS posts `cres` and `threeDSSessionData` back to the
    /// `term_url` Bambora registered.
    CReq {
        acs_url: String,
        /// The `creq` exactly as Bambora encoded it.
        encoded: String,
        /// The same, read: the transaction ids a returning CRes must name.
        creq: CReq,
        session_data: String,
    },
}

impl IssuerForm {
    /// The form the browser posts.
    pub fn form(&self) -> FormPost {
        match self {
            IssuerForm::PaReq(form) => form.form(),
            IssuerForm::CReq {
                acs_url,
                encoded,
                session_data,
                ..
            } => FormPost::post(
                acs_url.clone(),
                [
                    ("creq", encoded.clone()),
                    ("threeDSSessionData", session_data.clone()),
                ],
            ),
        }
    }

    /// The challenge window the CReq asks for (2.x); `None` for 1.0.2.
    pub fn window_size(&self) -> Option<ChallengeWindowSize> {
        match self {
            IssuerForm::PaReq(_) => None,
            IssuerForm::CReq { creq, .. } => Some(creq.challenge_window_size),
        }
    }

    /// `1.0.2`, or the CReq's `messageVersion`.
    pub fn version(&self) -> String {
        match self {
            IssuerForm::PaReq(_) => "1.0.2".to_owned(),
            IssuerForm::CReq { creq, .. } => creq.message_version.clone(),
        }
    }

    pub fn is_legacy(&self) -> bool {
        matches!(self, IssuerForm::PaReq(_))
    }
}

/// What the form must agree with.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The id Bambora's `continue` takes (`merchant_data` / `3d_session_data`): `MD`
    /// must be it (Bambora upper-cases it, so case is ignored), `threeDSSessionData`
    /// exactly it.
    pub continue_id: &'a str,
    /// This session's return route: a 1.0.2 `TermUrl` must be exactly it.
    pub term_url: &'a str,
    /// The configured base URL's origin: the one non-https origin the form may post to.
    pub sandbox_origin: Option<&'a str>,
}

/// Why `contents` was refused. The payment then ends as a bad provider answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentsError {
    #[error("contents is too large")]
    TooLarge,
    #[error("contents is not URL-encoded UTF-8")]
    NotUrlEncoded,
    #[error("contents holds {0} forms, not one")]
    FormCount(usize),
    #[error("the issuer form does not POST")]
    NotPost,
    #[error("the issuer form posts to a URL that is neither https nor the sandbox's")]
    ForbiddenAction,
    #[error("the issuer form has no single {0}")]
    Missing(&'static str),
    #[error("the issuer form carries both a PaReq and a creq")]
    Ambiguous,
    #[error("the issuer form's {0} is too large or empty")]
    BadValue(&'static str),
    #[error("the issuer form's {0} does not name this payment")]
    Foreign(&'static str),
    #[error("the issuer form's creq is not a CReq")]
    BadCreq,
}

impl IssuerForm {
    /// Reads `contents` (URL-encoded HTML) into the issuer form, or refuses it.
    pub fn parse(contents: &str, expected: Expected<'_>) -> Result<IssuerForm, ContentsError> {
        if contents.len() > MAX_CONTENTS_BYTES {
            return Err(ContentsError::TooLarge);
        }
        let html = url_decode(contents).ok_or(ContentsError::NotUrlEncoded)?;
        let mut forms = html_forms(&html);
        if forms.len() != 1 {
            return Err(ContentsError::FormCount(forms.len()));
        }
        let form = forms.remove(0);
        if !form
            .method
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("post"))
        {
            return Err(ContentsError::NotPost);
        }
        let action = form.action.as_deref().unwrap_or_default();
        if !allowed_action(action, expected.sandbox_origin) {
            return Err(ContentsError::ForbiddenAction);
        }
        let field = |name: &'static str| -> Result<Option<String>, ContentsError> {
            let mut values = form.fields.iter().filter(|(n, _)| n == name);
            let first = values.next();
            if values.next().is_some() {
                return Err(ContentsError::Missing(name));
            }
            match first {
                None => Ok(None),
                Some((_, v)) if v.is_empty() || v.len() > MAX_FIELD_BYTES => {
                    Err(ContentsError::BadValue(name))
                }
                Some((_, v)) => Ok(Some(v.clone())),
            }
        };
        let required = |name: &'static str| field(name)?.ok_or(ContentsError::Missing(name));
        match (field("PaReq")?, field("creq")?) {
            (Some(_), Some(_)) => Err(ContentsError::Ambiguous),
            (None, None) => Err(ContentsError::Missing("PaReq or creq")),
            (Some(pa_req), None) => {
                let md = required("MD")?;
                if !md.eq_ignore_ascii_case(expected.continue_id) {
                    return Err(ContentsError::Foreign("MD"));
                }
                let term_url = required("TermUrl")?;
                if term_url != expected.term_url {
                    return Err(ContentsError::Foreign("TermUrl"));
                }
                Ok(IssuerForm::PaReq(PaReqForm {
                    acs_url: action.to_owned(),
                    pa_req,
                    md,
                    term_url,
                }))
            }
            (None, Some(encoded)) => {
                let creq = CReq::from_base64url(&encoded).map_err(|_| ContentsError::BadCreq)?;
                let session_data = required("threeDSSessionData")?;
                if session_data != expected.continue_id {
                    return Err(ContentsError::Foreign("threeDSSessionData"));
                }
                Ok(IssuerForm::CReq {
                    acs_url: action.to_owned(),
                    encoded,
                    creq,
                    session_data,
                })
            }
        }
    }
}

/// An https URL, or one on the configured sandbox's origin.
fn allowed_action(action: &str, sandbox_origin: Option<&str>) -> bool {
    let Some(action_origin) = origin(action) else {
        return false;
    };
    action_origin.starts_with("https://") || sandbox_origin == Some(action_origin.as_str())
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; the
/// bytes must be UTF-8. A stray `%` is refused, not passed through.
pub fn url_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A `<form>` as found in the page: its attributes and its inputs' names and values.
#[derive(Debug, Default, PartialEq, Eq)]
struct RawForm {
    action: Option<String>,
    method: Option<String>,
    fields: Vec<(String, String)>,
}

/// Every form of `html`, with the `name`/`value` of the `<input>`s inside it. Tag and
/// attribute names are case-insensitive, values may be double-, single- or unquoted,
/// entities are decoded; comments and script bodies are skipped. A small reader for
/// Bambora's one-form page, not a general HTML parser.
fn html_forms(html: &str) -> Vec<RawForm> {
    let mut forms = Vec::new();
    let mut open: Option<RawForm> = None;
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let (tag, after) = read_tag(&rest[1..]);
        rest = after;
        match tag.name.as_str() {
            "form" => {
                if let Some(form) = open.take() {
                    forms.push(form);
                }
                open = Some(RawForm {
                    action: tag.attribute("action"),
                    method: tag.attribute("method"),
                    fields: Vec::new(),
                });
            }
            "/form" => {
                if let Some(form) = open.take() {
                    forms.push(form);
                }
            }
            "input" => {
                if let (Some(form), Some(name)) = (open.as_mut(), tag.attribute("name")) {
                    form.fields
                        .push((name, tag.attribute("value").unwrap_or_default()));
                }
            }
            "script" => {
                let lower = rest.to_ascii_lowercase();
                rest = lower.find("</script").map_or("", |end| &rest[end..]);
            }
            _ => {}
        }
    }
    forms.extend(open);
    forms
}

struct Tag {
    /// Lower case; `/form` for an end tag.
    name: String,
    attributes: Vec<(String, String)>,
}

impl Tag {
    fn attribute(&self, name: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Reads one tag after its `<`, up to and including its `>` (quotes respected);
/// returns it and the text after it.
fn read_tag(text: &str) -> (Tag, &str) {
    let mut chars = text.char_indices().peekable();
    let mut name = String::new();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_ascii_alphanumeric() || (c == '/' && name.is_empty()) {
            name.push(c.to_ascii_lowercase());
            chars.next();
        } else {
            break;
        }
    }
    let mut attributes = Vec::new();
    loop {
        while chars
            .next_if(|&(_, c)| c.is_whitespace() || c == '/')
            .is_some()
        {}
        let Some(&(i, c)) = chars.peek() else {
            return (Tag { name, attributes }, "");
        };
        if c == '>' {
            return (Tag { name, attributes }, &text[i + 1..]);
        }
        let mut key = String::new();
        while let Some((_, c)) =
            chars.next_if(|&(_, c)| !c.is_whitespace() && !matches!(c, '=' | '>' | '/'))
        {
            key.push(c.to_ascii_lowercase());
        }
        if key.is_empty() {
            // A stray '=' or similar: skip it.
            chars.next();
            continue;
        }
        while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|&(_, c)| c == '=').is_some() {
            while chars.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
            match chars.peek().map(|&(_, c)| c) {
                Some(quote @ ('"' | '\'')) => {
                    chars.next();
                    for (_, c) in chars.by_ref() {
                        if c == quote {
                            break;
                        }
                        value.push(c);
                    }
                }
                _ => {
                    while let Some((_, c)) = chars.next_if(|&(_, c)| !c.is_whitespace() && c != '>')
                    {
                        value.push(c);
                    }
                }
            }
        }
        attributes.push((key, decode_entities(&value)));
    }
}

/// The character references a form's attribute values use: `&amp; &lt; &gt; &quot;
/// &apos;` and numeric ones. Unknown references stay as they are.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity.strip_prefix('#').and_then(|number| {
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => number.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "2ccd7715-9e97-4f11-9fff36e6584e3200";
    const TERM: &str = "https://shop.test/v1/returns/abc";

    fn expected() -> Expected<'static> {
        Expected {
            continue_id: ID,
            term_url: TERM,
            sandbox_origin: Some("http://127.0.0.1:8081"),
        }
    }

    /// Encodes `html` as Bambora does enough for these tests (`%` every byte but letters).
    fn encode(html: &str) -> String {
        html.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    fn parse(html: &str) -> Result<IssuerForm, ContentsError> {
        IssuerForm::parse(&encode(html), expected())
    }

    fn pareq_inputs() -> String {
        format!(
            "<input name='PaReq' value='eJx+/='><input type=hidden name=MD value={}>\
             <input name=\"TermUrl\" value=\"{}\">",
            ID.to_uppercase(),
            TERM.replace('/', "&#x2F;")
        )
    }

    #[test]
    fn reads_quotes_entities_and_mixed_case() {
        let html = format!(
            "<!-- <form action='https://evil.test'> --><Form Method=post \
             ACTION='http://127.0.0.1:8081/acs/pareq?a=1&amp;b=2'>{}\
             <input name=\"merchant_name\" value=\"A &amp; B &gt; C\"></FORM>\
             <script>var x = '<form action=\"https://evil.test\">';</script>",
            pareq_inputs()
        );
        let IssuerForm::PaReq(form) = parse(&html).unwrap() else {
            panic!()
        };
        assert_eq!(form.acs_url, "http://127.0.0.1:8081/acs/pareq?a=1&b=2");
        assert_eq!(form.pa_req, "eJx+/=");
        assert_eq!(form.md, ID.to_uppercase());
        assert_eq!(form.term_url, TERM);
    }

    #[test]
    fn refuses_each_untrustworthy_form_for_its_reason() {
        let inputs = pareq_inputs();
        let form = |action: &str, method: &str, inputs: &str| {
            format!("<form action=\"{action}\" method=\"{method}\">{inputs}</form>")
        };
        let cases = [
            (
                form("https://a.test/x", "get", &inputs),
                ContentsError::NotPost,
            ),
            (
                form("http://127.0.0.1:8082/acs", "post", &inputs),
                ContentsError::ForbiddenAction,
            ),
            (
                form("https://a.test\\@evil.test/", "post", &inputs),
                ContentsError::ForbiddenAction,
            ),
            (
                form("/relative", "post", &inputs),
                ContentsError::ForbiddenAction,
            ),
            (
                format!(
                    "{}{}",
                    form("https://a.test", "post", &inputs),
                    form("https://b.test", "post", &inputs)
                ),
                ContentsError::FormCount(2),
            ),
            ("<p>no form</p>".to_owned(), ContentsError::FormCount(0)),
            (
                form(
                    "https://a.test",
                    "post",
                    &inputs.replace(&ID.to_uppercase(), "OTHER"),
                ),
                ContentsError::Foreign("MD"),
            ),
            (
                form(
                    "https://a.test",
                    "post",
                    &inputs.replace("returns", "elsewhere"),
                ),
                ContentsError::Foreign("TermUrl"),
            ),
            (
                form("https://a.test", "post", &inputs.replace("'eJx+/='", "''")),
                ContentsError::BadValue("PaReq"),
            ),
        ];
        for (html, error) in cases {
            assert_eq!(parse(&html), Err(error), "{html}");
        }
        assert_eq!(
            IssuerForm::parse("%3cform%2", expected()),
            Err(ContentsError::NotUrlEncoded)
        );
        assert_eq!(
            IssuerForm::parse("%ff%fe", expected()),
            Err(ContentsError::NotUrlEncoded)
        );
        let huge = "a".repeat(MAX_CONTENTS_BYTES + 1);
        assert_eq!(
            IssuerForm::parse(&huge, expected()),
            Err(ContentsError::TooLarge)
        );
    }

    #[test]
    fn url_decoding_is_form_decoding() {
        assert_eq!(url_decode("a+b%3c%2F%C3%A9").as_deref(), Some("a b</é"));
        assert_eq!(url_decode("100%"), None);
        assert_eq!(url_decode("%g0"), None);
    }
}

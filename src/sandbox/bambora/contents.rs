//! The `contents` of Bambora's 302 answer: a small HTML page whose form `form1` carries
//! the cardholder's browser to the ACS, URL-encoded the way Bambora's (.NET) gateway
//! encodes it: `+` for spaces, lowercase `%3c` escapes, `-_.!*()` left alone.
//!
//! The markup copies the seed's example (upper-case `FORM`/`INPUT`, the
//! `document.form1.submit()` script). The merchant's backend is expected to parse the
//! form out of it, never to render it.

use crate::emv::FormPost;
use crate::sandbox::html::escape;

/// The HTML page of the seed's example around `form`, with `id`/`name` `form1`.
pub fn form_page(form: &FormPost) -> String {
    let mut html = format!(
        "<HTML><HEAD></HEAD><BODY><FORM action=\"{}\" method=\"POST\" id=\"form1\" name=\"form1\">",
        escape(&form.action)
    );
    for field in &form.fields {
        // The seed writes Bambora's own fields with `<INPUT`, the display-only ones with
        // `<input`; both are kept so that a parser must not depend on the case.
        let tag = if DISPLAY_FIELDS.contains(&field.name.as_str()) {
            "input"
        } else {
            "INPUT"
        };
        html.push_str(&format!(
            "<{tag} type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(&field.name),
            escape(&field.value)
        ));
    }
    html.push_str(
        "</FORM><SCRIPT language=\"JavaScript\">document.form1.submit();</SCRIPT></BODY></HTML>",
    );
    html
}

/// Fields the seed's issuer page only displays.
const DISPLAY_FIELDS: [&str; 4] = [
    "merchant_name",
    "trnDatetime",
    "trnAmount",
    "trnEncCardNumber",
];

/// URL-encodes like .NET's `HttpUtility.UrlEncode`, which produced the seed's example.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        match byte {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'*'
            | b'('
            | b')' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The start of the seed's `contents`, and what it decodes to.
    #[test]
    fn encodes_like_the_seed() {
        let html = "<HTML><HEAD></HEAD><BODY><FORM action=\"https://api.na.bambora.com/activeMerchantEmulator/gateway.asp\" method=\"POST\" id=\"form1\" name=\"form1\">";
        assert_eq!(
            url_encode(html),
            "%3cHTML%3e%3cHEAD%3e%3c%2fHEAD%3e%3cBODY%3e%3cFORM+action%3d%22https%3a%2f%2fapi.na.bambora.com%2factiveMerchantEmulator%2fgateway.asp%22+method%3d%22POST%22+id%3d%22form1%22+name%3d%22form1%22%3e"
        );
        assert_eq!(
            url_encode("<SCRIPT language=\"JavaScript\">document.form1.submit();</SCRIPT>"),
            "%3cSCRIPT+language%3d%22JavaScript%22%3edocument.form1.submit()%3b%3c%2fSCRIPT%3e"
        );
        assert_eq!(url_encode("Seven Sparrow Inc."), "Seven+Sparrow+Inc.");
        assert_eq!(url_encode("é"), "%c3%a9");
    }

    #[test]
    fn page_escapes_values_and_round_trips() {
        let form = FormPost::post(
            "http://127.0.0.1:1/acs/pareq",
            [
                ("PaReq", "eJx+/=".to_owned()),
                ("merchant_name", "A & \"B\"".to_owned()),
            ],
        );
        let html = form_page(&form);
        assert!(html.contains("<INPUT type=\"hidden\" name=\"PaReq\" value=\"eJx+/=\">"));
        assert!(html.contains(
            "<input type=\"hidden\" name=\"merchant_name\" value=\"A &amp; &quot;B&quot;\">"
        ));
        let decoded: String = form_urlencoded::parse(format!("x={}", url_encode(&html)).as_bytes())
            .map(|(_, v)| v.into_owned())
            .collect();
        assert_eq!(decoded, html);
    }
}

//! The sandbox's HTML: escaping and the auto-submitting form page that carries the
//! browser from one party to the next (ACS → notification URL, provider → ACS, …).
//! Pages have no inline script: `/acs/static/autosubmit.js` submits `#autosubmit`, so the
//! pages work under a strict CSP, and a `<noscript>` button does it by hand.

use axum::response::Html;

use crate::emv::{FormMethod, FormPost};

/// The path of the script that submits `form#autosubmit` on load.
pub const AUTOSUBMIT_SCRIPT_PATH: &str = "/acs/static/autosubmit.js";

/// The script served at [`AUTOSUBMIT_SCRIPT_PATH`].
pub const AUTOSUBMIT_SCRIPT: &str = "document.getElementById('autosubmit').submit();\n";

/// Escapes text for an HTML text node or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The `<form id="autosubmit">` element for `form`, hidden fields only.
pub fn form_element(form: &FormPost) -> String {
    let method = match form.method {
        FormMethod::Get => "get",
        FormMethod::Post => "post",
    };
    let mut html = format!(
        "<form id=\"autosubmit\" method=\"{method}\" action=\"{}\">",
        escape(&form.action)
    );
    for field in &form.fields {
        html.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(&field.name),
            escape(&field.value)
        ));
    }
    html.push_str("<noscript><button type=\"submit\">Continue</button></noscript></form>");
    html
}

/// A whole page that submits `form` as soon as it loads.
pub fn auto_submit_page(title: &str, form: &FormPost) -> Html<String> {
    page(
        title,
        &format!(
            "<p>Please wait…</p>{}<script src=\"{AUTOSUBMIT_SCRIPT_PATH}\"></script>",
            form_element(form)
        ),
    )
}

/// A minimal page around `body` (already HTML).
pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title></head><body>{body}</body></html>",
        escape(title)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_attribute_breakers() {
        let form = FormPost::post(
            "https://a.example/x?a=1&b=\"2\"",
            [("creq", "<x>'y'".to_owned())],
        );
        let html = form_element(&form);
        assert!(html.contains("action=\"https://a.example/x?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("value=\"&lt;x&gt;&#39;y&#39;\""));
    }
}

//! The backend's own HTML: the completion page a return answers in iframe mode, and the
//! error page of a refused return. No inline script or style (the pages carry a CSP that
//! forbids them); everything inserted is escaped.

use super::http::Response;
use crate::session::Session;

/// The completion page's script, served at `GET /v1/complete.js`.
pub const COMPLETE_JS: &str = include_str!("../../pkg/complete.js");

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn page(status: u16, title: &str, body_attributes: &str, body: &str, csp: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head>\
         <body{body_attributes}>{body}</body></html>\n",
        escape(title)
    );
    Response::new(status, "text/html; charset=utf-8", html)
        .with_header("Content-Security-Policy", csp)
        .with_header("Referrer-Policy", "no-referrer")
}

/// Tells the checkout page (the iframe's parent) that the issuer's step is over; the
/// page then reads the payment. Framed only by the session's checkout origin.
pub fn completion(session: &Session, public_url: &str) -> Response {
    let attributes = format!(
        " data-session-id=\"{}\" data-nonce=\"{}\" data-target-origin=\"{}\"",
        escape(&session.id),
        escape(&session.nonce),
        escape(&session.checkout_origin)
    );
    let body = format!(
        "<p id=\"complete\">Returning to the shop…</p><script src=\"{}\"></script>",
        escape(&format!("{public_url}/v1/complete.js"))
    );
    let csp = format!(
        "default-src 'none'; script-src {}; frame-ancestors {}",
        script_origin(public_url),
        session.checkout_origin
    );
    page(200, "Payment", &attributes, &body, &csp)
}

/// A refused return: a short explanation, and the stable code for support. No page may
/// frame it (a genuine step never ends on it inside the checkout's iframe: refusals are
/// forgeries, replays and broken requests), so it cannot be dressed up by another site.
pub fn error(status: u16, code: &str, message: &str) -> Response {
    let body = format!(
        "<h1>This payment step cannot continue</h1><p id=\"error\" data-code=\"{}\">{}</p>",
        escape(code),
        escape(message)
    );
    page(
        status,
        "Payment error",
        "",
        &body,
        "default-src 'none'; frame-ancestors 'none'",
    )
}

fn script_origin(public_url: &str) -> &str {
    super::config::origin_of(public_url).unwrap_or("'self'")
}

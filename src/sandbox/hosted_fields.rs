//! Stand-ins for each provider's hosted card fields (dLocal Smart Fields, Paysafe.js
//! fields, Bambora Custom Checkout, Payroc Hosted Fields), served from the sandbox's
//! origin for an iframe in the checkout page, and the control that ages a token.
//!
//! `GET /_sandbox/hosted-fields/{provider}?parent=<checkout origin>`: the card inputs.
//! The page waits for `{type:"tokenize"}` from `parent` (origin and window checked), posts
//! the card straight to that provider's tokenization endpoint on this origin, and answers
//! the parent with `{type:"token", token}` or `{type:"error", message}`: never the card.
//! Only `parent` may frame it (`frame-ancestors`).
//!
//! `POST /_sandbox/tokens/expire` with `{"token"}`: the token, whichever provider made
//! it, expires now (tests of expiry without waiting 10 to 30 minutes).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::html::escape;
use super::Sandbox;

pub const FIELDS_PATH: &str = "/_sandbox/hosted-fields/{provider}";
pub const SCRIPT_PATH: &str = "/_sandbox/static/hosted-fields.js";
pub const EXPIRE_PATH: &str = "/_sandbox/tokens/expire";

const SCRIPT: &str = include_str!("hosted_fields.js");

pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route(FIELDS_PATH, get(page))
        .route(SCRIPT_PATH, get(script))
        .route(EXPIRE_PATH, post(expire))
}

#[derive(Deserialize)]
struct FieldsQuery {
    parent: Option<String>,
}

/// The provider's fields, and the public credential its library would hold.
fn provider_key(sandbox: &Sandbox, provider: &str) -> Option<(String, String)> {
    use base64::Engine;
    let key = match provider {
        "dlocal" => super::dlocal::PUBLIC_KEY.to_owned(),
        "paysafe" => base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            super::paysafe::SANDBOX_SUT_USER,
            super::paysafe::SANDBOX_SUT_PASSWORD
        )),
        "bambora" => String::new(),
        // Payroc's page gets a Hosted Fields session the merchant's server would open.
        "payroc" => sandbox.payroc.open_fields_session(),
        _ => return None,
    };
    let terminal = super::payroc::SANDBOX_TERMINAL.to_owned();
    Some((key, terminal))
}

/// `parent` as an exact origin (`scheme://host[:port]`), or nothing.
fn origin_of(parent: Option<&str>) -> Option<String> {
    let parent = parent?;
    let url = reqwest::Url::parse(parent).ok()?;
    let origin = url.origin().ascii_serialization();
    let is_web = matches!(url.scheme(), "http" | "https")
        && origin
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/.-[]".contains(&b));
    (is_web && origin == parent.trim_end_matches('/')).then_some(origin)
}

async fn page(
    State(sandbox): State<Sandbox>,
    Path(provider): Path<String>,
    Query(query): Query<FieldsQuery>,
) -> Response {
    let Some(parent) = origin_of(query.parent.as_deref()) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "parent must be the checkout page's origin",
        );
    };
    let Some((key, terminal)) = provider_key(&sandbox, &provider) else {
        return refusal(StatusCode::NOT_FOUND, "no hosted fields for this provider");
    };
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Card fields</title>
<style>body{{font:14px system-ui,sans-serif;margin:0;padding:4px}}label{{display:block;margin:4px 0}}input{{font:inherit;width:14em}}</style></head>
<body data-provider="{provider}" data-parent="{parent}" data-key="{key}" data-terminal="{terminal}">
<label>Card number <input id="card-number" inputmode="numeric" autocomplete="cc-number"></label>
<label>Expiry month <input id="expiry-month" type="number" min="1" max="12" value="12"></label>
<label>Expiry year <input id="expiry-year" type="number" min="2024" max="2099" value="2030"></label>
<label>CVV <input id="cvv" inputmode="numeric" maxlength="4" value="123"></label>
<label>Name on card <input id="holder-name" value="Jo Doe"></label>
<script src="{SCRIPT_PATH}"></script></body></html>"#,
        provider = escape(&provider),
        parent = escape(&parent),
        key = escape(&key),
        terminal = escape(&terminal),
    );
    let policy = format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
         frame-ancestors {parent}"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::REFERRER_POLICY, "no-referrer".to_owned()),
        ],
        html,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

#[derive(Deserialize)]
struct ExpireBody {
    token: String,
}

/// `POST /_sandbox/tokens/expire`: 200 `{"token","expired":true}`, or 404.
async fn expire(State(sandbox): State<Sandbox>, body: Option<Json<ExpireBody>>) -> Response {
    let Some(Json(ExpireBody { token })) = body else {
        return refusal(StatusCode::BAD_REQUEST, "send {\"token\": \"…\"}");
    };
    let found = sandbox.payroc.expire_single_use_token(&token)
        || sandbox.dlocal.expire_token(&token)
        || sandbox.paysafe.expire_token(&token)
        || sandbox.bambora.expire_token(&token);
    if found {
        Json(json!({ "token": token, "expired": true })).into_response()
    } else {
        refusal(StatusCode::NOT_FOUND, "no provider holds this token")
    }
}

fn refusal(status: StatusCode, message: &str) -> Response {
    let code = if status == StatusCode::NOT_FOUND {
        "not_found"
    } else {
        "bad_request"
    };
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn parent_must_be_an_exact_web_origin() {
        let ok = origin_of(Some("http://127.0.0.1:8080"));
        assert_eq!(ok.as_deref(), Some("http://127.0.0.1:8080"));
        for bad in [
            "http://127.0.0.1:8080/path",
            "javascript:alert(1)",
            "*",
            "http://a\"b",
        ] {
            assert_eq!(origin_of(Some(bad)), None, "{bad}");
        }
        assert_eq!(origin_of(None), None);
    }
}

//! `Backend::handle`: every route of the HTTP API (docs/openapi.yaml) over plain
//! [`Request`]/[`Response`] values, and what every answer carries: `no-store`, CORS for
//! the configured checkout origins on `/v1/payments*`, the body limit, JSON errors (HTML
//! on the browser-facing return routes). The handlers live in `payments` and `returns`.
//!
//! A host must run each request to its end even when the client hangs up: a confirm, a
//! Method report, a return, a webhook or a reconcile may be in a provider call that moves
//! money, and the provider finishes it whether or not anyone still waits for the answer
//! (the native host moves a request whose client left to a task of its own, the edge
//! keeps it with `waitUntil`).
//!
//! Every request runs in a `request` span (its id, method and path: every log line within
//! it carries them) and ends with one access-log line (target `threeds_bridge::access`).
//! `/healthz` and `/readyz` are the probes of every host (docs/operations.md).

use tracing::Instrument;

use super::apart::apart;
use super::api::ApiError;
use super::host::{Env, Transport};
use super::http::{Method, Request, Response};
use super::request_id::{RequestIds, REQUEST_ID_HEADER};
use super::{pages, Backend, MAX_BODY_BYTES};
use crate::payment::ProviderKind;
use crate::provider::lifecycle::OperationKind;
use crate::store::SessionStore;

/// What a path names, before the method is looked at.
#[derive(Clone, Copy)]
enum Route<'a> {
    Payments,
    Payment(&'a str),
    Confirm(&'a str),
    Method(&'a str),
    /// The merchant or the page ends the payment `cancelled` (`cancel.rs`).
    Cancel(&'a str),
    /// The merchant asks for a payment in doubt to be looked up now.
    Reconcile(&'a str),
    /// The merchant captures, voids or refunds an authorized payment.
    Operation(&'a str, OperationKind),
    /// A return URL of the provider's own, one for every payment.
    ProviderReturn(ProviderKind),
    Return(&'a str),
    Webhook(ProviderKind),
    CompleteJs,
    /// Liveness: 200 while the process answers at all.
    Healthz,
    /// Readiness: 200 once the store answers, 503 while it does not.
    Readyz,
}

impl Route<'_> {
    /// The methods this path answers: the `Allow` header of its 405 (RFC 9110 §15.5.6),
    /// the same list docs/openapi.yaml documents for it.
    fn allow(self) -> &'static str {
        match self {
            Route::Payments | Route::Confirm(_) | Route::Method(_) | Route::Cancel(_) => {
                "POST, OPTIONS"
            }
            Route::Payment(_) => "GET, OPTIONS",
            // The merchant's server only: no page calls it, so no CORS preflight.
            Route::Reconcile(_) | Route::Operation(..) => "POST",
            Route::Return(_) => "GET, POST",
            // Payroc's MPI sends the browser back with a GET; nothing posts a receipt.
            Route::ProviderReturn(_) | Route::CompleteJs | Route::Healthz | Route::Readyz => "GET",
            Route::Webhook(_) => "POST",
        }
    }
}

impl<'a> Route<'a> {
    /// The payment a path names, for the request's log lines.
    fn payment_id(self) -> Option<&'a str> {
        match self {
            Route::Payment(id)
            | Route::Confirm(id)
            | Route::Method(id)
            | Route::Cancel(id)
            | Route::Reconcile(id)
            | Route::Operation(id, _)
            | Route::Return(id) => Some(id),
            _ => None,
        }
    }
}

/// A path as the logs show it: the API's own words and session ids (32 hex digits) as
/// they are, any other segment as `*`. A client may put anything in a path, a card number
/// included.
fn loggable_path(path: &str) -> String {
    const WORDS: [&str; 18] = [
        "v1",
        "payments",
        "confirm",
        "method",
        "cancel",
        "reconcile",
        "capture",
        "void",
        "refunds",
        "returns",
        "webhooks",
        "complete.js",
        "healthz",
        "readyz",
        "payroc",
        "dlocal",
        "paysafe",
        "bambora",
    ];
    let segments: Vec<&str> = path
        .split('/')
        .skip(1)
        .map(|segment| {
            if segment.is_empty() || WORDS.contains(&segment) || is_session_id(segment) {
                segment
            } else {
                "*"
            }
        })
        .collect();
    format!("/{}", segments.join("/"))
}

/// A refused `Origin` as the log names it: as sent when it could be an origin (a scheme, a
/// host of at most 253 characters and a port), `*` when longer or when it holds a card
/// number. Any client may send any header, to anyone's payment route.
fn loggable_origin(origin: &str) -> &str {
    match origin.len() <= MAX_ORIGIN_CHARS && !super::request_id::holds_a_card_number(origin) {
        true => origin,
        false => "*",
    }
}

/// `https://` + the longest DNS name (RFC 1035: 253) + `:65535`.
const MAX_ORIGIN_CHARS: usize = 8 + 253 + 6;

/// 32 lowercase hex digits, as session ids are minted, and no card number among them (a
/// path segment of 32 digits is kept on every line of its request otherwise).
fn is_session_id(text: &str) -> bool {
    text.len() == 32
        && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !super::request_id::holds_a_card_number(text)
}

/// Longer than any method a client sends (`PROPPATCH`, 9; WebDAV's longest, 16).
const MAX_METHOD_CHARS: usize = 24;

/// The method as the access log spells it.
fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Options => "OPTIONS",
        Method::Head => "HEAD",
        // A method is any token, digits too. One longer than any real method is not
        // scanned (the scan is per digit, and a request head may hold 400 KB of them)
        // nor written out whole on every line of its request.
        Method::Other(other) if other.len() > MAX_METHOD_CHARS => "*",
        Method::Other(other) if super::request_id::holds_a_card_number(other) => "*",
        Method::Other(other) => other,
    }
}

/// Whether `path` is a payment's confirm as the router reads it, trailing slashes and
/// all: the native host's per-IP confirm rate (`native::routes`) applies to exactly these.
#[cfg(feature = "native")]
pub(crate) fn is_confirm(path: &str) -> bool {
    matches!(route(path), Some(Route::Confirm(_)))
}

fn route(path: &str) -> Option<Route<'_>> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    Some(match segments.as_slice() {
        ["v1", "payments"] => Route::Payments,
        ["v1", "payments", id] => Route::Payment(id),
        ["v1", "payments", id, "confirm"] => Route::Confirm(id),
        ["v1", "payments", id, "method"] => Route::Method(id),
        ["v1", "payments", id, "cancel"] => Route::Cancel(id),
        ["v1", "payments", id, "reconcile"] => Route::Reconcile(id),
        ["v1", "payments", id, "capture"] => Route::Operation(id, OperationKind::Capture),
        ["v1", "payments", id, "void"] => Route::Operation(id, OperationKind::Void),
        ["v1", "payments", id, "refunds"] => Route::Operation(id, OperationKind::Refund),
        ["v1", "returns", name] if ProviderKind::parse(name).is_some() => {
            Route::ProviderReturn(ProviderKind::parse(name)?)
        }
        ["v1", "returns", id] => Route::Return(id),
        ["v1", "webhooks", name] => Route::Webhook(ProviderKind::parse(name)?),
        ["v1", "complete.js"] => Route::CompleteJs,
        ["healthz"] => Route::Healthz,
        ["readyz"] => Route::Readyz,
        _ => return None,
    })
}

/// What a request's log lines carry, taken from its method, path and headers before it is
/// answered ([`Backend::trace`]): a host that answers a request itself (the native host's
/// confirm rate limit, a body that never arrives) ends it with [`Backend::finish`], so that
/// its answer has an `X-Request-Id` and its access line like any other.
pub struct Trace {
    request_id: String,
    span: tracing::Span,
    began_ms: u64,
    method: String,
    path: String,
    webhook: Option<ProviderKind>,
}

impl Trace {
    /// The request's span: a line logged in it carries the request id, method and path.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// Answers one request: [`Backend::answer_route`] inside the request's span, its id echoed
    /// in `X-Request-Id`, then its access-log line (never the query: it may carry a
    /// secret).
    pub async fn handle(&self, request: Request) -> Response {
        let trace = self.trace(&request);
        self.handle_traced(request, trace).await
    }

    /// [`Backend::handle`] of a request whose [`Trace`] the host took first.
    pub async fn handle_traced(&self, request: Request, trace: Trace) -> Response {
        let span = trace.span.clone();
        async {
            let response = self.answer_route(request).await;
            self.finish(trace, response)
        }
        .instrument(span)
        .await
    }

    /// The request's ids (the client's `X-Request-Id` when sane, else its `traceparent`'s,
    /// else a fresh one) and its `request` span; its body is not looked at.
    pub fn trace(&self, request: &Request) -> Trace {
        let ids = RequestIds::of(request, &self.env);
        let path = loggable_path(&request.path);
        let span = tracing::info_span!(
            "request",
            request_id = %ids.request_id,
            trace_id = ids.trace_id.as_deref(),
            method = method_name(&request.method),
            path = %path,
            payment = tracing::field::Empty,
        );
        let webhook = match route(&request.path) {
            Some(Route::Webhook(provider)) => Some(provider),
            _ => None,
        };
        if let Some(id) = route(&request.path)
            .and_then(Route::payment_id)
            .filter(|id| is_session_id(id))
        {
            span.record("payment", id);
        }
        Trace {
            request_id: ids.request_id,
            span,
            began_ms: self.env.now_ms(),
            method: method_name(&request.method).to_owned(),
            path,
            webhook,
        }
    }

    /// Ends a traced request with `response`: counted (a notification), logged (the access
    /// line, in the request's span) and given its `X-Request-Id`.
    pub fn finish(&self, trace: Trace, response: Response) -> Response {
        if let Some(provider) = trace.webhook {
            self.observer.webhook(provider, response.status);
        }
        trace.span.in_scope(|| {
            tracing::info!(
                target: "threeds_bridge::access",
                method = %trace.method,
                path = %trace.path,
                status = response.status,
                duration_ms = self.env.now_ms().saturating_sub(trace.began_ms),
                "request"
            )
        });
        response.with_header(REQUEST_ID_HEADER, trace.request_id)
    }

    /// Answers one request: its route's answer, with CORS and the headers every answer
    /// carries.
    async fn answer_route(&self, request: Request) -> Response {
        let response = self.dispatch(&request).await;
        self.with_common_headers(&request, response)
    }

    /// `response` to `request` with the headers every answer carries: CORS for the page's
    /// routes, `no-store`, `nosniff`. A host's own answer (the native per-client confirm
    /// limit's 429, a body's 408) takes them too, so that the page can read it.
    pub fn with_common_headers(&self, request: &Request, mut response: Response) -> Response {
        if request.path.starts_with("/v1/payments") {
            match request.header("origin") {
                Some(origin) if self.config.allows_origin(origin) => {
                    response = response.with_header("Access-Control-Allow-Origin", origin);
                }
                // The browser will only say "network error": say here what to change.
                Some(origin) => tracing::warn!(
                    origin = %loggable_origin(origin), path = %loggable_path(&request.path),
                    "refused by CORS: this origin is not in checkout_origins (the config key to change; \
                     note that http://localhost and http://127.0.0.1 are different origins)"
                ),
                None => {}
            }
            response = response.with_header("Vary", "Origin");
        }
        response
            .with_header("Cache-Control", "no-store")
            .with_header("X-Content-Type-Options", "nosniff")
    }

    async fn dispatch(&self, request: &Request) -> Response {
        let Some(route) = route(&request.path) else {
            return ApiError::new(404, "not_found", "no such route").response();
        };
        let browser_facing = matches!(route, Route::Return(_) | Route::ProviderReturn(_));
        if request.body.len() > MAX_BODY_BYTES {
            let message = format!("request bodies are limited to {MAX_BODY_BYTES} bytes");
            return if browser_facing {
                pages::error(413, "body_too_large", &message)
            } else {
                ApiError::new(413, "body_too_large", message).response()
            };
        }
        let method = &request.method;
        let allow = route.allow();
        let result = match (route, method) {
            (
                Route::Payments
                | Route::Payment(_)
                | Route::Confirm(_)
                | Route::Method(_)
                | Route::Cancel(_),
                Method::Options,
            ) => Ok(self.preflight(request)),
            // Each route's future apart (apart.rs): a host compiles only the routes used.
            (Route::Payments, Method::Post) => apart(self.create(request)).await,
            (Route::Payment(id), Method::Get) => apart(self.view(id, request)).await,
            (Route::Confirm(id), Method::Post) => apart(self.confirm(id, request)).await,
            (Route::Method(id), Method::Post) => apart(self.method_completed(id, request)).await,
            (Route::Cancel(id), Method::Post) => apart(self.cancel(id, request)).await,
            (Route::Reconcile(id), Method::Post) => apart(self.reconcile(id, request)).await,
            (Route::Operation(id, kind), Method::Post) => {
                apart(self.operate(id, request, kind)).await
            }
            (Route::ProviderReturn(provider), Method::Get) => {
                return apart(self.provider_return(provider, request)).await
            }
            (Route::Return(id), Method::Get | Method::Post) => {
                return apart(self.browser_return(id, request)).await
            }
            (Route::Webhook(provider), Method::Post) => {
                apart(self.webhook(provider, request)).await
            }
            (Route::CompleteJs, Method::Get) => Ok(Response::new(
                200,
                "text/javascript; charset=utf-8",
                pages::COMPLETE_JS,
            )),
            (Route::Healthz, Method::Get) => Ok(Response::json(
                200,
                &serde_json::json!({ "status": "alive" }),
            )),
            (Route::Readyz, Method::Get) => apart(self.readiness()).await,
            _ if browser_facing => {
                return pages::error(405, "method_not_allowed", &format!("use {allow}"))
                    .with_header("Allow", allow);
            }
            _ => {
                return ApiError::new(
                    405,
                    "method_not_allowed",
                    format!("this route takes {allow}"),
                )
                .response()
                .with_header("Allow", allow)
            }
        };
        result.unwrap_or_else(|error| error.response())
    }

    /// `GET /readyz`: the store's own readiness check (a cheap read; SQLite's writer
    /// alive too), so a store that cannot serve payments (a database down, a file
    /// unreadable, SQLite's writer thread gone) makes this instance unready: 503 with
    /// the store's error code.
    async fn readiness(&self) -> Result<Response, ApiError> {
        self.store
            .ready()
            .await
            .map_err(|error| ApiError::store(&error))?;
        Ok(Response::json(
            200,
            &serde_json::json!({ "status": "ready" }),
        ))
    }

    /// `OPTIONS /v1/payments*`: a CORS preflight, answered for configured origins only.
    /// `Authorization` is not among the allowed headers: a merchant API key has no
    /// business in a browser, so no page can send one cross-origin.
    fn preflight(&self, request: &Request) -> Response {
        match request.header("origin") {
            Some(origin) if self.config.allows_origin(origin) => Response {
                status: 204,
                headers: vec![
                    ("Access-Control-Allow-Methods".into(), "GET, POST".into()),
                    (
                        "Access-Control-Allow-Headers".into(),
                        "Content-Type, X-Client-Secret".into(),
                    ),
                    ("Access-Control-Max-Age".into(), "600".into()),
                ],
                body: Vec::new(),
            },
            _ => ApiError::new(403, "origin_not_allowed", "this origin may not use the API")
                .response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_keep_the_apis_words_and_ids_and_nothing_else() {
        let id = "0123456789abcdef0123456789abcdef";
        for (path, logged) in [
            (
                format!("/v1/payments/{id}/confirm"),
                format!("/v1/payments/{id}/confirm"),
            ),
            ("/v1/returns/payroc".into(), "/v1/returns/payroc".into()),
            ("/v1/payments/".into(), "/v1/payments/".into()),
            ("/healthz".into(), "/healthz".into()),
            (
                "/v1/payments/4000000000001000".into(),
                "/v1/payments/*".into(),
            ),
            ("/wp-admin/setup.php".into(), "/*/*".into()),
            // 32 digits look like a session id, but hold a card number.
            (
                "/v1/payments/41111111111111110000000000000000/confirm".into(),
                "/v1/payments/*/confirm".into(),
            ),
            (
                format!("/v1/payments/{}", id.to_uppercase()),
                "/v1/payments/*".into(),
            ),
        ] {
            assert_eq!(loggable_path(&path), logged, "{path}");
        }
    }

    #[test]
    fn a_method_that_holds_a_card_number_is_not_logged() {
        assert_eq!(method_name(&Method::Other("PURGE".into())), "PURGE");
        assert_eq!(method_name(&Method::Other("4111111111111111".into())), "*");
        assert_eq!(
            method_name(&Method::Other("BASELINE-CONTROL".into())),
            "BASELINE-CONTROL"
        );
        // A method longer than any real one is neither scanned digit by digit nor
        // logged whole: 400 KB of digits that hold no card number used to be both.
        let long = "1".repeat(400_000);
        assert_eq!(method_name(&Method::Other(long)), "*");
    }
}

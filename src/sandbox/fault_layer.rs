//! The middleware that applies the fault rules ([`super::faults`]) to a provider's
//! requests: added latency, a share of 5xx answers, hung requests, connections
//! dropped after the provider has committed the work, and work committed after the client
//! gave up.
//!
//! `router()` wraps each provider's nested router with [`with_faults`], so the path a
//! rule's `endpoint` is matched against is relative to the provider's prefix
//! (`/secure_payments` for dLocal, `/api/v1/payments` for Payroc).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};

use super::faults::FaultAction;
use super::ledger::Provider;
use super::Sandbox;

/// How long a hung request waits: far longer than any client's timeout, so the client
/// gives up first and its disconnect drops the request.
pub const HANG: Duration = Duration::from_secs(60 * 60);

/// The body of an injected 5xx: the same for every provider, so that a client can tell an
/// injected failure from the provider's own errors.
pub const INJECTED_ERROR: &str = "sandbox fault injected";

/// `routes` with the fault rules of `provider` applied to every request they serve.
pub fn with_faults(
    routes: Router<Sandbox>,
    sandbox: &Sandbox,
    provider: Provider,
) -> Router<Sandbox> {
    routes.layer(middleware::from_fn_with_state(
        FaultScope {
            sandbox: sandbox.clone(),
            provider,
        },
        apply_faults,
    ))
}

/// Which provider's rules a wrapped router answers to.
#[derive(Clone)]
struct FaultScope {
    sandbox: Sandbox,
    provider: Provider,
}

async fn apply_faults(State(scope): State<FaultScope>, request: Request, next: Next) -> Response {
    let (latency_ms, action) = scope
        .sandbox
        .faults
        .decide(scope.provider, request.uri().path());
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    match action {
        FaultAction::Answer => next.run(request).await,
        FaultAction::Fail(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (status, Json(serde_json::json!({ "error": INJECTED_ERROR }))).into_response()
        }
        FaultAction::Hang => {
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        FaultAction::DropAfterCommit => {
            // The provider does all its work (the charge is in the ledger), then the
            // connection fails before a byte of the answer reaches the client.
            let (parts, _answer) = next.run(request).await.into_parts();
            Response::from_parts(parts, Body::new(FailingBody))
        }
        FaultAction::CommitLate(after_ms) => {
            // The request is taken whole now (the client may be gone when the work
            // starts), and done later by a task of its own, whoever still waits.
            let (parts, body) = request.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, 1 << 20).await else {
                return StatusCode::BAD_REQUEST.into_response();
            };
            let request = Request::from_parts(parts, Body::from(bytes));
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(after_ms)).await;
                let _answer = next.run(request).await;
            });
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        FaultAction::HangAfterCommit => {
            // The charge is in the ledger; the answer never comes.
            let _answer = next.run(request).await;
            tokio::time::sleep(HANG).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// A response body whose first poll fails: hyper then closes the connection without
/// flushing the status line it had buffered, and the client sees a broken connection.
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "sandbox fault: connection dropped after commit",
        ))))
    }

    fn is_end_stream(&self) -> bool {
        false
    }
}

//! The native host's accept loop: an axum router served by hyper with a timer, so that
//! a client that trickles its request headers is cut off (`axum::serve` runs hyper
//! without one, and 150 slow clients could each hold a connection for as long as they
//! liked). Each connection's peer address reaches the handlers as `ConnectInfo`. On
//! shutdown the loop stops accepting and waits for the requests in flight.
//!
//! A request that never reaches the router because hyper refused its head (its own 400,
//! 414 or 431) still gets its access line, in a `request` span with a fresh request id
//! (nothing of the request can be trusted into it). Headers that do not arrive in time
//! close the connection without an answer or a line: hyper reports a silent client and an
//! idle keep-alive connection alike, and the latter is no request.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;

/// How long a client may take to send a request's line and headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` resolves, then lets the requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // A failed accept (the process is out of file descriptors, say) is not
                // the end of the server: wait a moment and go on.
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let app = router
            .clone()
            .layer(Extension(ConnectInfo::<SocketAddr>(peer)));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app))
            .into_owned();
        let connection = graceful.watch(connection);
        let accepted = std::time::Instant::now();
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                log_unrouted(&*error, accepted);
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The access line of a request the router never saw, when `error` (a connection's end)
/// is one: a head hyper refused and answered itself.
fn log_unrouted(error: &(dyn std::error::Error + 'static), accepted: std::time::Instant) {
    let Some(error) = error.downcast_ref::<hyper::Error>() else {
        return;
    };
    let (status, reason) = if error.is_parse_too_large() && error.to_string().contains("URI") {
        (414, "the request line is too long: hyper answered")
    } else if error.is_parse_too_large() {
        (431, "the request headers are too large: hyper answered")
    } else if error.is_parse() {
        (400, "the request head is not HTTP/1.1: hyper answered")
    } else {
        return;
    };
    let request_id = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    tracing::info_span!("request", request_id = %request_id, method = "-", path = "-").in_scope(
        || {
            tracing::info!(
                target: "threeds_bridge::access",
                method = "-",
                path = "-",
                status,
                duration_ms = accepted.elapsed().as_millis() as u64,
                reason,
                "request"
            )
        },
    );
}

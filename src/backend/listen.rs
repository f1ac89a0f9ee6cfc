//! The native host's accept loop: an axum router served by hyper with a timer, so that
//! a client that trickles its request headers is cut off (`axum::serve` runs hyper
//! without one, and 150 slow clients could each hold a connection for as long as they
//! liked). HTTP/1.1 only, so that the timer runs from a connection's first moment. Each connection's peer address reaches the handlers as `ConnectInfo`. On
//! shutdown the loop stops accepting and waits for the requests in flight.
//!
//! A request that never reaches the router still gets its access line, in a `request`
//! span with a fresh request id (nothing of the request can be trusted into it): a head
//! hyper refused (its own 400, 414 or 431), or one that began but did not end within the
//! header timeout (closed without an answer, logged 408). hyper reports that timeout for an
//! idle keep-alive connection too, which is no request: each connection's socket is
//! watched ([`Watched`]) for bytes read since the last answer was written.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::{Extension, Router};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How long a client may take to send a request's line and headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until `stop` resolves, then lets the requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: impl std::future::Future<Output = ()>,
) {
    // HTTP/1 only, and no upgrades: hyper-util's auto builder otherwise first waits for the
    // bytes that tell HTTP/1 from HTTP/2, with no timer, so a client that connected and sent
    // nothing held its connection for ever; and it served cleartext HTTP/2, which has no
    // header timeout at all. With HTTP/1 alone the header timer runs from the start.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
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
        let head = Arc::new(Mutex::new(HeadWatch::default()));
        let stream = Watched {
            stream,
            head: head.clone(),
        };
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                let head = *head.lock().unwrap_or_else(PoisonError::into_inner);
                log_unrouted(&*error, head);
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The access line of a request the router never saw, when `error` (a connection's end)
/// is one: a head hyper refused and answered itself, or one begun and not finished in time.
fn log_unrouted(error: &(dyn std::error::Error + 'static), head: HeadWatch) {
    let Some(error) = error.downcast_ref::<hyper::Error>() else {
        return;
    };
    let (status, reason) = if error.is_timeout() && head.pending {
        (
            408,
            "the request head did not arrive in time: connection closed",
        )
    } else if error.is_parse_too_large() && error.to_string().contains("URI") {
        (414, "the request line is too long: hyper answered")
    } else if error.is_parse_too_large() {
        (431, "the request headers are too large: hyper answered")
    } else if error.is_parse() {
        (400, "the request head is not HTTP/1.1: hyper answered")
    } else {
        return;
    };
    let duration_ms = head
        .started
        .map_or(0, |started| started.elapsed().as_millis() as u64);
    let request_id = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    tracing::info_span!("request", request_id = %request_id, method = "-", path = "-").in_scope(
        || {
            tracing::info!(
                target: "threeds_bridge::access",
                method = "-",
                path = "-",
                status,
                duration_ms,
                reason,
                "request"
            )
        },
    );
}

/// What a connection's socket has seen of the request head hyper is reading.
#[derive(Debug, Clone, Copy, Default)]
struct HeadWatch {
    /// When the first byte after the last answer came: the request's start.
    started: Option<Instant>,
    /// A byte came since the last answer was written: a request has begun.
    pending: bool,
}

/// A connection's socket, noting in its [`HeadWatch`] when bytes come after an answer.
struct Watched {
    stream: tokio::net::TcpStream,
    head: Arc<Mutex<HeadWatch>>,
}

impl Watched {
    fn note(&self, edit: impl FnOnce(&mut HeadWatch)) {
        edit(&mut self.head.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.note(|head| {
                if !head.pending {
                    head.pending = true;
                    head.started = Some(Instant::now());
                }
            });
        }
        read
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.note(|head| head.pending = false);
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.note(|head| head.pending = false);
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

//! The API's routes as an axum router ([`router`]): each request's head and body read
//! into the core's [`Request`], a per-client limit on confirms, and each handling run to its
//! end even when its client hangs up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::routing::any;
use axum::Router;

use super::confirm_limit::{ConfirmLimiter, ConfirmRateLimit};
use crate::backend::host::{Env, Transport};
use crate::backend::http::{Method, Request, Response};
use crate::backend::{ApiError, Backend, Trace, MAX_BODY_BYTES};
use crate::store::SessionStore;

/// What every request of the router shares.
struct Host<S, T, E> {
    backend: Arc<Backend<S, T, E>>,
    /// `None`: no per-client limit (`per_minute = 0`).
    confirms: Option<ConfirmLimiter>,
    /// Each request's handling holds a clone until it ends, so that a server shutting
    /// down can wait for those whose client has gone ([`super::spawn_with`]).
    detached: tokio::sync::mpsc::Sender<()>,
}

/// The core's handling of one request, as the native host runs it to its end.
pub type Handling = std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>;

/// What a layer around [`router`] wants around the handling of each request, wherever it
/// runs: in the handler's task, or in a task of its own once the client has hung up (see
/// `to_the_end`), which a tokio task-local set around the handler does not reach (the
/// demo files each request's provider calls so). Put one in the request's extensions.
#[derive(Clone)]
pub struct TaskScope(Arc<dyn Fn(Handling) -> Handling + Send + Sync>);

impl TaskScope {
    pub fn new(wrap: impl Fn(Handling) -> Handling + Send + Sync + 'static) -> TaskScope {
        TaskScope(Arc::new(wrap))
    }
}

/// A request body that has not arrived within this long is answered 408: a client that
/// trickles its body holds a connection and a task for nothing.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The API's routes as an axum router, to serve alone or to merge into a merchant's app
/// (serve it with `into_make_service_with_connect_info::<SocketAddr>()` so the browser's
/// IP reaches the EMV browser details and the per-IP confirm limit).
pub fn router<S, T, E>(backend: Arc<Backend<S, T, E>>) -> Router
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    router_with(backend, ConfirmRateLimit::default())
}

/// [`router`] with a per-IP confirm limit of the caller's choosing.
pub fn router_with<S, T, E>(backend: Arc<Backend<S, T, E>>, limit: ConfirmRateLimit) -> Router
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    // Nobody waits for the requests left running by their clients in a merchant's own app:
    // its runtime keeps them running as long as it runs.
    // No fallback: the merchant's app (or the demo) has its own for the paths not ours.
    let (detached, _) = tokio::sync::mpsc::channel(1);
    tracked_router(backend, limit, detached, false)
}

/// [`router_with`], whose requests' handlings each hold a clone of `detached` until they
/// end. With `every_path`, the paths outside the route table go to the core too (`serve`'s
/// own app: a trailing slash the core takes, or its 404 with a request id and an access
/// line); a router merged into another app leaves them to that app's fallback.
pub(super) fn tracked_router<S, T, E>(
    backend: Arc<Backend<S, T, E>>,
    limit: ConfirmRateLimit,
    detached: tokio::sync::mpsc::Sender<()>,
    every_path: bool,
) -> Router
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let host = Arc::new(Host {
        backend,
        confirms: limit.limiter(),
        detached,
    });
    let router = Router::new()
        .route("/v1/payments", any(handle::<S, T, E>))
        .route("/v1/payments/{*rest}", any(handle::<S, T, E>))
        .route("/v1/returns/{*rest}", any(handle::<S, T, E>))
        .route("/v1/webhooks/{provider}", any(handle::<S, T, E>))
        .route("/v1/complete.js", any(handle::<S, T, E>))
        .route("/healthz", any(handle::<S, T, E>))
        .route("/readyz", any(handle::<S, T, E>));
    let router = if every_path {
        router.fallback(handle::<S, T, E>)
    } else {
        router
    };
    router.with_state(host)
}

async fn handle<S, T, E>(
    State(host): State<Arc<Host<S, T, E>>>,
    request: axum::extract::Request,
) -> axum::response::Response
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let (parts, body) = request.into_parts();
    let scope = parts.extensions.get::<TaskScope>().cloned();
    let peer_ip = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let headers = parts
        .headers
        .iter()
        .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_owned())))
        .collect();
    // The body comes later: what the request's log lines carry is known from its head, so
    // that an answer of this host's own has its request id and access line too.
    let mut request = Request {
        method: Method::parse(parts.method.as_str()),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body: Vec::new(),
        peer_ip,
    };
    let trace = host.backend.trace(&request);
    // What the core will route as a confirm: its method as the core reads it (`post` is
    // POST there too), its path as the router takes it.
    let confirm =
        request.method == Method::Post && crate::backend::routes::is_confirm(&request.path);
    if let (true, Some(limiter), Some(ip)) = (confirm, &host.confirms, peer_ip) {
        if !limiter.admit(ip) {
            trace.span().in_scope(
                || tracing::warn!(%ip, "confirm refused: this client IP is over its confirm rate"),
            );
            let refused = ApiError::new(
                429,
                "rate_limited",
                "too many payment confirmations from this address; try again in a minute",
            )
            .response()
            .with_header("Retry-After", "60");
            let refused = host.backend.with_common_headers(&request, refused);
            return into_axum(host.backend.finish(trace, refused));
        }
    }
    // Read one byte past the limit: the core answers 413 for anything longer.
    request.body = match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        axum::body::to_bytes(body, MAX_BODY_BYTES + 1),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes.to_vec(),
        Ok(Err(_)) => vec![0; MAX_BODY_BYTES + 1],
        Err(_) => {
            trace.span().in_scope(|| {
                tracing::warn!("the request body did not arrive in time: answered 408")
            });
            let late = ApiError::new(
                408,
                "body_timeout",
                "the request body did not arrive in time",
            )
            .response();
            let late = host.backend.with_common_headers(&request, late);
            return into_axum(host.backend.finish(trace, late));
        }
    };
    into_axum(to_the_end(&host, request, trace, scope).await)
}

/// The core's handling of `request`, run to its end whatever the client does. It is
/// polled in the handler like any future; if the client hangs up first (axum then drops
/// the handler), what is left of it moves to a task of its own: a provider call in flight
/// (which the provider finishes whether or not anyone waits) runs to its answer, and the
/// session ends with the provider's result, which the page's next read learns.
fn to_the_end<S, T, E>(
    host: &Host<S, T, E>,
    request: Request,
    trace: Trace,
    scope: Option<TaskScope>,
) -> ToTheEnd
where
    S: SessionStore + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let backend = host.backend.clone();
    let held = host.detached.clone();
    let span = trace.span().clone();
    let work: Handling = Box::pin(async move {
        let response = backend.handle_traced(request, trace).await;
        drop(held);
        response
    });
    ToTheEnd {
        work: Some(match scope {
            Some(TaskScope(wrap)) => wrap(work),
            None => work,
        }),
        span,
    }
}

/// See [`to_the_end`].
struct ToTheEnd {
    /// `None` once answered.
    work: Option<Handling>,
    /// The request's span, for the line saying its client left.
    span: tracing::Span,
}

impl std::future::Future for ToTheEnd {
    type Output = Response;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Response> {
        let Some(work) = self.work.as_mut() else {
            return std::task::Poll::Pending;
        };
        let answer = std::task::ready!(work.as_mut().poll(cx));
        self.work = None;
        std::task::Poll::Ready(answer)
    }
}

impl Drop for ToTheEnd {
    fn drop(&mut self) {
        let Some(work) = self.work.take() else {
            return;
        };
        // Outside a runtime the process is stopping: nothing can run it any more.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            self.span.in_scope(|| {
                tracing::info!("the client left before the answer: the request runs on to its end")
            });
            runtime.spawn(work);
        }
    }
}

fn into_axum(response: Response) -> axum::response::Response {
    let mut builder = axum::http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder.body(Body::from(response.body)).unwrap_or_else(|_| {
        let mut fallback = axum::response::Response::new(Body::empty());
        *fallback.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

//! [`apart`]: a future whose state machine stays a function of its own in the compiled code.
//! Why: an `async fn` awaited in one place is inlined into its caller's state machine, so every
//! route of [`Backend::dispatch`](super::Backend) ended up as one function (89 KB of wasm). V8
//! compiles a wasm function on its first call, and compiling that one took 10 ms, on every
//! isolate's first request, whichever route it asked for (docs/edge/measurements.md, "Cold
//! start"). Each route awaited through `apart` is compiled when it is first used instead.
//! Natively it costs one allocation per request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `future`, polled through a function that is never inlined.
pub fn apart<F: Future>(future: F) -> Apart<F> {
    Apart(Box::pin(future))
}

/// See [`apart`].
pub struct Apart<F>(Pin<Box<F>>);

impl<F: Future> Future for Apart<F> {
    type Output = F::Output;

    #[inline(never)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.0.as_mut().poll(cx)
    }
}

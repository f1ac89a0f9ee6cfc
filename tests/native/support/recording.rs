//! `Recording<T>`: any adapter or transport, wrapped, keeping a record of what passed
//! through it, for tests that assert on what was sent or stored rather than on results.
//! Around an adapter it can also run a test's code at one moment of a route
//! ([`Recording::before_return`], [`Recording::before_response`]).

use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use threeds_bridge::backend::Transport;
use threeds_bridge::emv::ThreeDsCompInd;
use threeds_bridge::payment::{Canceller, CardSummary, PaymentResult, PaymentStart};
use threeds_bridge::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationStep,
};
use threeds_bridge::provider::{
    Adapter, BrowserReturn, Context, CreateLimits, HttpRequest, HttpResponse, Notification,
    ReturnKey, ReturnRefused, Step, TransportFailure,
};

/// An adapter or a transport that keeps what it asked to send: each request's purpose
/// and body, in order (an operation's calls are not kept). Around an adapter it also keeps
/// every state the adapter handed the host, serialized as the store would keep it.
/// Everything else it passes on unchanged: every method of the adapter's. Clones share one record, so a test keeps one while a backend owns another.
pub struct Recording<T> {
    inner: Arc<T>,
    record: Arc<Mutex<Record>>,
    before_return: Option<Arc<dyn Fn() + Send + Sync>>,
    before_response: Option<Arc<dyn Fn() + Send + Sync>>,
}

#[derive(Default)]
struct Record {
    sent: Vec<(&'static str, String)>,
    stored: Vec<String>,
}

impl<T> Clone for Recording<T> {
    fn clone(&self) -> Self {
        Recording {
            inner: self.inner.clone(),
            record: self.record.clone(),
            before_return: self.before_return.clone(),
            before_response: self.before_response.clone(),
        }
    }
}

impl<T> Recording<T> {
    pub fn new(inner: T) -> Recording<T> {
        Recording {
            inner: Arc::new(inner),
            record: Arc::default(),
            before_return: None,
            before_response: None,
        }
    }

    /// This recording, running `hook` whenever a browser return reaches the adapter,
    /// before the adapter reads it: after the route has loaded and settled the session,
    /// before the step it leads to is written.
    pub fn before_return(mut self, hook: impl Fn() + Send + Sync + 'static) -> Recording<T> {
        self.before_return = Some(Arc::new(hook));
        self
    }

    /// This recording, running `hook` whenever a provider's answer reaches the adapter,
    /// before the adapter reads it: after the call's session was written, before the step
    /// the answer leads to is.
    pub fn before_response(mut self, hook: impl Fn() + Send + Sync + 'static) -> Recording<T> {
        self.before_response = Some(Arc::new(hook));
        self
    }

    /// Every request asked for so far: its purpose and its body (empty when it has none).
    pub fn sent(&self) -> Vec<(&'static str, String)> {
        self.record().sent.clone()
    }

    /// Every state handed to the host so far, as JSON (adapters only).
    pub fn stored(&self) -> Vec<String> {
        self.record().stored.clone()
    }

    fn record(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn keep_sent(&self, request: &HttpRequest) {
        let body = request.body.clone().unwrap_or_default();
        self.record().sent.push((request.purpose, body));
    }

    fn keep<S: Serialize>(&self, step: Step<S>) -> Step<S> {
        match &step {
            Step::Call { state, request } => {
                self.keep_sent(request);
                self.keep_state(state);
            }
            Step::Browser { state, .. } | Step::Refused { state, .. } | Step::Unknown { state } => {
                self.keep_state(state)
            }
            Step::Done(_) => {}
        }
        step
    }

    fn keep_state<S: Serialize>(&self, state: &S) {
        let json = serde_json::to_string(state).expect("state serializes");
        self.record().stored.push(json);
    }
}

impl<A: Adapter> Adapter for Recording<A> {
    type State = A::State;

    fn limits(&self) -> CreateLimits {
        self.inner.limits()
    }

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<A::State> {
        self.keep(self.inner.start(payment, cx))
    }

    fn card_of(&self, response: &HttpResponse) -> Option<CardSummary> {
        self.inner.card_of(response)
    }

    fn on_cancel(&self, state: A::State, by: Canceller, cx: &Context) -> Step<A::State> {
        self.keep(self.inner.on_cancel(state, by, cx))
    }

    fn order_of_return(&self, ret: &BrowserReturn) -> Option<ReturnKey> {
        self.inner.order_of_return(ret)
    }

    fn order_of_notification(
        &self,
        notification: &Notification,
        now_ms: u64,
    ) -> Result<Option<String>, ReturnRefused> {
        self.inner.order_of_notification(notification, now_ms)
    }

    fn operation(&self, op: &Operation, cx: &Context) -> Result<OperationStep, OperationError> {
        self.inner.operation(op, cx)
    }

    fn on_operation_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        cx: &Context,
    ) -> OperationStep {
        self.inner.on_operation_response(op, call, response, cx)
    }

    fn operation_lookup(&self, op: &Operation, cx: &Context) -> OperationStep {
        self.inner.operation_lookup(op, cx)
    }

    fn prepare_start(&self, cx: &Context) -> Option<HttpRequest> {
        let request = self.inner.prepare_start(cx)?;
        self.keep_sent(&request);
        Some(request)
    }

    fn on_prepared(
        &self,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Option<PaymentResult> {
        self.inner.on_prepared(response, cx)
    }

    fn on_response(
        &self,
        state: A::State,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<A::State> {
        if let Some(hook) = &self.before_response {
            hook();
        }
        self.keep(self.inner.on_response(state, response, cx))
    }

    fn reconcile(&self, state: A::State, cx: &Context) -> Step<A::State> {
        self.keep(self.inner.reconcile(state, cx))
    }

    fn on_expiry(&self, state: A::State, cx: &Context) -> Step<A::State> {
        self.keep(self.inner.on_expiry(state, cx))
    }

    fn on_browser_return(
        &self,
        state: A::State,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<Step<A::State>, ReturnRefused> {
        if let Some(hook) = &self.before_return {
            hook();
        }
        let step = self.inner.on_browser_return(state, ret, cx)?;
        Ok(self.keep(step))
    }

    fn verify_browser_return(
        &self,
        state: &A::State,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<(), ReturnRefused> {
        self.inner.verify_browser_return(state, ret, cx)
    }

    fn on_method_completed(
        &self,
        state: A::State,
        completion: ThreeDsCompInd,
        cx: &Context,
    ) -> Step<A::State> {
        self.keep(self.inner.on_method_completed(state, completion, cx))
    }

    fn on_notification(
        &self,
        state: A::State,
        notification: &Notification,
        cx: &Context,
    ) -> Option<Step<A::State>> {
        let step = self.inner.on_notification(state, notification, cx)?;
        Some(self.keep(step))
    }
}

impl<T: Transport> Transport for Recording<T> {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
        self.keep_sent(request);
        self.inner.send(request).await
    }
}

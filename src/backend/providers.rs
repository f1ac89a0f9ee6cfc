//! The providers a backend offers: each adapter behind one small object-safe interface
//! whose state is the stored JSON ([`AdapterState`]), so the driver and the routes never
//! name a provider. Owns the (de)serialization of adapter states and nothing else.
//!
//! Adding a provider: a Cargo feature, a field in [`ProvidersConfig`] and one block in
//! [`Providers::from_config`], each under that feature.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::ProvidersConfig;
use crate::emv::ThreeDsCompInd;
use crate::order::Currency;
use crate::payment::{
    Canceller, ExternalAuthentication, Payer, PaymentResult, PaymentStart, PaymentStatus,
    ProviderKind, ResultCode,
};
use crate::provider::lifecycle::{
    Operation, OperationAnswer, OperationCall, OperationError, OperationStep,
};
use crate::provider::{
    Adapter, BrowserReturn, Context, CreateLimits, HttpRequest, HttpResponse, Notification,
    RefusedTerm, ReturnKey, ReturnRefused, Step, TransportFailure,
};
use crate::session::AdapterState;
use crate::store::MaybeSend;

/// An adapter as the driver sees it: states as stored JSON.
pub trait ProviderAdapter: MaybeSend + Sync {
    fn kind(&self) -> ProviderKind;
    /// [`Adapter::limits`].
    fn limits(&self) -> CreateLimits;
    /// [`Adapter::refuses_terms`].
    fn refuses_terms(
        &self,
        currency: &Currency,
        payer: &Payer,
        external: Option<&ExternalAuthentication>,
    ) -> Option<RefusedTerm>;
    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<AdapterState>;
    /// [`Adapter::prepare_start`].
    fn prepare_start(&self, cx: &Context) -> Option<HttpRequest>;
    /// [`Adapter::on_prepared`].
    fn on_prepared(
        &self,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Option<PaymentResult>;
    fn on_response(
        &self,
        state: &AdapterState,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<AdapterState>;
    /// [`Adapter::card_of`].
    fn card_of(&self, response: &HttpResponse) -> Option<crate::payment::CardSummary> {
        let _ = response;
        None
    }
    /// [`Adapter::reconcile`].
    fn reconcile(&self, state: &AdapterState, cx: &Context) -> Step<AdapterState>;
    /// [`Adapter::on_expiry`].
    fn on_expiry(&self, state: &AdapterState, cx: &Context) -> Step<AdapterState>;
    /// [`Adapter::on_cancel`].
    fn on_cancel(&self, state: &AdapterState, by: Canceller, cx: &Context) -> Step<AdapterState>;
    fn verify_browser_return(
        &self,
        state: &AdapterState,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<(), ReturnRefused>;
    fn on_browser_return(
        &self,
        state: &AdapterState,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<Step<AdapterState>, ReturnRefused>;
    fn on_method_completed(
        &self,
        state: &AdapterState,
        completion: ThreeDsCompInd,
        cx: &Context,
    ) -> Step<AdapterState>;
    fn on_notification(
        &self,
        state: &AdapterState,
        notification: &Notification,
        cx: &Context,
    ) -> Option<Step<AdapterState>>;
    /// [`Adapter::order_of_return`].
    fn order_of_return(&self, ret: &BrowserReturn) -> Option<ReturnKey>;
    /// [`Adapter::order_of_notification`].
    fn order_of_notification(
        &self,
        notification: &Notification,
        now_ms: u64,
    ) -> Result<Option<String>, ReturnRefused>;
    /// [`Adapter::operation`].
    fn operation(&self, op: &Operation, cx: &Context) -> Result<OperationStep, OperationError>;
    /// [`Adapter::on_operation_response`].
    fn on_operation_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        cx: &Context,
    ) -> OperationStep;
    /// [`Adapter::operation_lookup`].
    fn operation_lookup(&self, op: &Operation, cx: &Context) -> OperationStep;
}

/// An [`Adapter`] registered under its provider.
pub struct Registered<A: Adapter> {
    kind: ProviderKind,
    adapter: A,
}

impl<A: Adapter> Registered<A> {
    pub fn new(kind: ProviderKind, adapter: A) -> Registered<A> {
        Registered { kind, adapter }
    }

    /// The typed state, or `None` (logged) when the stored JSON is not this adapter's.
    fn decode(&self, state: &AdapterState) -> Option<A::State> {
        // Read from the stored JSON in place: no copy of the tree per step.
        let decoded = crate::json_path::typed::<A::State>(&state.0).ok();
        if decoded.is_none() {
            tracing::error!(
                provider = self.kind.as_str(),
                "stored adapter state unreadable"
            );
        }
        decoded
    }
}

fn unreadable_state() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
        .with_provider_error(
            "state_unreadable",
            "the stored payment state cannot be read",
        )
}

/// A payment whose stored state this build cannot read (one a newer build wrote during a
/// rollout, or damage): never guessed final, since the state alone says whether the
/// provider may charge. It is kept as it is, in doubt: the reconciler looks it up again
/// at its backoff, and a build that reads it settles it; until then the merchant sees
/// `unknown` and the error log says why (`decode`).
fn kept_in_doubt(state: &AdapterState) -> Step<AdapterState> {
    Step::Unknown {
        state: state.clone(),
    }
}

/// A state as stored JSON: written as text and that text read as a value
/// ([`super::http::to_value`]), the same value `serde_json::to_value` builds
/// ([`assert_encodes_as_to_value`]), without a value-writing copy of every state's
/// `Serialize`.
fn encode_state<S: Serialize>(state: &S) -> Result<AdapterState, serde_json::Error> {
    super::http::to_value(state).map(AdapterState)
}

/// A typed step as stored JSON.
fn encode<S: Serialize>(step: Step<S>) -> Step<AdapterState> {
    match step {
        Step::Done(result) => Step::Done(result),
        Step::Call { state, request } => match encode_state(&state) {
            Ok(state) => Step::Call { state, request },
            Err(_) => Step::Done(unreadable_state()),
        },
        Step::Browser { state, action } => match encode_state(&state) {
            Ok(state) => Step::Browser { state, action },
            Err(_) => Step::Done(unreadable_state()),
        },
        Step::Unknown { state } => match encode_state(&state) {
            Ok(state) => Step::Unknown { state },
            Err(_) => Step::Done(unreadable_state()),
        },
        Step::Refused {
            state,
            action,
            refused,
        } => match encode_state(&state) {
            Ok(state) => Step::Refused {
                state,
                action,
                refused,
            },
            Err(_) => Step::Done(unreadable_state()),
        },
    }
}

impl<A> ProviderAdapter for Registered<A>
where
    A: Adapter + MaybeSend + Sync,
    A::State: DeserializeOwned,
{
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn limits(&self) -> CreateLimits {
        self.adapter.limits()
    }

    fn refuses_terms(
        &self,
        currency: &Currency,
        payer: &Payer,
        external: Option<&ExternalAuthentication>,
    ) -> Option<RefusedTerm> {
        self.adapter.refuses_terms(currency, payer, external)
    }

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<AdapterState> {
        encode(self.adapter.start(payment, cx))
    }

    fn prepare_start(&self, cx: &Context) -> Option<HttpRequest> {
        self.adapter.prepare_start(cx)
    }

    fn on_prepared(
        &self,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Option<PaymentResult> {
        self.adapter.on_prepared(response, cx)
    }

    fn on_response(
        &self,
        state: &AdapterState,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<AdapterState> {
        match self.decode(state) {
            Some(state) => encode(self.adapter.on_response(state, response, cx)),
            None => kept_in_doubt(state),
        }
    }

    fn card_of(&self, response: &HttpResponse) -> Option<crate::payment::CardSummary> {
        self.adapter.card_of(response)
    }

    fn reconcile(&self, state: &AdapterState, cx: &Context) -> Step<AdapterState> {
        match self.decode(state) {
            Some(state) => encode(self.adapter.reconcile(state, cx)),
            None => kept_in_doubt(state),
        }
    }

    fn on_expiry(&self, state: &AdapterState, cx: &Context) -> Step<AdapterState> {
        match self.decode(state) {
            Some(state) => encode(self.adapter.on_expiry(state, cx)),
            None => kept_in_doubt(state),
        }
    }

    fn on_cancel(&self, state: &AdapterState, by: Canceller, cx: &Context) -> Step<AdapterState> {
        match self.decode(state) {
            Some(state) => encode(self.adapter.on_cancel(state, by, cx)),
            // The state is unreadable, so is whether the provider may still charge: not
            // `cancelled` (the cancel answers `payment_in_progress`).
            None => kept_in_doubt(state),
        }
    }

    fn verify_browser_return(
        &self,
        state: &AdapterState,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<(), ReturnRefused> {
        let state = self.decode(state).ok_or(ReturnRefused {
            code: "state_unreadable",
            message: "this payment's state cannot be read",
        })?;
        self.adapter.verify_browser_return(&state, ret, cx)
    }

    fn on_browser_return(
        &self,
        state: &AdapterState,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<Step<AdapterState>, ReturnRefused> {
        match self.decode(state) {
            Some(state) => self.adapter.on_browser_return(state, ret, cx).map(encode),
            None => Ok(kept_in_doubt(state)),
        }
    }

    fn on_method_completed(
        &self,
        state: &AdapterState,
        completion: ThreeDsCompInd,
        cx: &Context,
    ) -> Step<AdapterState> {
        match self.decode(state) {
            Some(state) => encode(self.adapter.on_method_completed(state, completion, cx)),
            None => kept_in_doubt(state),
        }
    }

    fn on_notification(
        &self,
        state: &AdapterState,
        notification: &Notification,
        cx: &Context,
    ) -> Option<Step<AdapterState>> {
        let state = self.decode(state)?;
        self.adapter
            .on_notification(state, notification, cx)
            .map(encode)
    }

    fn order_of_return(&self, ret: &BrowserReturn) -> Option<ReturnKey> {
        self.adapter.order_of_return(ret)
    }

    fn order_of_notification(
        &self,
        notification: &Notification,
        now_ms: u64,
    ) -> Result<Option<String>, ReturnRefused> {
        self.adapter.order_of_notification(notification, now_ms)
    }

    fn operation(&self, op: &Operation, cx: &Context) -> Result<OperationStep, OperationError> {
        self.adapter.operation(op, cx)
    }

    fn on_operation_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        cx: &Context,
    ) -> OperationStep {
        self.adapter.on_operation_response(op, call, response, cx)
    }

    fn operation_lookup(&self, op: &Operation, cx: &Context) -> OperationStep {
        self.adapter.operation_lookup(op, cx)
    }
}

/// The adapters of one backend, by provider.
#[derive(Default)]
pub struct Providers {
    adapters: Vec<Box<dyn ProviderAdapter>>,
}

impl Providers {
    /// Every provider that has a configuration section. A section of a provider this
    /// build lacks is refused by [`super::BackendConfig::validate`] before this runs.
    pub fn from_config(config: &ProvidersConfig) -> Providers {
        let providers = Providers::default();
        #[cfg(feature = "payroc")]
        let providers = match &config.payroc {
            Some(c) => providers.with(Registered::new(
                ProviderKind::Payroc,
                crate::provider::payroc::PayrocAdapter::new(c.clone()),
            )),
            None => providers,
        };
        #[cfg(feature = "dlocal")]
        let providers = match &config.dlocal {
            Some(c) => providers.with(Registered::new(
                ProviderKind::Dlocal,
                crate::provider::dlocal::DlocalAdapter::new(c.clone()),
            )),
            None => providers,
        };
        #[cfg(feature = "paysafe")]
        let providers = match &config.paysafe {
            Some(c) => providers.with(Registered::new(
                ProviderKind::Paysafe,
                crate::provider::paysafe::PaysafeAdapter::new(c.clone()),
            )),
            None => providers,
        };
        #[cfg(feature = "bambora")]
        let providers = match &config.bambora {
            Some(c) => providers.with(Registered::new(
                ProviderKind::Bambora,
                crate::provider::bambora::BamboraAdapter::new(c.clone()),
            )),
            None => providers,
        };
        let _ = config;
        providers
    }

    /// Adds (or replaces) the adapter of one provider.
    pub fn with(mut self, adapter: impl ProviderAdapter + 'static) -> Providers {
        self.adapters.retain(|a| a.kind() != adapter.kind());
        self.adapters.push(Box::new(adapter));
        self
    }

    pub fn get(&self, kind: ProviderKind) -> Option<&dyn ProviderAdapter> {
        self.adapters
            .iter()
            .find(|a| a.kind() == kind)
            .map(|a| a.as_ref())
    }

    pub fn kinds(&self) -> impl Iterator<Item = ProviderKind> + '_ {
        self.adapters.iter().map(|a| a.kind())
    }
}

/// Each state's stored JSON by [`encode`], checked against `serde_json::to_value`'s (what
/// was stored before): the same value, and the same text once the session is written.
#[cfg(test)]
pub(crate) fn assert_encodes_as_to_value<S: Serialize + std::fmt::Debug>(states: &[S]) {
    for state in states {
        let before = serde_json::to_value(state).expect("serializes");
        let AdapterState(now) = encode_state(state).expect("encodes");
        assert_eq!(now, before, "{state:?}");
        assert_eq!(
            serde_json::to_string(&now).unwrap(),
            serde_json::to_string(&before).unwrap(),
            "{state:?}"
        );
    }
}

//! The providers a backend offers: each adapter behind one small object-safe interface
//! whose state is the stored JSON ([`AdapterState`]), so the driver and the routes never
//! name a provider. Owns the (de)serialization of adapter states and nothing else.
//!
//! Adding a provider: a field in [`ProvidersConfig`] and one line in
//! [`Providers::from_config`].

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::ProvidersConfig;
use crate::emv::ThreeDsCompInd;
use crate::payment::{PaymentResult, PaymentStart, PaymentStatus, ProviderKind, ResultCode};
use crate::provider::bambora::BamboraAdapter;
use crate::provider::dlocal::{self, DlocalAdapter};
use crate::provider::payroc::PayrocAdapter;
use crate::provider::paysafe::PaysafeAdapter;
use crate::provider::{
    Adapter, BrowserReturn, Context, HttpResponse, Notification, ReturnRefused, Step,
    TransportFailure,
};
use crate::session::AdapterState;
use crate::store::MaybeSend;

/// An adapter as the driver sees it: states as stored JSON.
pub trait ProviderAdapter: MaybeSend + Sync {
    fn kind(&self) -> ProviderKind;
    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<AdapterState>;
    fn on_response(
        &self,
        state: &AdapterState,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<AdapterState>;
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
    ) -> Step<AdapterState>;
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
    /// For the webhook route: verifies a notification and names the order it is about
    /// (`Ok(None)`: verified, but about no order). `Err`: forged, or this provider
    /// sends no notifications.
    fn notification_order(
        &self,
        notification: &Notification,
    ) -> Result<Option<String>, ReturnRefused>;
}

/// How a provider's webhook finds the order of a notification.
type Locate<A> = fn(&A, &Notification) -> Result<Option<String>, ReturnRefused>;

/// An [`Adapter`] registered under its provider.
pub struct Registered<A: Adapter> {
    kind: ProviderKind,
    adapter: A,
    locate: Option<Locate<A>>,
}

impl<A: Adapter> Registered<A> {
    pub fn new(kind: ProviderKind, adapter: A) -> Registered<A> {
        Registered {
            kind,
            adapter,
            locate: None,
        }
    }

    /// The provider notifies the backend's webhook; `locate` verifies and names the order.
    pub fn with_notifications(mut self, locate: Locate<A>) -> Registered<A> {
        self.locate = Some(locate);
        self
    }

    /// The typed state, or `None` (logged) when the stored JSON is not this adapter's.
    fn decode(&self, state: &AdapterState) -> Option<A::State> {
        let decoded = serde_json::from_value(state.0.clone()).ok();
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

/// A typed step as stored JSON.
fn encode<S: Serialize>(step: Step<S>) -> Step<AdapterState> {
    let encode_state = |state: &S| serde_json::to_value(state).map(AdapterState);
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

    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<AdapterState> {
        encode(self.adapter.start(payment, cx))
    }

    fn on_response(
        &self,
        state: &AdapterState,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<AdapterState> {
        match self.decode(state) {
            Some(state) => encode(self.adapter.on_response(state, response, cx)),
            None => Step::Done(unreadable_state()),
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
    ) -> Step<AdapterState> {
        match self.decode(state) {
            Some(state) => encode(self.adapter.on_browser_return(state, ret, cx)),
            None => Step::Done(unreadable_state()),
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
            None => Step::Done(unreadable_state()),
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

    fn notification_order(
        &self,
        notification: &Notification,
    ) -> Result<Option<String>, ReturnRefused> {
        match self.locate {
            Some(locate) => locate(&self.adapter, notification),
            None => Err(ReturnRefused {
                code: "notifications_unsupported",
                message: "this provider sends no notifications",
            }),
        }
    }
}

/// The refusal of a genuine notification whose body cannot be read (a 400, not a 401).
pub const MALFORMED_NOTIFICATION: &str = "malformed_notification";

/// dLocal's webhook: the signature and login are checked, the order comes from the body.
fn locate_dlocal(
    adapter: &DlocalAdapter,
    notification: &Notification,
) -> Result<Option<String>, ReturnRefused> {
    dlocal::verify_notification(adapter.config(), notification)
        .map(|hint| hint.order_id)
        .map_err(|error| match error {
            // Checked after the signature: dLocal sent it, and it is no payment object.
            dlocal::DlocalError::MalformedBody => ReturnRefused {
                code: MALFORMED_NOTIFICATION,
                message: "the notification is signed, but its body is not a dLocal payment object",
            },
            _ => ReturnRefused {
                code: "bad_signature",
                message: "the notification is not signed by dLocal for this merchant",
            },
        })
}

/// The adapters of one backend, by provider.
#[derive(Default)]
pub struct Providers {
    adapters: Vec<Box<dyn ProviderAdapter>>,
}

impl Providers {
    /// Every provider that has a configuration section.
    pub fn from_config(config: &ProvidersConfig) -> Providers {
        let mut providers = Providers::default();
        if let Some(c) = &config.payroc {
            providers = providers.with(Registered::new(
                ProviderKind::Payroc,
                PayrocAdapter::new(c.clone()),
            ));
        }
        if let Some(c) = &config.dlocal {
            providers = providers.with(
                Registered::new(ProviderKind::Dlocal, DlocalAdapter::new(c.clone()))
                    .with_notifications(locate_dlocal),
            );
        }
        if let Some(c) = &config.paysafe {
            providers = providers.with(Registered::new(
                ProviderKind::Paysafe,
                PaysafeAdapter::new(c.clone()),
            ));
        }
        if let Some(c) = &config.bambora {
            providers = providers.with(Registered::new(
                ProviderKind::Bambora,
                BamboraAdapter::new(c.clone()),
            ));
        }
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

//! Provider adapters: one folder per provider speaks its whole wire protocol. Pure: an
//! adapter turns a payment into [`Step`]s (a request to send, a page for the browser, or
//! the end) and reads responses, browser returns and notifications back into steps.
//! Adapters never open sockets, read clocks or draw random numbers; the host passes
//! time and fresh ids in a [`Context`].
//!
//! Every provider folder has the same files: `mod.rs` (the flow, `State`, `impl
//! Adapter`), `config.rs` (its `Config`; credentials are [`Secret`]s), `wire.rs` (the
//! request and answer shapes, signing), `outcome.rs` (answers → [`PaymentResult`]),
//! `returns.rs` (browser returns, notifications, the provider's one error type with a
//! stable `code()`) and `tests.rs`. Bambora adds `contents.rs` (its 302's HTML).
//!
//! Each provider is a Cargo feature of its name (`payroc`, `dlocal`, `paysafe`,
//! `bambora`): `native` builds all four, an edge worker the ones it was built with
//! (`make edge EDGE_PROVIDERS=paysafe`), so a merchant's worker carries only the adapters
//! it uses ([`built`]).

pub mod answer;
#[cfg(feature = "bambora")]
pub mod bambora;
pub mod card_facts;
pub mod civil;
#[cfg(feature = "dlocal")]
pub mod dlocal;
pub mod exemption;
pub mod http;
pub mod lifecycle;
#[cfg(feature = "payroc")]
pub mod payroc;
#[cfg(feature = "paysafe")]
pub mod paysafe;
mod secret;
pub(crate) mod stored;
#[cfg(test)]
pub(crate) mod stored_checks;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use http::{
    answer_text, HttpMethod, HttpRequest, HttpResponse, TransportFailure, MAX_ANSWER_BYTES,
};
pub use secret::Secret;

use crate::emv::ThreeDsCompInd;
use crate::order::Currency;
use crate::payment::{
    BrowserAction, Canceller, Exemption, ExternalAuthentication, Payer, PaymentResult,
    PaymentStart, PaymentStatus, ProviderKind, ResultCode,
};
use lifecycle::{Operation, OperationAnswer, OperationCall, OperationError, OperationStep};

/// Whether this build has `provider`'s adapter (its Cargo feature).
pub fn built(provider: ProviderKind) -> bool {
    match provider {
        ProviderKind::Payroc => cfg!(feature = "payroc"),
        ProviderKind::Dlocal => cfg!(feature = "dlocal"),
        ProviderKind::Paysafe => cfg!(feature = "paysafe"),
        ProviderKind::Bambora => cfg!(feature = "bambora"),
    }
}

/// The providers this build has, in the order of [`ProviderKind`].
pub fn built_providers() -> impl Iterator<Item = ProviderKind> {
    [
        ProviderKind::Payroc,
        ProviderKind::Dlocal,
        ProviderKind::Paysafe,
        ProviderKind::Bambora,
    ]
    .into_iter()
    .filter(|provider| built(*provider))
}

/// What a provider's API can carry at create, checked before anything is stored or sent
/// (a 400 naming the provider): each adapter declares its own ([`Adapter::limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateLimits {
    /// The largest amount it documents (minor units); `None`: none below the backend's own.
    pub max_amount_minor: Option<u64>,
    /// The exemptions it can ask for ([`exemption`]).
    pub exemptions: &'static [Exemption],
    /// Whether it can send a challenge preference other than `no_preference`.
    pub challenge_preference: bool,
    /// The longest order id it takes (characters); `None`: the backend's own 64.
    pub max_order_id_chars: Option<usize>,
    /// Whether its 3-D Secure step may take the browser to a full page of the provider's
    /// own, whatever the display (Payroc's MPI, dLocal's 3-D Secure page): such a payment
    /// needs a `returnUrl` to come back to the checkout, unless the merchant authenticated
    /// the cardholder itself.
    pub full_page_steps: bool,
}

impl CreateLimits {
    /// An adapter that declares nothing: no exemption, no challenge preference, no amount
    /// cap of its own.
    pub const NONE_DECLARED: CreateLimits = CreateLimits {
        max_amount_minor: None,
        exemptions: &[],
        challenge_preference: false,
        max_order_id_chars: None,
        full_page_steps: false,
    };
}

/// A term of the merchant's that the provider's API refuses whatever the card (a currency
/// its account does not settle in, a payer detail it requires): the create refuses it, 400
/// `code`, before the shopper types a card; the adapter's start refuses it as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedTerm {
    /// The create's stable error code (`invalid_currency`, `invalid_payer`).
    pub code: &'static str,
    /// The provider's parameter, as the payment's error names it when start refuses it.
    pub parameter: &'static str,
    pub message: String,
}

impl RefusedTerm {
    /// The payment's end when its start meets the term: rejected before any call.
    pub fn rejected(&self) -> PaymentResult {
        answer::rejected_here(self.parameter, &self.message)
    }
}

/// What an adapter wants next. `S` is the adapter's own state, stored with the session
/// between steps: it holds no PAN, no CVV and no credential.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<S> {
    /// Send `request`, then give the answer to [`Adapter::on_response`] with `state`.
    Call { state: S, request: HttpRequest },
    /// Wait for the browser: it does `action`, then comes back to a return route.
    Browser { state: S, action: BrowserAction },
    /// The provider refused what the browser brought back (a return only it could judge:
    /// Payroc's unsigned receipt, whose reference only the sale checks). The payment
    /// waits on `action` again with `state`, and the browser that brought the return is
    /// told it was refused.
    Refused {
        state: S,
        action: BrowserAction,
        refused: ReturnRefused,
    },
    /// The answer to a money-moving call was lost (every attempt timed out, dropped or
    /// failed with a 5xx, or the process stopped during the call) and repeating it now
    /// is impossible or unsafe: the provider may or may not have charged. The payment
    /// waits (`Phase::Unknown`, status `unknown`) until [`Adapter::reconcile`] looks it
    /// up by the reference that was sent. Never a final error: that would hide a charge.
    Unknown { state: S },
    /// The payment is over.
    Done(PaymentResult),
}

/// What the host lends an adapter for one step.
#[derive(Debug, Clone)]
pub struct Context {
    /// The host's clock: Unix time in milliseconds.
    pub now_ms: u64,
    /// The session this step belongs to (a 32-hex-digit random id).
    pub session_id: String,
    /// The backend's public URL, for return routes: `{public_url}/v1/returns/{session_id}`.
    pub public_url: String,
}

impl Context {
    /// Where issuers and providers send the cardholder's browser back to.
    pub fn return_url(&self) -> String {
        format!(
            "{}/v1/returns/{}",
            self.public_url.trim_end_matches('/'),
            self.session_id
        )
    }

    /// A key for a money-moving call, the same for every retry of the same step of the
    /// same session: UUID-v4-shaped (Payroc asks for a v4), derived, not random.
    pub fn idempotency_key(&self, step: &str) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!("{}:{step}", self.session_id).as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

/// Fields the browser brought to a return route (query or form), untrusted until the
/// adapter has parsed and verified them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BrowserReturn {
    pub fields: Vec<(String, String)>,
}

impl BrowserReturn {
    /// The value of `name`, if it appears exactly once (a repeated field is refused as
    /// ambiguous, so a forged duplicate cannot shadow the real one).
    pub fn single(&self, name: &str) -> Option<&str> {
        let mut values = self
            .fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }
}

/// What a return to the provider's own route (`/v1/returns/{provider}`) names: the order,
/// and the provider's reference for this return (Payroc's `mpiReference`). Anyone can
/// name an order, so a return for a payment no longer waiting is answered only when it
/// repeats the reference of the return that moved it ([`crate::session::Session::return_reference`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnKey {
    pub order_id: String,
    pub reference: String,
}

/// A server-to-server message a provider sent to the backend's webhook (dLocal's
/// notifications), untrusted until the adapter has verified it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notification {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Notification {
    /// The value of header `name` (case-insensitive), if it appears exactly once.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }
}

/// How many returns whose issuer's answer the provider refused end a payment waiting on a
/// challenge (Bambora's `continue` refusing it as invalid input, Paysafe's `finalize`
/// refusing its payload): each before the last sends the payment back to waiting for the
/// issuer's genuine answer, the last ends it (failed, nothing charged). Each costs a call,
/// so the wait cannot go on forever. The cardholder's own browser brings one answer, so
/// any refusal is a forgery, an altered answer or a fault.
pub const MAX_REFUSED_RETURNS: u32 = 5;

/// The refusal code of a notification that is genuine (its signature holds) but whose
/// body cannot be read: the host answers it 400, not 401.
pub const MALFORMED_NOTIFICATION: &str = "malformed_notification";

/// Why an adapter refused a browser return: the host shows an error page (HTML on the
/// return routes) and changes nothing. `code` is stable (`bad_signature`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRefused {
    pub code: &'static str,
    pub message: &'static str,
}

/// A notification to a provider that sends none (every adapter's default; the host's
/// answer in a build without dLocal, the one adapter that reads them).
pub const NOTIFICATIONS_UNSUPPORTED: ReturnRefused = ReturnRefused {
    code: "notifications_unsupported",
    message: "this provider sends no notifications",
};

/// The small interface every provider adapter implements. An adapter value holds its
/// configuration (base URLs, credentials) and caches that are safe to lose (Payroc's
/// bearer token); it is shared by all sessions of a host.
pub trait Adapter {
    /// The adapter's state between steps (serialized into the session store).
    type State: Serialize + DeserializeOwned + Clone + std::fmt::Debug;

    /// What this provider's API can carry at create (amount cap, exemptions, challenge
    /// preference). Default: [`CreateLimits::NONE_DECLARED`].
    fn limits(&self) -> CreateLimits {
        CreateLimits::NONE_DECLARED
    }

    /// What this provider's API refuses in the merchant's terms alone, whatever the card
    /// ([`RefusedTerm`]): the create asks before it stores anything. `None` (the default):
    /// nothing.
    fn refuses_terms(
        &self,
        currency: &Currency,
        payer: &Payer,
        external: Option<&ExternalAuthentication>,
    ) -> Option<RefusedTerm> {
        let _ = (currency, payer, external);
        None
    }

    /// Begins the payment. Card details are only ever seen here: nothing of them may go
    /// into `State` but what `CardSummary` keeps, and no adapter keeps them in memory
    /// past this call; they may travel only in the body of the request this returns.
    fn start(&self, payment: &PaymentStart, cx: &Context) -> Step<Self::State>;

    /// A call the host makes inside the start request, just before [`Adapter::start`],
    /// for a credential the adapter caches and start's first request needs (Payroc's
    /// Bearer token for its tokenization): so that the card can go out in that first
    /// request and nothing of it has to wait for another call. `None` (the default):
    /// start needs nothing. Its answer goes to [`Adapter::on_prepared`].
    fn prepare_start(&self, cx: &Context) -> Option<HttpRequest> {
        let _ = cx;
        None
    }

    /// The answer to [`Adapter::prepare_start`]'s call (after the host's retries when it
    /// is `retry_safe`). `Some(result)`: the payment ends with it and `start` is not
    /// called (nothing was sent with the card).
    fn on_prepared(
        &self,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Option<PaymentResult> {
        let _ = (response, cx);
        None
    }

    /// The card facts (brand, BIN, last four) in a provider's successful answer, for a
    /// payment the page made with the provider's token ([`card_facts`]). Default: none.
    fn card_of(&self, response: &HttpResponse) -> Option<crate::payment::CardSummary> {
        let _ = response;
        None
    }

    /// The provider's answer (or why there was none) to the last `Step::Call`.
    fn on_response(
        &self,
        state: Self::State,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Step<Self::State>;

    /// Finds out what became of a money-moving call whose answer was lost
    /// ([`Step::Unknown`] with `state`): a lookup by the merchant reference that was sent
    /// (a `Step::Call` whose answer [`Adapter::on_response`] turns into the provider's
    /// truth: authorized with its payment id, declined, or not found), or a resend where
    /// the provider deduplicates it. The lookup's own answer lost: `Step::Unknown` again,
    /// and the host tries later, with backoff.
    fn reconcile(&self, state: Self::State, cx: &Context) -> Step<Self::State>;

    /// The session expired while it waited on the browser in `state`. Default: the
    /// payment ends `error` / `session_expired` (nothing can have been charged: the next
    /// money call was ours to make). A provider that may still charge without another
    /// call from the backend (dLocal, after its own 3DS page) answers
    /// [`Step::Unknown`], so the payment is looked up instead of forgotten.
    fn on_expiry(&self, state: Self::State, cx: &Context) -> Step<Self::State> {
        let _ = (state, cx);
        Step::Done(PaymentResult::failed(
            PaymentStatus::Error,
            ResultCode::SessionExpired,
        ))
    }

    /// `by` cancelled the payment while it waited on the browser in `state`
    /// (`POST /v1/payments/{id}/cancel`). Default: it ends `cancelled` at once (nothing
    /// can have been charged: the next money call was ours to make). A provider that may
    /// still charge without another call from the backend (dLocal, on its own 3DS page)
    /// cancels at the provider first (a `Step::Call`), and ends `cancelled` only when
    /// the provider says nothing was charged; its truth otherwise.
    fn on_cancel(&self, state: Self::State, by: Canceller, cx: &Context) -> Step<Self::State> {
        let _ = (state, cx);
        Step::Done(by.result())
    }

    /// The browser came back from the provider's or issuer's page. `Err`: the return is
    /// forged, tampered, replayed or not this step's; the host changes nothing and shows
    /// an error page.
    fn on_browser_return(
        &self,
        state: Self::State,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<Step<Self::State>, ReturnRefused>;

    /// The checks of [`Adapter::on_browser_return`] alone, without acting: the host asks
    /// before it touches the session, and a refused return changes nothing.
    fn verify_browser_return(
        &self,
        state: &Self::State,
        ret: &BrowserReturn,
        cx: &Context,
    ) -> Result<(), ReturnRefused>;

    /// The page ran the 3DS Method (or gave up after 10 s).
    fn on_method_completed(
        &self,
        state: Self::State,
        completion: ThreeDsCompInd,
        cx: &Context,
    ) -> Step<Self::State>;

    /// A browser return to the provider's own return route (`/v1/returns/{provider}`: a
    /// URL registered once for every payment, like Payroc's MPI receipt URL): the order
    /// id it names, so the host can find the session, and the provider's reference for
    /// it. Only a hint: the return is then verified against that session like any other.
    /// Providers that send the browser back to the session's own route keep this default
    /// (`None`: not found).
    fn order_of_return(&self, ret: &BrowserReturn) -> Option<ReturnKey> {
        let _ = ret;
        None
    }

    /// A notification to the provider's webhook (`/v1/webhooks/{provider}`), verified
    /// (signature, credentials, freshness against `now_ms`), and the order id it is
    /// about (`Ok(None)`: genuine, but about no order). `Err`: forged, stale, or this
    /// provider sends none (the default).
    fn order_of_notification(
        &self,
        notification: &Notification,
        now_ms: u64,
    ) -> Result<Option<String>, ReturnRefused> {
        let _ = (notification, now_ms);
        Err(NOTIFICATIONS_UNSUPPORTED)
    }

    /// The provider notified the backend about this session's payment. `None`: nothing
    /// to do (not verified, not this session's, or no news). Providers without
    /// notifications keep this default.
    fn on_notification(
        &self,
        state: Self::State,
        notification: &Notification,
        cx: &Context,
    ) -> Option<Step<Self::State>> {
        let _ = (state, notification, cx);
        None
    }

    /// The provider's request for a capture, void or refund ([`lifecycle`]): the first
    /// `OperationStep::Call` (with `OperationCall::Send`), or why this provider cannot do
    /// it (`OperationErrorCode::Unsupported`: the API answers 400 before any call). The
    /// request carries `op.reference` where the provider deduplicates on one.
    /// Default: no operations.
    fn operation(&self, op: &Operation, cx: &Context) -> Result<OperationStep, OperationError> {
        let _ = (op, cx);
        Err(lifecycle::unsupported(
            "this provider",
            "capture, void or refund here",
        ))
    }

    /// The answer (or why there was none, after the host's retries of a `retry_safe`
    /// request) to an operation's `call`. A lost answer to a call that may have moved
    /// money is `OperationStep::Unknown`, never a refusal.
    fn on_operation_response(
        &self,
        op: &Operation,
        call: OperationCall,
        response: OperationAnswer,
        cx: &Context,
    ) -> OperationStep {
        let _ = (op, call, response, cx);
        OperationStep::Unknown
    }

    /// Finds out what became of an operation whose answer was lost: a lookup by
    /// `op.reference` (`OperationCall::Lookup`), or the same request again
    /// (`OperationCall::Send`) where the provider deduplicates on the reference.
    fn operation_lookup(&self, op: &Operation, cx: &Context) -> OperationStep {
        let _ = (op, cx);
        OperationStep::Unknown
    }
}

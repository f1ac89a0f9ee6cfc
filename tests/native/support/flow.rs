//! Runs a provider adapter end to end against the sandbox over real HTTP, with the test
//! acting as both the host (it sends the adapter's requests) and the cardholder's browser
//! (it follows pages and forms, and types the one-time code). When the browser would
//! land on the backend (any URL under `Context::public_url`), the fields it carries are
//! handed to the adapter instead, as the backend's return route would.

use threeds_bridge::backend::config::CallPolicy;
use threeds_bridge::backend::native::ReqwestTransport;
use threeds_bridge::emv::{
    BrowserDetails, BrowserReadings, ChallengeWindowSize, Pan, ServerReadings, ThreeDsCompInd,
};
use threeds_bridge::order::{Currency, OrderId};
use threeds_bridge::payment::{
    BrowserAction, CardDetails, ChallengePreference, Cvv, DisplayMode, Payer, PaymentMethod,
    PaymentResult, PaymentStart,
};
use threeds_bridge::provider::{
    Adapter, BrowserReturn, Context, HttpRequest, HttpResponse, Step, TransportFailure,
};

pub use super::cardholder::Cardholder;
use super::cardholder::{method_notification, until_backend};
use super::PageForm;

/// The backend's public URL in flow tests: never contacted, only recognised.
pub const BACKEND: &str = "http://backend.invalid";

/// What happened on the way to the result.
#[derive(Debug, Default)]
pub struct Trace {
    /// The adapter's requests, by purpose, in order.
    pub calls: Vec<&'static str>,
    /// The browser actions the adapter asked for, by kind (`method`, `challenge`, `redirect`).
    pub browser: Vec<&'static str>,
    /// Whether a 3DS Method ran and posted back.
    pub method: Option<ThreeDsCompInd>,
}

/// The card's CVV in [`payment`] (a stored state must never hold it).
pub const CVV: &str = "123";

/// A desktop browser's details, as the backend builds them from the page's readings and
/// the request's headers, for a cardholder who reads `language` and whose clock is
/// `timezone_offset` minutes behind UTC (the page's `getTimezoneOffset()`).
pub fn browser_details(language: &str, timezone_offset: i64) -> BrowserDetails {
    let page = BrowserReadings {
        screen_width: Some(1920),
        screen_height: Some(1080),
        color_depth: Some(24),
        timezone_offset: Some(timezone_offset),
        language: Some(language.to_owned()),
        languages: vec![language.to_owned()],
        java_enabled: Some(false),
        javascript_enabled: true,
        user_agent: None,
    };
    let server = ServerReadings {
        accept_header: Some("text/html,application/xhtml+xml".to_owned()),
        accept_language: Some(format!("{language},en;q=0.8")),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Test".to_owned()),
        ip: Some("203.0.113.7".to_owned()),
    };
    BrowserDetails::build(&page, &server).expect("browser details")
}

/// A card payment of `pan` (12/2040, [`CVV`]) for 10.99 USD, from a desktop browser in
/// London, shown in an iframe: an adapter test changes what its provider needs.
pub fn payment(pan: &str) -> PaymentStart {
    PaymentStart {
        order_id: OrderId::parse(&format!("order-{pan}")).expect("an order id"),
        amount: 1099,
        currency: Currency::parse("USD").expect("a currency"),
        description: None,
        method: PaymentMethod::Card(CardDetails {
            number: Pan::parse(pan).expect("pan"),
            expiry_month: 12,
            expiry_year: 2040,
            cvv: Cvv::parse(CVV).expect("cvv"),
            holder_name: "Jane Doe".to_owned(),
        }),
        payer: Payer::default(),
        browser: browser_details("en-GB", -60),
        challenge: ChallengePreference::NoPreference,
        display: DisplayMode::Iframe,
        window_size: ChallengeWindowSize::W500xH600,
        external_authentication: None,
        capture_mode: threeds_bridge::payment::CaptureMode::Automatic,
        exemption: None,
    }
}

pub fn context(session_id: &str) -> Context {
    Context {
        now_ms: now_ms(),
        session_id: session_id.to_owned(),
        public_url: BACKEND.to_owned(),
    }
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// Sends a request as the native host does: its own transport (no redirect followed,
/// the answer read up to its limit), a 10 s timeout.
pub async fn send(request: &HttpRequest) -> Result<HttpResponse, TransportFailure> {
    use threeds_bridge::backend::host::Transport;
    let policy = CallPolicy {
        timeout_ms: 10_000,
        ..CallPolicy::default()
    };
    let transport = ReqwestTransport::new(&policy).expect("the native host's client");
    transport.send(request).await
}

/// The adapter's first step as the backend takes it: its preparing call first when it
/// asks for one (`Adapter::prepare_start`), then `start`.
pub async fn begin<A: Adapter>(
    adapter: &A,
    start: &PaymentStart,
    cx: &Context,
    trace: &mut Trace,
) -> Step<A::State> {
    if let Some(request) = adapter.prepare_start(cx) {
        trace.calls.push(request.purpose);
        if let Some(result) = adapter.on_prepared(send(&request).await, cx) {
            return Step::Done(result);
        }
    }
    adapter.start(start, cx)
}

/// Drives `adapter` from `start` to its result.
pub async fn run<A: Adapter>(
    adapter: &A,
    start: &PaymentStart,
    session_id: &str,
    cardholder: Cardholder,
) -> (PaymentResult, Trace) {
    let mut trace = Trace::default();
    let mut step = begin(adapter, start, &context(session_id), &mut trace).await;
    for _ in 0..20 {
        let cx = context(session_id);
        step = match step {
            Step::Done(result) => return (result, trace),
            // A money call's answer was lost: look it up, as the host's reconciler would.
            Step::Unknown { state } => {
                trace.calls.push("reconcile");
                adapter.reconcile(state, &cx)
            }
            Step::Call { state, request } => {
                trace.calls.push(request.purpose);
                // The stored state must survive a round trip through JSON, as it will in a store.
                let state: A::State =
                    serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
                adapter.on_response(state, send(&request).await, &cx)
            }
            Step::Browser { state, action } => match action {
                BrowserAction::Method { form, .. } => {
                    trace.browser.push("method");
                    let completion = run_method(&PageForm::from(&form)).await;
                    trace.method = Some(completion);
                    adapter.on_method_completed(state, completion, &cx)
                }
                BrowserAction::Challenge { form, .. } | BrowserAction::Redirect { form } => {
                    trace.browser.push(if form.action.contains("/acs/") {
                        "challenge"
                    } else {
                        "redirect"
                    });
                    let back = follow(PageForm::from(&form), cardholder).await;
                    match adapter.on_browser_return(state, &back, &cx) {
                        Ok(step) => step,
                        Err(refused) => panic!("the genuine return was refused: {refused:?}"),
                    }
                }
            },
            Step::Refused { refused, .. } => {
                panic!("the provider refused the genuine return: {refused:?}")
            }
        };
    }
    panic!("the adapter did not finish within 20 steps");
}

/// Posts the Method form in a hidden iframe: Y if the ACS posts back to the backend.
async fn run_method(form: &PageForm) -> ThreeDsCompInd {
    match method_notification(form).await {
        Some(back) if back.action.starts_with(BACKEND) => ThreeDsCompInd::Y,
        _ => ThreeDsCompInd::N,
    }
}

/// The cardholder's browser from `first` back to the backend: the fields the backend's
/// return route would read (the query, then a form's fields).
pub async fn follow(first: PageForm, cardholder: Cardholder) -> BrowserReturn {
    let back = until_backend(BACKEND, first, cardholder).await;
    let query = back
        .action
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let mut fields: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    fields.extend(back.fields);
    BrowserReturn { fields }
}

impl From<&threeds_bridge::emv::FormPost> for PageForm {
    fn from(form: &threeds_bridge::emv::FormPost) -> PageForm {
        PageForm {
            id: None,
            action: form.action.clone(),
            method: match form.method {
                threeds_bridge::emv::FormMethod::Get => "get".into(),
                threeds_bridge::emv::FormMethod::Post => "post".into(),
            },
            fields: form
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.value.clone()))
                .collect(),
        }
    }
}

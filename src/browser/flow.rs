//! One payment from confirm to a backend-confirmed result: confirm the payment the
//! merchant's server created (its client secret names it), follow the backend's next
//! steps (Method, challenge, redirect) until it is final, then read it once more.
//!
//! The result the page receives is always the backend's. A payment the page gives up on
//! (`cancel()`, the AbortSignal, the close button) is cancelled at the backend, which
//! answers `cancelled` or the result it already had. The one exception is a payment the
//! backend cannot cancel (a provider call in doubt) or that it never had (given up before
//! the confirm's answer): that ends as a local `cancelled` result.

use wasm_bindgen::JsValue;
use web_sys::{AbortSignal, Element};

use super::challenge::{self, Placement, WindowPreference};
use super::client::Backend;
use super::dom::{self, Listener, Outcome, Race};
use super::events::{Events, Progress};
use super::messages::Expected;
use super::method::{self, MethodEnd};
use super::redirect::{self, Pending};
use super::view::{ClientSecret, Session, Stage};
use super::{details, BridgeError};
use crate::emv::{ChallengeWindowSize, ThreeDsCompInd};
use crate::payment::{BrowserAction, DisplayMode, PaymentStatus};

/// More browser steps than any provider takes (Method, challenge, a 3DS1 fallback …).
const MAX_STEPS: usize = 8;

/// What the merchant configured, parsed.
pub struct Settings {
    pub backend: Backend,
    pub display: DisplayMode,
    pub window: WindowPreference,
    pub container: Option<Element>,
    pub method_timeout_ms: u32,
    pub challenge_timeout_ms: Option<u32>,
    pub events: Events,
}

/// What the page asked for.
pub enum Start {
    /// `pay({clientSecret, paymentMethod})`.
    Pay(JsValue),
    /// `resume()`.
    Resume,
}

/// How the steps ended, before the confirming read.
enum End {
    /// The backend called the payment final.
    Final(Session),
    /// The page gave up (`cancel()`, the AbortSignal, the close button), perhaps before
    /// the confirm's answer (the payment then is the one the client secret names).
    Cancelled(Session),
    /// The challenge outlived `challengeTimeoutMs`: given up as a cancel is, but the page
    /// hears `timeout` unless the payment had ended otherwise.
    TimedOut(Session),
}

/// The backend call that comes next: its path under `/v1/payments/{id}` and its body
/// (undefined for the `GET` of the payment's view).
struct Ask {
    path: &'static str,
    body: JsValue,
}

impl Ask {
    fn read() -> Ask {
        Ask {
            path: "",
            body: JsValue::UNDEFINED,
        }
    }
}

/// `pay()` or `resume()`, from start to the page's result: one loop of backend calls and
/// browser steps, then the confirming read. One body for both, with one await of the
/// backend in the loop and one in the confirming read (each await point and each nested
/// future costs the module's async state machine a state and its drop code).
pub async fn run(
    settings: &Settings,
    start: Start,
    abort: &AbortSignal,
) -> Result<JsValue, BridgeError> {
    // `pay()` confirms a new payment; `resume()` reads the one kept in `sessionStorage`
    // for this backend (none: nothing to finish).
    let (secret, mut ask, mut session) = match start {
        Start::Pay(request) => {
            let (secret, body) = confirm_request(settings, &request)?;
            let ask = Ask {
                path: "/confirm",
                body,
            };
            (secret, ask, None)
        }
        Start::Resume => {
            let backend = settings.backend.base();
            let Some(pending) = redirect::load().filter(|p| p.backend == backend) else {
                return Ok(JsValue::NULL);
            };
            (pending.secret, Ask::read(), Some(pending.session))
        }
    };
    // The backend's calls and the browser steps they ask for (Method, challenge,
    // redirect), until the payment is final or the page gives up. `session` is the
    // stored one when resuming, else the confirmed payment's once the backend answers.
    let end = 'steps: {
        let events = &settings.events;
        let mut resuming = session.is_some();
        // The first call, then one per browser step.
        for _ in 0..=MAX_STEPS {
            events.emit(Progress::Authorizing);
            let view = match settings
                .backend
                .send(&secret, ask.path, &ask.body, Some(abort))
                .await
            {
                Ok(view) => view,
                Err(error) if error.code() == BridgeError::ABORTED => {
                    // Given up during the confirm, the backend may have taken it (and
                    // authorized a frictionless payment): the secret names the payment,
                    // and the cancel below asks the backend, whose answer wins.
                    break 'steps End::Cancelled(
                        session.unwrap_or_else(|| secret.session(String::new())),
                    );
                }
                Err(error) => {
                    // The stored payment is gone from the backend: nothing left to resume.
                    if resuming && error.code() == "not_found" {
                        redirect::clear();
                    }
                    return Err(error);
                }
            };
            let resumed = std::mem::replace(&mut resuming, false);
            match &session {
                Some(known) if view.session != *known => {
                    return Err(BridgeError::bad_response(
                        "the backend answered for another session",
                    ))
                }
                Some(_) => {}
                // The confirmed payment is kept until it is final: a redirect or a reload
                // does not lose it.
                None => {
                    redirect::save(&Pending {
                        session: view.session.clone(),
                        secret: secret.clone(),
                        backend: settings.backend.base().to_owned(),
                    });
                    session = Some(view.session.clone());
                }
            }
            let session = view.session;
            let expected = Expected {
                origin: settings.backend.origin().to_owned(),
                session: session.clone(),
            };
            ask = match view.stage {
                Stage::Final(_) => break 'steps End::Final(session),
                Stage::Pending(BrowserAction::Method { form, timeout_ms }) => {
                    events.emit(Progress::MethodStarted);
                    let deadline = timeout_ms.min(settings.method_timeout_ms);
                    match method::run(&form, deadline, expected, abort).await {
                        MethodEnd::Done(completion) => {
                            events.emit(Progress::MethodCompleted(completion));
                            Ask {
                                path: "/method",
                                body: method_report(&secret, completion),
                            }
                        }
                        MethodEnd::Cancelled => break 'steps End::Cancelled(session),
                    }
                }
                Stage::Pending(BrowserAction::Challenge { form, window_size })
                    if settings.display == DisplayMode::Iframe =>
                {
                    let placement = Placement {
                        container: settings.container.as_ref(),
                        size: window_size,
                        timeout_ms: settings.challenge_timeout_ms,
                        ui: settings.events.ui(),
                    };
                    let shown = || events.emit(Progress::ChallengeShown(window_size));
                    match challenge::run(&form, placement, expected, abort, shown).await? {
                        Outcome::Completed => {
                            events.emit(Progress::ChallengeCompleted);
                            Ask::read()
                        }
                        Outcome::Cancelled => break 'steps End::Cancelled(session),
                        Outcome::TimedOut => break 'steps End::TimedOut(session),
                    }
                }
                Stage::Pending(
                    BrowserAction::Challenge { form, .. } | BrowserAction::Redirect { form },
                ) => {
                    // `resume()`'s first read, on a page that the browser's Back (or
                    // Forward) loaded: the shopper left the provider's page rather than
                    // finishing there, and sending them there again would trap them
                    // between the two pages. The payment is given up instead.
                    let window = dom::window()?;
                    if resumed && dom::came_back(&window) {
                        break 'steps End::Cancelled(session);
                    }
                    // Leaves the page for a full-page step; `resume()` finishes after the
                    // return. The promise stays pending while the page unloads, and settles
                    // as cancelled if aborted first, or if Back brings this page back from
                    // the browser's back/forward cache (a `persisted` `pageshow`; one that is
                    // not may be this page's first, if it leaves before it has loaded).
                    events.emit(Progress::Redirecting);
                    redirect::navigate(&form)?;
                    let race = Race::new();
                    let _abort = race.cancel_on(abort);
                    let back = dom::on_restore(&race.settler(Outcome::Cancelled));
                    let _back = Listener::function(&window, "pageshow", back);
                    race.outcome().await;
                    break 'steps End::Cancelled(session);
                }
            };
        }
        return Err(BridgeError::bad_response(
            "the backend asked for too many browser steps",
        ));
    };
    let session = match &end {
        End::Final(session) => session,
        End::Cancelled(session) | End::TimedOut(session) => {
            redirect::clear();
            session
        }
    };
    // The confirming read: the page's result is what `GET /v1/payments/{id}` says, with
    // the payment's id, amount, currency and order id (the merchant's server set them).
    // Not aborted: the result is always the backend's when it has one, so a cancel or a
    // timeout that came just after the ACS answered still ends with the backend's result.
    // A cancel, or the challenge's deadline, asks the backend to cancel instead (`POST …/cancel`, the secret in its
    // header): it answers the cancelled payment, or (a 409, whose `payment` dom.js
    // reads) the result the payment had already reached.
    let read = match end {
        End::Cancelled(_) | End::TimedOut(_) => Ask {
            path: "/cancel",
            body: "{}".into(),
        },
        _ => Ask::read(),
    };
    let view = settings
        .backend
        .send(&secret, read.path, &read.body, None)
        .await;
    let result = view.and_then(|view| match view.stage {
        // The id only: a payment given up during its confirm has no nonce here yet.
        Stage::Final(result) if view.session.id == session.id => Ok((result, view.body)),
        _ => Err(BridgeError::bad_response(
            "the backend's final read is not final",
        )),
    });
    let timed_out = || {
        BridgeError::new(
            BridgeError::TIMEOUT,
            "the challenge was not finished in time",
        )
    };
    match (&end, result) {
        // The deadline's own cancel: the payment is ended, and the page hears why.
        (End::TimedOut(_), Ok((result, _))) if result.status == PaymentStatus::Cancelled => {
            Err(timed_out())
        }
        (_, Ok((result, body))) => {
            redirect::clear();
            dom::describe_payment(&result.value, &body);
            settings.events.emit(Progress::Done(result.status));
            Ok(result.value.into())
        }
        (End::Final(_), Err(error)) => Err(error),
        // A cancel (or the deadline's) the backend could not make: a provider call under
        // way or in doubt may still charge. Not "cancelled" nor "timeout": the page says
        // "processing", and does not pay again.
        (End::Cancelled(_) | End::TimedOut(_), Err(error))
            if error.code() == BridgeError::PENDING =>
        {
            Err(error)
        }
        (End::TimedOut(_), _) => Err(timed_out()),
        _ => Ok(cancelled(settings, session)),
    }
}

/// `POST /v1/payments/{id}/method`'s body: how the 3DS Method went.
fn method_report(secret: &ClientSecret, completion: ThreeDsCompInd) -> JsValue {
    // Both values are checked ASCII (hex, `_`, one letter): nothing to escape.
    [
        "{\"clientSecret\":\"",
        secret.as_str(),
        "\",\"completion\":\"",
        completion.as_str(),
        "\"}",
    ]
    .concat()
    .into()
}

/// The confirm the backend gets: the page's members (`clientSecret`, `paymentMethod`;
/// anything else is the backend's to refuse), plus what the module owns.
fn confirm_request(
    settings: &Settings,
    request: &JsValue,
) -> Result<(ClientSecret, JsValue), BridgeError> {
    // Not an object, or no well-formed secret: nothing to confirm.
    let secret = dom::text(request, "clientSecret")
        .and_then(|text| ClientSecret::parse(&text))
        .ok_or(BridgeError::invalid_options(
            "clientSecret is missing or malformed",
        ))?;
    let browser = details::collect(&details::read_page(&dom::window()?))?;
    settings.events.emit(Progress::BrowserDetails);
    let size = match settings.display {
        DisplayMode::Redirect => ChallengeWindowSize::FullScreen,
        DisplayMode::Iframe => settings.window.choose(
            settings.container.as_ref().map(challenge::inner_size),
            challenge::viewport(),
        ),
    };
    // `returnUrl` (the page's address) is taken only if the merchant's server set none
    // when it created the payment.
    let body = dom::confirm_body(
        request,
        &details::to_js(&browser),
        display_name(settings.display),
        size.as_str(),
    );
    Ok((secret, body))
}

fn display_name(display: DisplayMode) -> &'static str {
    match display {
        DisplayMode::Iframe => "iframe",
        DisplayMode::Redirect => "redirect",
    }
}

/// The page gave up and the backend has no final result it could give (the payment was
/// never confirmed, or a provider call is in doubt and only its lookup can end it): the
/// payment ends here as `cancelled`, and the backend's session goes on to its own end.
fn cancelled(settings: &Settings, session: &Session) -> JsValue {
    let result = dom::cancelled_result(session.id.as_str());
    settings
        .events
        .emit(Progress::Done(PaymentStatus::Cancelled));
    result
}

//! One payment from confirm to a backend-confirmed result: confirm the payment the
//! merchant's server created (its client secret names it), follow the backend's next
//! steps (Method, challenge, redirect) until it is final, then read it once more.
//!
//! The result the page receives is always the backend's. The one exception is a payment
//! the page itself gave up on (`cancel()`, the AbortSignal, the close button) while the
//! backend still calls it pending: that ends as a local `cancelled` result.

use wasm_bindgen::JsValue;
use web_sys::{AbortController, AbortSignal, Element};

use super::challenge::{self, Placement, WindowPreference};
use super::client::Backend;
use super::dom::{self, Outcome, Race};
use super::events::{Events, Progress};
use super::messages::Expected;
use super::method::{self, MethodEnd};
use super::redirect::{self, Pending};
use super::view::{ClientSecret, PaymentView, Session, Stage};
use super::{details, BridgeError};
use crate::emv::ChallengeWindowSize;
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
    /// the backend had a session.
    Cancelled(Option<Session>),
    /// The challenge outlived `challengeTimeoutMs`.
    TimedOut(Session),
}

/// `pay()` or `resume()`, from start to the page's result. One body for both, so that
/// the confirming read and the cancelled ending are compiled once.
pub async fn run(
    settings: &Settings,
    start: Start,
    abort: &AbortSignal,
) -> Result<JsValue, BridgeError> {
    let (secret, end) = match start {
        Start::Pay(request) => pay(settings, &request, abort).await?,
        Start::Resume => match resume(settings, abort).await? {
            Some(found) => found,
            None => return Ok(JsValue::NULL),
        },
    };
    let session = match &end {
        End::Final(session) | End::TimedOut(session) => Some(session.clone()),
        End::Cancelled(session) => {
            redirect::clear();
            session.clone()
        }
    };
    // The result is always the backend's when it has one: a cancel or a timeout that
    // came just after the ACS answered still ends with the backend's result.
    let read = match &session {
        Some(session) => Some(finish(settings, &secret, session).await),
        None => None,
    };
    match (end, read) {
        (_, Some(Ok(result))) => Ok(result),
        (End::Final(_), Some(Err(error))) => Err(error),
        (End::TimedOut(_), _) => Err(BridgeError::new(
            BridgeError::TIMEOUT,
            "the challenge was not finished in time",
        )),
        _ => Ok(cancelled(settings, session.as_ref())),
    }
}

/// `pay(request)`: confirm the payment and follow it.
async fn pay(
    settings: &Settings,
    request: &JsValue,
    abort: &AbortSignal,
) -> Result<(ClientSecret, End), BridgeError> {
    let (secret, body) = confirm_request(settings, request)?;
    settings.events.emit(Progress::Authorizing);
    let view = match settings.backend.confirm(&secret, &body, abort).await {
        Err(error) if error.code() == BridgeError::ABORTED => {
            return Ok((secret, End::Cancelled(None)))
        }
        other => other?,
    };
    redirect::save(&Pending {
        session: view.session.clone(),
        secret: secret.clone(),
        backend: settings.backend.base().to_owned(),
    });
    let end = follow(settings, &secret, view, abort).await?;
    Ok((secret, end))
}

/// `resume()`: follows the payment kept in `sessionStorage`; `None` when there is none
/// for this backend.
async fn resume(
    settings: &Settings,
    abort: &AbortSignal,
) -> Result<Option<(ClientSecret, End)>, BridgeError> {
    let Some(pending) = redirect::load().filter(|p| p.backend == settings.backend.base()) else {
        return Ok(None);
    };
    settings.events.emit(Progress::Authorizing);
    let secret = pending.secret;
    let view = match settings.backend.read(&secret, abort).await {
        Ok(view) if view.session == pending.session => view,
        Ok(_) => {
            return Err(BridgeError::bad_response(
                "the backend answered for another session",
            ))
        }
        Err(error) if error.code() == BridgeError::ABORTED => {
            return Ok(Some((secret, End::Cancelled(Some(pending.session)))))
        }
        Err(error) => {
            if error.code() == "not_found" {
                redirect::clear();
            }
            return Err(error);
        }
    };
    let end = follow(settings, &secret, view, abort).await?;
    Ok(Some((secret, end)))
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

/// Follows the backend's next steps until the payment is final.
async fn follow(
    settings: &Settings,
    secret: &ClientSecret,
    mut view: PaymentView,
    abort: &AbortSignal,
) -> Result<End, BridgeError> {
    let events = &settings.events;
    for _ in 0..MAX_STEPS {
        let session = view.session.clone();
        let expected = Expected {
            origin: settings.backend.origin().to_owned(),
            session: session.clone(),
        };
        let next = match view.stage {
            Stage::Final(_) => return Ok(End::Final(session)),
            Stage::Pending(BrowserAction::Method { form, timeout_ms }) => {
                events.emit(Progress::MethodStarted);
                let deadline = timeout_ms.min(settings.method_timeout_ms);
                match method::run(&form, deadline, expected, abort).await {
                    MethodEnd::Done(completion) => {
                        events.emit(Progress::MethodCompleted(completion));
                        events.emit(Progress::Authorizing);
                        settings
                            .backend
                            .report_method(secret, completion, abort)
                            .await
                    }
                    MethodEnd::Cancelled => return Ok(End::Cancelled(Some(session))),
                }
            }
            Stage::Pending(BrowserAction::Challenge { form, window_size })
                if settings.display == DisplayMode::Iframe =>
            {
                let placement = Placement {
                    container: settings.container.as_ref(),
                    size: window_size,
                    timeout_ms: settings.challenge_timeout_ms,
                };
                let shown = || events.emit(Progress::ChallengeShown(window_size));
                match challenge::run(&form, placement, expected, abort, shown).await? {
                    Outcome::Completed => {
                        events.emit(Progress::ChallengeCompleted);
                        events.emit(Progress::Authorizing);
                        settings.backend.read(secret, abort).await
                    }
                    Outcome::Cancelled => return Ok(End::Cancelled(Some(session))),
                    Outcome::TimedOut => return Ok(End::TimedOut(session)),
                }
            }
            Stage::Pending(
                BrowserAction::Challenge { form, .. } | BrowserAction::Redirect { form },
            ) => {
                leave(settings, &form, abort).await?;
                return Ok(End::Cancelled(Some(session)));
            }
        };
        view = match next {
            Err(error) if error.code() == BridgeError::ABORTED => {
                return Ok(End::Cancelled(Some(session)))
            }
            Ok(next) if next.session != session => {
                return Err(BridgeError::bad_response(
                    "the backend answered for another session",
                ))
            }
            other => other?,
        };
    }
    Err(BridgeError::bad_response(
        "the backend asked for too many browser steps",
    ))
}

/// The confirming read: the page's result is what `GET /v1/payments/{id}` says, with
/// the payment's id, amount, currency and order id (the merchant's server set them).
async fn finish(
    settings: &Settings,
    secret: &ClientSecret,
    session: &Session,
) -> Result<JsValue, BridgeError> {
    let never = AbortController::new()
        .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "no AbortController"))?;
    let view = settings.backend.read(secret, &dom::signal(&never)).await?;
    match view.stage {
        Stage::Final(result) if view.session == *session => {
            redirect::clear();
            dom::describe_payment(&result.value, &view.body);
            settings.events.emit(Progress::Done(result.status));
            Ok(result.value.into())
        }
        _ => Err(BridgeError::bad_response(
            "the backend's final read is not final",
        )),
    }
}

/// The page gave up and the backend has no final result (the ACS did not answer before
/// the close button): the payment ends here as `cancelled`, and the backend's session
/// runs out on its own.
fn cancelled(settings: &Settings, session: Option<&Session>) -> JsValue {
    let result = dom::cancelled_result(session.map(|s| s.id.as_str()));
    settings
        .events
        .emit(Progress::Done(PaymentStatus::Cancelled));
    result
}

/// Leaves the page for a full-page step; `resume()` finishes after the return. The
/// promise stays pending while the page unloads (or settles as cancelled if aborted first).
async fn leave(
    settings: &Settings,
    form: &crate::emv::FormPost,
    abort: &AbortSignal,
) -> Result<(), BridgeError> {
    settings.events.emit(Progress::Redirecting);
    redirect::navigate(form)?;
    let race = Race::new();
    let _abort = race.cancel_on(abort);
    race.outcome().await;
    Ok(())
}

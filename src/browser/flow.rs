//! One payment from start to a backend-confirmed result: start it, follow the backend's
//! next steps (Method, challenge, redirect) until it is final, then read it once more.
//!
//! The result the page receives is always the backend's. The one exception is a payment
//! the page itself gave up on (`cancel()`, the AbortSignal, the close button) while the
//! backend still calls it pending: that ends as a local `cancelled` result.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, AbortSignal, Element};

use super::challenge::{self, Placement, WindowPreference};
use super::client::Backend;
use super::dom::{self, Outcome, Race};
use super::events::{Events, Progress};
use super::messages::Expected;
use super::method::{self, MethodEnd};
use super::redirect::{self, Pending};
use super::view::{PaymentView, Session, Stage};
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

/// `pay(request)`: the whole payment.
pub async fn pay(
    settings: &Settings,
    request: &JsValue,
    abort: &AbortSignal,
) -> Result<JsValue, BridgeError> {
    let body = start_request(settings, request)?;
    settings.events.emit(Progress::Authorizing);
    let view = match settings.backend.start(&body, abort).await {
        Err(error) if error.code() == BridgeError::ABORTED => {
            return cancelled(settings, None).await
        }
        other => other?,
    };
    redirect::save(&Pending {
        session: view.session.clone(),
        backend: settings.backend.base().to_owned(),
    });
    follow(settings, view, abort).await
}

/// `resume()`: finishes the payment kept in `sessionStorage`; `null` when there is none
/// for this backend.
pub async fn resume(settings: &Settings, abort: &AbortSignal) -> Result<JsValue, BridgeError> {
    let Some(pending) = redirect::load().filter(|p| p.backend == settings.backend.base()) else {
        return Ok(JsValue::NULL);
    };
    settings.events.emit(Progress::Authorizing);
    let view = match settings.backend.read(&pending.session.id, abort).await {
        Ok(view) if view.session == pending.session => view,
        Ok(_) => {
            return Err(BridgeError::bad_response(
                "the backend answered for another session",
            ))
        }
        Err(error) if error.code() == BridgeError::ABORTED => {
            return cancelled(settings, Some(&pending.session)).await
        }
        Err(error) => {
            if error.code() == "not_found" {
                redirect::clear();
            }
            return Err(error);
        }
    };
    follow(settings, view, abort).await
}

/// The request the backend gets: the merchant's members, plus what the module owns.
fn start_request(settings: &Settings, request: &JsValue) -> Result<Object, BridgeError> {
    let request = request
        .dyn_ref::<Object>()
        .filter(|_| !request.is_function())
        .ok_or(BridgeError::invalid_options(
            "the payment request must be an object",
        ))?;
    let window = dom::window()?;
    let body = Object::assign(&Object::new(), request);
    let browser = details::collect(&details::read_page(&window))?;
    settings.events.emit(Progress::BrowserDetails);
    let size = match settings.display {
        DisplayMode::Redirect => ChallengeWindowSize::FullScreen,
        DisplayMode::Iframe => settings.window.choose(
            settings.container.as_ref().map(challenge::inner_size),
            challenge::viewport(),
        ),
    };
    let location = window.location();
    let page = location
        .href()
        .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "no location"))?;
    let origin = location
        .origin()
        .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "no location"))?;
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&body, &key.into(), &value);
    };
    set("browser", details::to_js(&browser).into());
    set("display", display_name(settings.display).into());
    set("windowSize", size.as_str().into());
    set("checkoutOrigin", origin.into());
    let return_url = Reflect::get(request, &"returnUrl".into())
        .ok()
        .and_then(|u| u.as_string());
    set("returnUrl", return_url.unwrap_or(page).into());
    Ok(body)
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
    mut view: PaymentView,
    abort: &AbortSignal,
) -> Result<JsValue, BridgeError> {
    let events = &settings.events;
    for _ in 0..MAX_STEPS {
        let session = view.session.clone();
        let expected = Expected {
            origin: settings.backend.origin().to_owned(),
            session: session.clone(),
        };
        let next = match view.stage {
            Stage::Final(_) => return finish(settings, &session).await,
            Stage::Pending(BrowserAction::Method { form, timeout_ms }) => {
                events.emit(Progress::MethodStarted);
                let deadline = timeout_ms.min(settings.method_timeout_ms);
                match method::run(&form, deadline, expected, abort).await {
                    MethodEnd::Done(completion) => {
                        events.emit(Progress::MethodCompleted(completion));
                        events.emit(Progress::Authorizing);
                        settings
                            .backend
                            .report_method(&session.id, completion, abort)
                            .await
                    }
                    MethodEnd::Cancelled => return cancelled(settings, Some(&session)).await,
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
                        settings.backend.read(&session.id, abort).await
                    }
                    Outcome::Cancelled => return cancelled(settings, Some(&session)).await,
                    Outcome::TimedOut => return timed_out(settings, &session).await,
                }
            }
            Stage::Pending(
                BrowserAction::Challenge { form, .. } | BrowserAction::Redirect { form },
            ) => {
                return leave(settings, &session, &form, abort).await;
            }
        };
        view = match next {
            Err(error) if error.code() == BridgeError::ABORTED => {
                return cancelled(settings, Some(&session)).await
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

/// The confirming read: the page's result is what `GET /v1/payments/{id}` says.
async fn finish(settings: &Settings, session: &Session) -> Result<JsValue, BridgeError> {
    let never = AbortController::new()
        .map_err(|_| BridgeError::new(BridgeError::UNSUPPORTED, "no AbortController"))?;
    let view = settings.backend.read(&session.id, &never.signal()).await?;
    match view.stage {
        Stage::Final(result) if view.session == *session => {
            redirect::clear();
            let _ = Reflect::set(
                &result.value,
                &"paymentId".into(),
                &session.id.as_str().into(),
            );
            settings.events.emit(Progress::Done(result.status));
            Ok(result.value.into())
        }
        _ => Err(BridgeError::bad_response(
            "the backend's final read is not final",
        )),
    }
}

/// The page gave up. The backend may already have finished (an ACS that answered just
/// before the close button): then its result stands; otherwise the payment ends here as
/// `cancelled`, and the backend's session runs out on its own.
async fn cancelled(settings: &Settings, session: Option<&Session>) -> Result<JsValue, BridgeError> {
    redirect::clear();
    if let Some(session) = session {
        if let Ok(result) = finish(settings, session).await {
            return Ok(result);
        }
    }
    let result = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&result, &key.into(), &value);
    };
    let error = Object::new();
    let _ = Reflect::set(&error, &"code".into(), &"challenge_cancelled".into());
    set("status", "cancelled".into());
    set(
        "paymentId",
        session.map_or(JsValue::NULL, |s| s.id.as_str().into()),
    );
    for key in ["providerPaymentId", "threeDsVersion", "transStatus", "eci"] {
        set(key, JsValue::NULL);
    }
    set("liabilityShift", false.into());
    set("error", error.into());
    settings
        .events
        .emit(Progress::Done(PaymentStatus::Cancelled));
    Ok(result.into())
}

/// The challenge outlived `challengeTimeoutMs`: the backend's result if it has one.
async fn timed_out(settings: &Settings, session: &Session) -> Result<JsValue, BridgeError> {
    finish(settings, session).await.map_err(|_| {
        BridgeError::new(
            BridgeError::TIMEOUT,
            "the challenge was not finished in time",
        )
    })
}

/// Leaves the page for a full-page step; `resume()` finishes after the return. The
/// promise stays pending while the page unloads (or settles as cancelled if aborted first).
async fn leave(
    settings: &Settings,
    session: &Session,
    form: &crate::emv::FormPost,
    abort: &AbortSignal,
) -> Result<JsValue, BridgeError> {
    settings.events.emit(Progress::Redirecting);
    redirect::navigate(form)?;
    let race = Race::new();
    let _abort = race.cancel_on(abort);
    race.outcome().await;
    cancelled(settings, Some(session)).await
}

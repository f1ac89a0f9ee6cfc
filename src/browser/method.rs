//! The 3DS Method: post `threeDSMethodData` to the issuer's Method URL in a hidden iframe
//! and tell the backend how it went ([EMV] §5.8.1).
//!
//! Y when the backend's completion page (the Method notification) reports back in time,
//! N when the deadline passes first, U when there is no usable Method URL. None of these
//! is an error: the Method never rejects; only `cancel()` or the AbortSignal end it early.
//! The iframe and every listener and timer are gone when [`run`] returns.

use wasm_bindgen::JsCast;
use web_sys::{AbortSignal, HtmlIFrameElement};

use super::dom::{
    self, aborted, document, submit_form, FormTarget, Listener, Mounted, Outcome, Race, Timer,
};
use super::messages::{self, Expected};
use super::BridgeError;
use crate::emv::{FormPost, ThreeDsCompInd};

/// How the Method step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodEnd {
    Done(ThreeDsCompInd),
    Cancelled,
}

/// Runs the Method `form` with a deadline of `deadline_ms`.
pub async fn run(
    form: &FormPost,
    deadline_ms: u32,
    expected: Expected,
    abort: &AbortSignal,
) -> MethodEnd {
    if aborted(abort) {
        return MethodEnd::Cancelled;
    }
    // No usable Method URL (not an absolute http(s) URL: submit_form refuses it before
    // anything is posted), or the page could not post the form: the issuer saw nothing.
    let Ok(posted) = post(form, deadline_ms, expected, abort) else {
        return MethodEnd::Done(ThreeDsCompInd::U);
    };
    match posted.race.outcome().await {
        Outcome::Completed => MethodEnd::Done(ThreeDsCompInd::Y),
        Outcome::TimedOut => MethodEnd::Done(ThreeDsCompInd::N),
        Outcome::Cancelled => MethodEnd::Cancelled,
    }
}

/// The Method posted into its hidden iframe, and what ends its wait: the completion
/// message, the AbortSignal, the deadline. Dropping it removes all of them.
struct Posted {
    race: Race,
    _frame: Mounted,
    _message: Listener,
    _abort: Listener,
    _deadline: Timer,
}

/// Posts the Method (synchronously: the wait is the caller's one await).
fn post(
    form: &FormPost,
    deadline_ms: u32,
    expected: Expected,
    abort: &AbortSignal,
) -> Result<Posted, BridgeError> {
    let doc = document()?;
    let name = ["threeds-bridge-method-", expected.session.id.as_str()].concat();
    let frame = dom::method_frame(&doc, &name).map_err(|_| {
        BridgeError::new(
            BridgeError::UNSUPPORTED,
            "the Method iframe could not be made",
        )
    })?;
    let frame = Mounted(frame);
    let race = Race::new();
    let message = messages::listen(
        expected,
        frame.0.clone().unchecked_into::<HtmlIFrameElement>(),
        race.settler(Outcome::Completed),
    )?;
    let abort = race.cancel_on(abort);
    let deadline = race.deadline(deadline_ms)?;
    submit_form(
        form,
        FormTarget::Frame {
            name: &name,
            frame: &frame.0,
        },
    )?;
    Ok(Posted {
        race,
        _frame: frame,
        _message: message,
        _abort: abort,
        _deadline: deadline,
    })
}

//! Progress events for the merchant's UI: `{type, at, ...}` handed to `onEvent` (the
//! object is made by dom.js's `emitEvent`).
//!
//! A throwing `onEvent` is the page's bug, not the payment's: it is ignored and the
//! flow carries on.

use js_sys::Function;
use wasm_bindgen::JsValue;

use super::dom::{self, emit_event};
use crate::emv::{ChallengeWindowSize, ThreeDsCompInd};
use crate::payment::PaymentStatus;

/// One step of a payment the page may want to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// The EMV browser details were read.
    BrowserDetails,
    /// The 3DS Method iframe was posted.
    MethodStarted,
    /// The 3DS Method ended: Y (completed), N (deadline), U (no Method URL).
    MethodCompleted(ThreeDsCompInd),
    /// The challenge iframe is on screen, at this size.
    ChallengeShown(ChallengeWindowSize),
    /// The ACS said the challenge is over.
    ChallengeCompleted,
    /// The backend is working (starting, authenticating, authorizing).
    Authorizing,
    /// The page is leaving for a full-page redirect; `resume()` finishes on return.
    Redirecting,
    /// The payment ended with this status.
    Done(PaymentStatus),
}

impl Progress {
    pub fn name(self) -> &'static str {
        match self {
            Progress::BrowserDetails => "browser-details",
            Progress::MethodStarted => "method-started",
            Progress::MethodCompleted(_) => "method-completed",
            Progress::ChallengeShown(_) => "challenge-shown",
            Progress::ChallengeCompleted => "challenge-completed",
            Progress::Authorizing => "authorizing",
            Progress::Redirecting => "redirecting",
            Progress::Done(_) => "done",
        }
    }

    /// The step's detail member, `(key, value)`, if it has one.
    pub fn detail(self) -> Option<(&'static str, &'static str)> {
        match self {
            Progress::MethodCompleted(completion) => Some(("completion", completion.as_str())),
            Progress::ChallengeShown(size) => Some(("windowSize", size.as_str())),
            Progress::Done(status) => Some(("status", status_name(status))),
            _ => None,
        }
    }
}

pub fn status_name(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Authorized => "authorized",
        PaymentStatus::Declined => "declined",
        PaymentStatus::Failed => "failed",
        PaymentStatus::Cancelled => "cancelled",
        PaymentStatus::Error => "error",
    }
}

/// Where events go: the page's `onEvent` (or nowhere), and the module's waiting status.
#[derive(Clone, Default)]
pub struct Events {
    callback: Option<Function>,
    /// dom.js `ui`: the waiting status's settings and element.
    ui: JsValue,
}

impl Events {
    pub fn new(callback: Option<Function>, ui: JsValue) -> Events {
        Events { callback, ui }
    }

    /// The module's UI settings, for the challenge's labels.
    pub fn ui(&self) -> &JsValue {
        &self.ui
    }

    pub fn emit(&self, progress: Progress) {
        dom::progress(&self.ui, progress.name());
        if let Some(callback) = &self.callback {
            let detail = progress.detail();
            emit_event(
                callback,
                progress.name(),
                detail.map(|d| d.0),
                detail.map(|d| d.1),
            );
        }
    }

    /// The payment is over (whatever way): the waiting status goes.
    pub fn end(&self) {
        dom::progress(&self.ui, "");
    }
}

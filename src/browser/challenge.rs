//! The challenge in an iframe: in the merchant's container, or in a `<dialog>` the module
//! creates; sized exactly to the declared `challengeWindowSize`, so the ACS lays out for
//! the space it really has.
//!
//! The iframe gets the ACS page by a form POST built from the structured fields the
//! backend sent (`creq`, or `PaReq`, `MD`, `TermUrl` for 3DS1); no provider HTML is ever
//! inserted. The close control sits in a bar above the issuer's page, never over it.
//! Keyboard focus moves into the challenge (onto that control: Tab goes on into the
//! issuer's page) and returns where it was after. The close control and Escape cancel, in
//! the container and in the dialog alike (Escape pressed inside the issuer's cross-origin
//! page is the issuer's: the browser never shows it to this page). Everything the
//! challenge added to the page is gone when [`run`] returns.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, Document, Element, HtmlElement, HtmlIFrameElement};

use super::dom::{
    self as dom, aborted, active_element, document, is_connected, number, submit_form, window,
    FormTarget, Listener, Mounted, Outcome, Race,
};
use super::messages::{self, Expected};
use super::BridgeError;
use crate::emv::{ChallengeWindowSize, FormPost};

/// The merchant's `challengeWindowSize` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPreference {
    /// From the real width: in a dialog (no container) narrower than 600 px, full screen;
    /// in a container narrower than 390 px, 01; else the largest size that fits.
    Auto,
    Fixed(ChallengeWindowSize),
}

impl WindowPreference {
    pub fn parse(text: &str) -> Option<WindowPreference> {
        match text {
            "auto" => Some(WindowPreference::Auto),
            other => ChallengeWindowSize::parse(other)
                .ok()
                .map(WindowPreference::Fixed),
        }
    }

    /// The size to declare to the backend. `container` is the container's inner size,
    /// a height of 0 (an empty container that grows with its content) taken as the
    /// viewport's height. A phone's dialog gets the whole screen (a fixed size in a modal
    /// leaves slivers and clips); a narrow container gets 01 rather than a size wider than
    /// itself.
    pub fn choose(
        self,
        container: Option<(u32, u32)>,
        viewport: (u32, u32),
    ) -> ChallengeWindowSize {
        match self {
            WindowPreference::Fixed(size) => size,
            WindowPreference::Auto => {
                let (width, height) = container.unwrap_or(viewport);
                let height = if height == 0 { viewport.1 } else { height };
                match container {
                    None if width < 600 => ChallengeWindowSize::FullScreen,
                    Some(_) if (250..390).contains(&width) => ChallengeWindowSize::W250xH400,
                    _ => ChallengeWindowSize::largest_fitting(width, height),
                }
            }
        }
    }
}

/// The viewport's size in CSS pixels.
pub fn viewport() -> (u32, u32) {
    match window() {
        Ok(w) => (dimension(&w, "innerWidth"), dimension(&w, "innerHeight")),
        Err(_) => (0, 0),
    }
}

/// A size in CSS pixels, 0 where it is missing.
fn dimension(object: &wasm_bindgen::JsValue, key: &str) -> u32 {
    number(object, key).map_or(0, |v| v.max(0.0) as u32)
}

/// An element's inner size in CSS pixels.
pub fn inner_size(container: &Element) -> (u32, u32) {
    (
        dimension(container, "clientWidth"),
        dimension(container, "clientHeight"),
    )
}

/// What the challenge is shown in.
enum Host {
    Container(Mounted),
    Dialog(Mounted),
}

impl Host {
    fn root(&self) -> &Element {
        match self {
            Host::Container(m) | Host::Dialog(m) => &m.0,
        }
    }
}

/// Moves focus back to where it was when dropped.
struct FocusReturn(Option<HtmlElement>);

impl Drop for FocusReturn {
    fn drop(&mut self) {
        if let Some(previous) = self.0.take().filter(|e| is_connected(e)) {
            let _ = previous.focus();
        }
    }
}

/// Where a challenge goes, and how long it may take.
pub struct Placement<'a> {
    /// The merchant's container; `None` (and always for 05) a modal `<dialog>`.
    pub container: Option<&'a Element>,
    pub size: ChallengeWindowSize,
    pub timeout_ms: Option<u32>,
    /// The module's own UI settings (dom.js `ui`: labels' language); `undefined` for
    /// the defaults.
    pub ui: &'a JsValue,
}

/// Shows the challenge `form`, calls `on_shown` once it is on screen, and waits for the
/// completion message, the close button, the AbortSignal or the deadline.
pub async fn run(
    form: &FormPost,
    placement: Placement<'_>,
    expected: Expected,
    abort: &AbortSignal,
    on_shown: impl FnOnce(),
) -> Result<Outcome, BridgeError> {
    if aborted(abort) {
        return Ok(Outcome::Cancelled);
    }
    let doc = document()?;
    let _focus = FocusReturn(active_element(&doc));
    let name = ["threeds-bridge-challenge-", expected.session.id.as_str()].concat();
    let (host, frame) = mount(&doc, &name, &placement)?;
    let race = Race::new();
    let _message = messages::listen(
        expected,
        frame.clone().unchecked_into::<HtmlIFrameElement>(),
        race.settler(Outcome::Completed),
    )?;
    let _abort = race.cancel_on(abort);
    let _deadline = placement
        .timeout_ms
        .map(|ms| race.deadline(ms))
        .transpose()?;
    let close = host
        .root()
        .query_selector(".threeds-bridge-close")
        .ok()
        .flatten()
        .ok_or(BridgeError::new(
            BridgeError::UNSUPPORTED,
            "close button missing",
        ))?;
    let _close = Listener::function(&close, "click", race.settler(Outcome::Cancelled));
    // Escape closes a modal dialog; that is a cancel too (in a container, dom.js turns
    // Escape into a click on the close control).
    let _escape = match &host {
        Host::Dialog(dialog) => Some(Listener::function(
            &dialog.0,
            "cancel",
            race.settler(Outcome::Cancelled),
        )),
        Host::Container(_) => None,
    };
    submit_form(
        form,
        FormTarget::Frame {
            name: &name,
            frame: &frame,
        },
    )?;
    let _ = close.unchecked_ref::<HtmlElement>().focus();
    on_shown();
    let outcome = race.outcome().await;
    drop(host);
    Ok(outcome)
}

/// Builds the host, the close button and the iframe, and puts them in the page (the
/// elements themselves are made by dom.js; which host and what size is decided here).
fn mount(
    doc: &Document,
    name: &str,
    placement: &Placement<'_>,
) -> Result<(Host, Element), BridgeError> {
    let (width, height) = placement.size.pixels().unwrap_or((0, 0));
    let container = placement
        .container
        .filter(|_| placement.size != ChallengeWindowSize::FullScreen);
    let root =
        dom::mount_challenge(doc, name, width, height, container, placement.ui).map_err(|_| {
            BridgeError::new(BridgeError::UNSUPPORTED, "the challenge could not be shown")
        })?;
    let frame = root.query_selector("iframe").ok().flatten();
    let root = Mounted(root);
    let host = match container {
        Some(_) => Host::Container(root),
        None => Host::Dialog(root),
    };
    let frame = frame.ok_or(BridgeError::new(
        BridgeError::UNSUPPORTED,
        "the challenge could not be shown",
    ))?;
    Ok((host, frame))
}

//! The challenge in an iframe: in the merchant's container, or in a `<dialog>` the module
//! creates; sized exactly to the declared `challengeWindowSize`, so the ACS lays out for
//! the space it really has.
//!
//! The iframe gets the ACS page by a form POST built from the structured fields the
//! backend sent (`creq`, or `PaReq`, `MD`, `TermUrl` for 3DS1); no provider HTML is ever
//! inserted. Keyboard focus moves into the challenge and returns where it was after. A
//! close button (and Escape in the dialog) cancels. Everything the challenge added to the
//! page is gone when [`run`] returns.

use wasm_bindgen::JsCast;
use web_sys::{AbortSignal, Document, Element, HtmlDialogElement, HtmlElement, HtmlIFrameElement};

use super::dom::{
    document, element, submit_form, window, FormTarget, Listener, Mounted, Outcome, Race,
};
use super::messages::{self, Expected};
use super::BridgeError;
use crate::emv::{ChallengeWindowSize, FormPost};

/// The merchant's `challengeWindowSize` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPreference {
    /// The largest size that fits the container (or the viewport without one).
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
    /// viewport's height.
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
                ChallengeWindowSize::largest_fitting(width, height)
            }
        }
    }
}

/// The viewport's size in CSS pixels.
pub fn viewport() -> (u32, u32) {
    let dimension = |value: Result<wasm_bindgen::JsValue, _>| {
        value
            .ok()
            .and_then(|v| v.as_f64())
            .map_or(0, |v| v.max(0.0) as u32)
    };
    match window() {
        Ok(w) => (dimension(w.inner_width()), dimension(w.inner_height())),
        Err(_) => (0, 0),
    }
}

/// An element's inner size in CSS pixels.
pub fn inner_size(container: &Element) -> (u32, u32) {
    (
        container.client_width().max(0) as u32,
        container.client_height().max(0) as u32,
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
        if let Some(previous) = self.0.take().filter(|e| e.is_connected()) {
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
    if abort.aborted() {
        return Ok(Outcome::Cancelled);
    }
    let doc = document()?;
    let _focus = FocusReturn(
        doc.active_element()
            .and_then(|e| e.dyn_into::<HtmlElement>().ok()),
    );
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
    // Escape closes a modal dialog; that is a cancel too.
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
    let _ = frame.unchecked_ref::<HtmlElement>().focus();
    on_shown();
    let outcome = race.outcome().await;
    drop(host);
    Ok(outcome)
}

/// Builds the host, the close button and the iframe, and puts them in the page.
fn mount(
    doc: &Document,
    name: &str,
    placement: &Placement<'_>,
) -> Result<(Host, Element), BridgeError> {
    let (style, width, height) = match placement.size.pixels() {
        Some((w, h)) => {
            let (w, h) = (decimal(w), decimal(h));
            (
                ["display:block;border:0;width:", &w, "px;height:", &h, "px"].concat(),
                w,
                h,
            )
        }
        None => (
            "display:block;border:0;width:100%;height:100%".to_owned(),
            "100%".to_owned(),
            "100%".to_owned(),
        ),
    };
    let frame = element(
        doc,
        "iframe",
        &[
            ("name", name),
            ("title", "3-D Secure"),
            ("width", &width),
            ("height", &height),
            ("style", &style),
            (
                "sandbox",
                "allow-forms allow-scripts allow-same-origin allow-popups",
            ),
        ],
    )?;
    let close = element(
        doc,
        "button",
        &[
            ("type", "button"),
            ("class", "threeds-bridge-close"),
            ("aria-label", "Cancel"),
            ("style", "position:absolute;top:4px;right:4px;z-index:1"),
        ],
    )?;
    close.set_text_content(Some("\u{d7}"));
    let container = placement
        .container
        .filter(|_| placement.size != ChallengeWindowSize::FullScreen);
    let host = match container {
        Some(container) => {
            let wrapper = element(
                doc,
                "div",
                &[
                    ("class", "threeds-bridge-challenge"),
                    ("style", "position:relative;display:inline-block"),
                ],
            )?;
            let _ = wrapper.append_child(&close);
            let _ = wrapper.append_child(&frame);
            let wrapper = Mounted(wrapper);
            let _ = container.append_child(&wrapper.0);
            Host::Container(wrapper)
        }
        None => {
            let full = placement.size == ChallengeWindowSize::FullScreen;
            let style = if full {
                "padding:0;border:0;margin:0;width:100vw;height:100vh;max-width:100vw;max-height:100vh;overflow:hidden"
            } else {
                "padding:0;border:0;overflow:visible"
            };
            let dialog = element(
                doc,
                "dialog",
                &[
                    ("class", "threeds-bridge-dialog"),
                    ("aria-label", "3-D Secure"),
                    ("style", style),
                ],
            )?;
            let _ = dialog.append_child(&close);
            let _ = dialog.append_child(&frame);
            let body = doc.body().ok_or(BridgeError::new(
                BridgeError::UNSUPPORTED,
                "no document body",
            ))?;
            let dialog = Mounted(dialog);
            let _ = body.append_child(&dialog.0);
            let _ = dialog.0.unchecked_ref::<HtmlDialogElement>().show_modal();
            Host::Dialog(dialog)
        }
    };
    Ok((host, frame))
}

/// `n` in decimal, without `format!` (whose machinery the module does not otherwise need).
fn decimal(n: u32) -> String {
    let mut text = String::new();
    let mut divisor = 1;
    while n / divisor >= 10 {
        divisor *= 10;
    }
    while divisor > 0 {
        text.push(char::from(b'0' + ((n / divisor) % 10) as u8));
        divisor /= 10;
    }
    text
}

//! The simulated cardholder, one for every test: a browser that submits a form and
//! follows what the pages answer (redirects, auto-submit forms, the sandbox ACS's
//! challenge page, where the cardholder types a code or cancels) until its next request
//! would reach the backend, and the hidden iframe that runs a 3DS Method form. The
//! adapter tests (`flow`, a backend never contacted) and the backend tests (`backend`, a
//! real one) both walk with it.

use super::{browser, forms, resolve, PageForm};

/// What the cardholder does on a challenge page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cardholder {
    /// Types this code and submits.
    Types(&'static str),
    /// Presses cancel.
    Cancels,
}

/// Submits `first` as the browser would and follows pages, redirects and auto-submit
/// forms, answering challenge pages as `cardholder` does, until the browser's next
/// request goes to a URL under `backend`. Returns that request unsent: a form whose
/// action is the absolute URL (after a redirect, a GET without fields, its query in the
/// action).
pub async fn until_backend(backend: &str, first: PageForm, cardholder: Cardholder) -> PageForm {
    try_until_backend(backend, first, cardholder)
        .await
        .unwrap_or_else(|stuck| panic!("{stuck}"))
}

/// [`until_backend`], with a page that fails or leads nowhere as an error instead of a
/// panic: for runs where servers fail on purpose.
pub async fn try_until_backend(
    backend: &str,
    first: PageForm,
    cardholder: Cardholder,
) -> Result<PageForm, String> {
    let client = browser();
    let mut next = first;
    let mut base = next.action.clone();
    for _ in 0..15 {
        let url = resolve(&base, &next.action);
        if url.starts_with(backend) {
            return Ok(PageForm {
                action: url,
                ..next
            });
        }
        let response = next
            .try_submit(&client, &base)
            .await
            .map_err(|e| format!("the browser's request failed: {e}"))?;
        base = url;
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| resolve(&base, l));
        if let Some(location) = location.filter(|_| response.status().is_redirection()) {
            next = PageForm {
                id: None,
                action: location,
                method: "get".into(),
                fields: Vec::new(),
            };
            continue;
        }
        let page = response
            .text()
            .await
            .map_err(|e| format!("the page did not load: {e}"))?;
        next = answer(&page, cardholder).ok_or_else(|| {
            format!("the browser is stuck on a page with nothing to submit:\n{page}")
        })?;
    }
    Err("the browser never came back to the backend".to_owned())
}

/// What the cardholder submits on `page`: the challenge form, answered, or else the
/// form that submits itself.
fn answer(page: &str, cardholder: Cardholder) -> Option<PageForm> {
    let all = forms(page);
    if let Some(mut challenge) = all
        .iter()
        .find(|f| f.id.as_deref() == Some("challenge"))
        .cloned()
    {
        match cardholder {
            Cardholder::Types(code) => {
                challenge.set("otp", code);
                challenge.set("action", "submit");
            }
            Cardholder::Cancels => challenge.set("action", "cancel"),
        }
        return Some(challenge);
    }
    all.into_iter()
        .find(|f| f.id.as_deref() == Some("autosubmit") || f.id.as_deref() == Some("form1"))
}

/// Posts a 3DS Method form as the hidden iframe does: the notification form the ACS
/// answered with, unsent, or `None` when it never answered.
pub async fn method_notification(form: &PageForm) -> Option<PageForm> {
    let page = form
        .try_submit(&browser(), &form.action)
        .await
        .ok()?
        .text()
        .await
        .unwrap_or_default();
    forms(&page)
        .into_iter()
        .find(|f| f.id.as_deref() == Some("autosubmit"))
}

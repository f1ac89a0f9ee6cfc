//! Where the outside comes back: the cardholder's browser from the issuer or provider
//! (`/v1/returns/{id}`, or the provider's own `/v1/returns/{provider}` such as Payroc's
//! receipt URL), and providers server to server (`/v1/webhooks/{provider}`, dLocal's
//! today). Routes name no provider: the adapter's trait methods find the order and
//! verify what came. Everything here is hostile until the adapter has verified
//! it; a refused return answers an HTML error page and changes nothing, and a return
//! for a step already taken answers what the first one got.

use super::api::ApiError;
use super::driver::Driven;
use super::host::{Env, Transport};
use super::http::{form_pairs, Method, Request, Response};
use super::{pages, Backend};
use crate::payment::{BrowserAction, DisplayMode, ProviderKind};
use crate::provider::{BrowserReturn, Notification, ReturnRefused, MALFORMED_NOTIFICATION};
use crate::session::{Phase, Session};
use crate::store::SessionStore;

fn store_page(error: &ApiError) -> Response {
    pages::error(
        503,
        error.code,
        "The payment cannot be read right now; please try again.",
    )
}

fn unknown_payment() -> Response {
    pages::error(404, "not_found", "This payment is unknown.")
}

/// A return to a route every payment shares that names no payment waiting for it: an
/// unknown order, or one no longer waiting that this return did not move. The same page
/// for both (no answer tells which orders exist), worded for a genuine shopper whose
/// return came after the payment ended (expired, cancelled).
fn no_step_waiting() -> Response {
    pages::error(
        404,
        "not_found",
        "No payment step is waiting for this: go back to the shop to see where your order stands.",
    )
}

fn see_other(url: &str) -> Response {
    Response {
        status: 303,
        headers: vec![("Location".into(), url.to_owned())],
        body: Vec::new(),
    }
}

/// Whether the browser loads this return as a whole page rather than in a frame (Fetch
/// Metadata; a client that sends none is treated as a frame, unless the payment's provider
/// shows a page of its own, see `returned`). It happens in iframe
/// display when the module had to leave the page for a provider's page or an ACS that
/// refuses framing; a completion page there would have no parent to tell.
fn top_level(request: &Request) -> bool {
    request
        .header("sec-fetch-dest")
        .is_some_and(|dest| dest.eq_ignore_ascii_case("document"))
}

/// The fields a browser brought: the query of a GET, the urlencoded form of a POST.
fn browser_fields(request: &Request) -> Result<BrowserReturn, Response> {
    let fields = match request.method {
        Method::Post => {
            let urlencoded = request.header("content-type").is_some_and(|t| {
                t.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
            if !urlencoded && !request.body.is_empty() {
                return Err(pages::error(
                    400,
                    "unreadable_return",
                    "The return is not a form.",
                ));
            }
            let mut fields = form_pairs(request.query.as_bytes());
            fields.extend(form_pairs(&request.body));
            fields
        }
        _ => form_pairs(request.query.as_bytes()),
    };
    Ok(BrowserReturn { fields })
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// `GET|POST /v1/returns/{id}`.
    pub(crate) async fn browser_return(&self, id: &str, request: &Request) -> Response {
        let ret = match browser_fields(request) {
            Ok(ret) => ret,
            Err(page) => return page,
        };
        match self.load(id).await {
            Ok(Some(session)) => {
                self.returned(session, &request.method, &ret, top_level(request))
                    .await
            }
            Ok(None) => unknown_payment(),
            Err(error) => store_page(&error),
        }
    }

    /// `GET /v1/returns/{provider}`: a return URL the provider registered once for
    /// every payment (Payroc's MPI receipt URL); the adapter names the order, whose
    /// session then verifies the return like any other.
    pub(crate) async fn provider_return(
        &self,
        provider: ProviderKind,
        request: &Request,
    ) -> Response {
        // Only Payroc sends browsers to a route of its own: a build without Payroc's
        // adapter leaves this route's code out (the one-provider edge workers' size).
        let adapter = self
            .providers
            .get(provider)
            .filter(|_| cfg!(feature = "payroc"));
        let Some(adapter) = adapter else {
            return pages::error(404, "not_found", "This provider is not configured.");
        };
        let ret = match browser_fields(request) {
            Ok(ret) => ret,
            Err(page) => return page,
        };
        let Some(key) = adapter.order_of_return(&ret) else {
            return pages::error(
                400,
                "malformed_return",
                "The return names no single order and reference.",
            );
        };
        let session = match self.store.load_by_order(provider, &key.order_id).await {
            Ok(Some(session)) => self.settle(session).await,
            Ok(None) => return no_step_waiting(),
            Err(e) => Err(e),
        };
        let mut session = match session {
            Ok(session) => session,
            Err(e) => return store_page(&ApiError::store(&e)),
        };
        if let Phase::AwaitingBrowser { .. } = session.phase {
            // Kept with the step this return moves the payment to, if it does.
            session.return_reference = Some(key.reference);
        } else if session.return_reference.as_ref() != Some(&key.reference) {
            // Anyone can name an order: only a copy of the return that moved this payment
            // (a reload, a second submit) is answered with it, as for a session's own
            // route, whose id no one can guess.
            return no_step_waiting();
        }
        self.returned(session, &request.method, &ret, top_level(request))
            .await
    }

    /// A return for `session`: verified by its adapter, then driven on.
    async fn returned(
        &self,
        session: Session,
        method: &Method,
        ret: &BrowserReturn,
        top_level: bool,
    ) -> Response {
        // A provider whose 3-D Secure step is a page of its own (Payroc's MPI, dLocal's
        // page) is always shown as the whole page, in any display: its return is one too,
        // whether or not the browser says so (one that sends no Fetch Metadata would
        // otherwise strand the shopper on a completion page with no parent).
        let top_level = top_level || self.full_page_steps(&session);
        let Phase::AwaitingBrowser { state, action } = &session.phase else {
            // Final, or being moved by another request: the step this return is about is
            // over; answer what the first return got, change nothing.
            return self.answer(&session, top_level);
        };
        if let BrowserAction::Method { .. } = action {
            // The 3DS Method's notification (threeDSMethodData): the page, not this post,
            // reports completion through /method.
            return match method {
                Method::Post => self.answer_completion(&session),
                _ => pages::error(
                    409,
                    "awaiting_method",
                    "This payment is waiting for the 3DS Method.",
                ),
            };
        }
        let Some(adapter) = self.providers.get(session.provider) else {
            return pages::error(
                409,
                "provider_not_configured",
                "This payment's provider is not configured.",
            );
        };
        let cx = self.context(&session);
        let refused = |session: &Session, refused: ReturnRefused, by: &str| {
            tracing::warn!(session = %session.id, code = refused.code, by, "browser return refused");
            pages::error(400, refused.code, refused.message)
        };
        if let Err(refusal) = adapter.verify_browser_return(state, ret, &cx) {
            return refused(&session, refusal, "adapter");
        }
        let step = match adapter.on_browser_return(state, ret, &cx) {
            Ok(step) => step,
            Err(refusal) => return refused(&session, refusal, "adapter"),
        };
        let id = session.id.clone();
        match self.drive(adapter, session, step).await {
            Ok(Driven::Moved(session)) => self.answer(&session, top_level),
            // Only the provider could judge this return, and it refused it: the payment
            // waits on the same step for the genuine one.
            Ok(Driven::Refused(session, refusal)) => refused(&session, refusal, "provider"),
            Ok(Driven::Lost(session)) => match self.store.load(&id).await {
                Ok(Some(current)) => self.answer(&current, top_level),
                _ => self.answer(&session, top_level),
            },
            Err(e) => store_page(&ApiError::store(&e)),
        }
    }

    /// What a browser that came back sees: the completion page in an iframe, a 303 to the
    /// checkout page after a full-page redirect (display `redirect`, or a return that is
    /// the whole page: a completion page there would have no parent to tell).
    fn answer(&self, session: &Session, top_level: bool) -> Response {
        match (&session.display, &session.return_url) {
            (DisplayMode::Redirect, Some(url)) => see_other(url),
            (_, Some(url)) if top_level => see_other(url),
            _ => self.answer_completion(session),
        }
    }

    fn answer_completion(&self, session: &Session) -> Response {
        pages::completion(session, self.config.public_url())
    }

    /// `POST /v1/webhooks/{provider}`: verified by the provider's adapter, which names
    /// the order; the session's adapter then decides what the notification changes.
    pub(crate) async fn webhook(
        &self,
        provider: ProviderKind,
        request: &Request,
    ) -> Result<Response, ApiError> {
        let adapter = self
            .providers
            .get(provider)
            .ok_or_else(|| ApiError::new(404, "not_found", "this provider is not configured"))?;
        let body = String::from_utf8(request.body.clone())
            .map_err(|_| ApiError::bad_request("invalid_request", "the body is not UTF-8"))?;
        if !cfg!(feature = "dlocal") {
            // dLocal's is the only adapter that reads notifications: a build without it
            // answers as every other adapter does, and leaves the rest of this route out
            // (the edge worker's size; docs/edge.md, "A smaller worker").
            let refused = crate::provider::NOTIFICATIONS_UNSUPPORTED;
            return Err(ApiError::new(401, refused.code, refused.message));
        }
        let notification = Notification {
            headers: request.headers.clone(),
            body,
        };
        let received = || Response::json(200, &serde_json::json!({ "received": true }));
        let order_id = match adapter.order_of_notification(&notification, self.env.now_ms()) {
            Ok(Some(order_id)) => order_id,
            Ok(None) => return Ok(received()),
            Err(refused) => {
                tracing::warn!(
                    provider = provider.as_str(),
                    code = refused.code,
                    "notification refused"
                );
                // Genuine but unreadable is the sender's mistake (400); anything
                // else is not the provider's to send (401).
                return Err(if refused.code == MALFORMED_NOTIFICATION {
                    ApiError::bad_request("invalid_request", refused.message)
                } else {
                    ApiError::new(401, refused.code, refused.message)
                });
            }
        };
        let found = self
            .store
            .load_by_order(provider, &order_id)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let Some(session) = found else {
            tracing::warn!(provider = provider.as_str(), order = %order_id, "notification for an unknown order");
            return Ok(received());
        };
        let session = self
            .settle(session)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let state = match &session.phase {
            // A payment in doubt hears its notification too: the provider's word
            // settles it sooner than a lookup.
            Phase::AwaitingBrowser { state, .. }
            | Phase::Calling { state, .. }
            | Phase::Unknown { state, .. } => state,
            Phase::Created | Phase::Starting | Phase::Final { .. } => return Ok(received()),
        };
        let Some(step) = adapter.on_notification(state, &notification, &self.context(&session))
        else {
            return Ok(received());
        };
        let id = session.id.clone();
        let now = match self.drive(adapter, session, step).await {
            Ok(Driven::Moved(session) | Driven::Refused(session, _)) => Some(session),
            Ok(Driven::Lost(_)) => self
                .store
                .load(&id)
                .await
                .map_err(|e| ApiError::store(&e))?,
            Err(e) => return Err(ApiError::store(&e)),
        };
        // Providers repeat a notification until it gets a 2xx (dLocal does): ask for that
        // while the payment it announces could not be confirmed (its read got no answer).
        if now.is_some_and(|s| !s.phase.is_final()) {
            return Err(ApiError::new(
                503,
                "provider_unavailable",
                "the payment could not be confirmed with the provider yet; send the notification again",
            ));
        }
        Ok(received())
    }
}

//! Where the outside comes back: the cardholder's browser from the issuer or provider
//! (`/v1/returns/{id}`, Payroc's `/v1/returns/payroc`), and providers server to server
//! (`/v1/webhooks/dlocal`). Everything here is hostile until the adapter has verified
//! it; a refused return answers an HTML error page and changes nothing, and a return
//! for a step already taken answers what the first one got.

use super::api::ApiError;
use super::driver::Driven;
use super::host::{Env, Transport};
use super::http::{form_pairs, Method, Request, Response};
use super::providers::ProviderAdapter;
use super::{pages, Backend};
use crate::payment::{BrowserAction, DisplayMode, ProviderKind};
use crate::provider::{BrowserReturn, Context, Notification, ReturnRefused, Step};
use crate::session::{Phase, Session};
use crate::store::SessionStore;

fn store_page(error: &ApiError) -> Response {
    pages::error(
        503,
        error.code,
        "The payment cannot be read right now; please try again.",
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
/// Metadata; a client that sends none is treated as a frame). It happens in iframe
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

/// A return only the provider could judge (Payroc's unsigned receipt, whose mpiReference
/// only the sale checks): if the calls it led to brought the session back to the very
/// browser step it waited on, and the adapter now refuses that return, the provider
/// refused it. The session waits on, and the browser is told so as for a return refused
/// on arrival.
fn refused_after_calls(
    adapter: &dyn ProviderAdapter,
    session: &Session,
    waited_on: &BrowserAction,
    ret: &BrowserReturn,
    cx: &Context,
) -> Option<ReturnRefused> {
    match &session.phase {
        Phase::AwaitingBrowser { state, action } if action == waited_on => {
            adapter.verify_browser_return(state, ret, cx).err()
        }
        _ => None,
    }
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
            Ok(None) => pages::error(404, "not_found", "This payment is unknown."),
            Err(error) => store_page(&error),
        }
    }

    /// `GET /v1/returns/payroc`: the receipt URL Payroc's terminal registered, one for all
    /// sessions; the session is the one of the receipt's `orderId`.
    pub(crate) async fn payroc_return(&self, request: &Request) -> Response {
        let ret = match browser_fields(request) {
            Ok(ret) => ret,
            Err(page) => return page,
        };
        let Some(order_id) = ret.single("orderId") else {
            return pages::error(
                400,
                "malformed_receipt",
                "The receipt names no single order.",
            );
        };
        match self
            .store
            .load_by_order(ProviderKind::Payroc, order_id)
            .await
        {
            Ok(Some(session)) => match self.settle(session).await {
                Ok(session) => {
                    self.returned(session, &request.method, &ret, top_level(request))
                        .await
                }
                Err(e) => store_page(&ApiError::store(&e)),
            },
            Ok(None) => pages::error(404, "not_found", "This payment is unknown."),
            Err(e) => store_page(&ApiError::store(&e)),
        }
    }

    /// A return for `session`: verified by its adapter, then driven on.
    async fn returned(
        &self,
        session: Session,
        method: &Method,
        ret: &BrowserReturn,
        top_level: bool,
    ) -> Response {
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
        if let Err(refused) = adapter.verify_browser_return(state, ret, &cx) {
            tracing::warn!(session = %session.id, code = refused.code, "browser return refused");
            return pages::error(400, refused.code, refused.message);
        }
        let step = adapter.on_browser_return(state, ret, &cx);
        // An adapter that checks inside on_browser_return answers a forged return with the
        // very step it was waiting on: refused, nothing stored.
        if let Step::Browser {
            state: same,
            action: again,
        } = &step
        {
            if same == state && again == action {
                tracing::warn!(session = %session.id, "browser return refused by the adapter");
                return pages::error(
                    400,
                    "return_refused",
                    "This return does not belong to this payment step.",
                );
            }
        }
        let id = session.id.clone();
        let waited_on = action.clone();
        match self.drive(adapter, session, step).await {
            Ok(Driven::Moved(session)) => match refused_after_calls(
                adapter,
                &session,
                &waited_on,
                ret,
                &self.context(&session),
            ) {
                Some(refused) => {
                    tracing::warn!(session = %session.id, code = refused.code, "browser return refused by the provider");
                    pages::error(400, refused.code, refused.message)
                }
                None => self.answer(&session, top_level),
            },
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

    /// `POST /v1/webhooks/dlocal`.
    pub(crate) async fn dlocal_webhook(&self, request: &Request) -> Result<Response, ApiError> {
        let adapter = self
            .providers
            .get(ProviderKind::Dlocal)
            .ok_or_else(|| ApiError::new(404, "not_found", "dLocal is not configured"))?;
        let body = String::from_utf8(request.body.clone())
            .map_err(|_| ApiError::bad_request("invalid_request", "the body is not UTF-8"))?;
        let notification = Notification {
            headers: request.headers.clone(),
            body,
        };
        let received = || Response::json(200, &serde_json::json!({ "received": true }));
        if !crate::provider::dlocal::notification_is_fresh(&notification, self.env.now_ms()) {
            tracing::warn!("dLocal notification refused: its X-Date is outside the window");
            return Err(ApiError::new(
                401,
                "stale_notification",
                "the notification's X-Date is missing or more than 10 minutes from now",
            ));
        }
        let order_id = match adapter.notification_order(&notification) {
            Ok(Some(order_id)) => order_id,
            Ok(None) => return Ok(received()),
            Err(refused) => {
                tracing::warn!(code = refused.code, "dLocal notification refused");
                return Err(
                    if refused.code == super::providers::MALFORMED_NOTIFICATION {
                        ApiError::bad_request("invalid_request", refused.message)
                    } else {
                        ApiError::new(401, "bad_signature", refused.message)
                    },
                );
            }
        };
        let found = self
            .store
            .load_by_order(ProviderKind::Dlocal, &order_id)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let Some(session) = found else {
            tracing::warn!(order = %order_id, "dLocal notification for an unknown order");
            return Ok(received());
        };
        let session = self
            .settle(session)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let state = match &session.phase {
            Phase::AwaitingBrowser { state, .. } | Phase::Calling { state, .. } => state,
            Phase::Created | Phase::Starting | Phase::Final { .. } => return Ok(received()),
        };
        let Some(step) = adapter.on_notification(state, &notification, &self.context(&session))
        else {
            return Ok(received());
        };
        let id = session.id.clone();
        let now = match self.drive(adapter, session, step).await {
            Ok(Driven::Moved(session)) => Some(session),
            Ok(Driven::Lost(_)) => self
                .store
                .load(&id)
                .await
                .map_err(|e| ApiError::store(&e))?,
            Err(e) => return Err(ApiError::store(&e)),
        };
        // dLocal repeats a notification until it gets a 2xx: ask for that while the
        // payment it announces could not be confirmed (its read got no answer).
        if now.is_some_and(|s| !s.phase.is_final()) {
            return Err(ApiError::new(
                503,
                "provider_unavailable",
                "the payment could not be confirmed with dLocal yet; send the notification again",
            ));
        }
        Ok(received())
    }
}

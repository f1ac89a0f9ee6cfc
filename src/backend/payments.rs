//! The payment routes. The merchant's server creates a payment and reads it (API key);
//! the checkout page confirms it, reports the 3DS Method and reads its own view (client
//! secret). Each parses its input into types first (a bad request changes nothing), then
//! lets the driver move the session, and answers a view.

use serde_json::{Map, Value};

use super::api::{
    parse_body, ApiError, ConfirmRequest, CreateRequest, LifecycleStatus, MerchantView,
    MethodCompletion, PaymentView, MERCHANT_ONLY_FIELDS,
};
use super::auth;
use super::config::origin_of;
use super::driver::Driven;
use super::host::{Env, Transport};
use super::http::{Request, Response};
use super::operations::merchant_payment;
use super::Backend;
use crate::emv::{BrowserDetails, ChallengeWindowSize, ServerReadings};
use crate::payment::{BrowserAction, CardSummary, DisplayMode, PaymentMethod, PaymentStart};
use crate::session::{Phase, Session};
use crate::store::{SessionStore, StoreError};

/// The header the page reads its payment with (a GET has no body to carry the secret).
pub const CLIENT_SECRET_HEADER: &str = "x-client-secret";

/// How many refused confirms' counts, written while a valid confirm checked its request,
/// it passes before it answers the payment as it stands (`max_confirm_attempts` bounds
/// them anyway).
const MAX_COUNTS_PASSED: u32 = 8;

/// Who read a payment.
enum Reader {
    Merchant,
    Page,
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// `POST /v1/payments` (merchant): creates the payment, or answers the one this order
    /// already has (200, same client secret) when amount and currency agree (409 if not).
    pub(crate) async fn create(&self, request: &Request) -> Result<Response, ApiError> {
        auth::merchant(request, &self.config.merchant_api_keys)?;
        let body: CreateRequest = parse_body(&request.body)?;
        let Some(adapter) = self.providers.get(body.provider) else {
            return Err(ApiError::bad_request(
                "provider_not_configured",
                format!(
                    "{} is not configured on this backend",
                    body.provider.as_str()
                ),
            ));
        };
        let session = self.check_create(adapter, body)?;
        // Written first, read only if the order is taken: the store refuses a second
        // session for an order (every store's rule), so a new order costs one store call
        // (on the edge, one Durable Object round trip) and a repeat two.
        match self.store.create(&session).await {
            Ok(()) => {}
            // This order has a payment (a retried create, or another create that won
            // the race): answer as a repeat.
            Err(StoreError::Duplicate) => {
                return match self.existing(&session).await? {
                    Some(existing) => Ok(existing),
                    None => Err(ApiError::new(
                        409,
                        "duplicate_payment",
                        "this order is being created",
                    )),
                }
            }
            Err(e) => return Err(ApiError::store(&e)),
        }
        self.observer.payment_started(session.provider);
        // The request's span learns the payment it made (its access line names it).
        tracing::Span::current().record("payment", session.id.as_str());
        tracing::info!(
            session = %session.id, provider = session.provider.as_str(), order = %session.order_id,
            amount = session.amount, currency = %session.currency, "payment created"
        );
        Ok(Response::json(201, &MerchantView::of(&session)))
    }

    /// The stored payment for this order: 200 with it when it is the same payment (a
    /// retried create never makes a second one), 409 when it is not.
    async fn existing(&self, session: &Session) -> Result<Option<Response>, ApiError> {
        let found = self
            .store
            .load_by_order(session.provider, &session.order_id)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let Some(existing) = found else {
            return Ok(None);
        };
        if existing.amount != session.amount || existing.currency != session.currency {
            return Err(ApiError::new(
                409,
                "duplicate_payment",
                "this order id was created with another amount or currency",
            ));
        }
        // A returnUrl the create left out may have come with the page's confirm since.
        let other_return =
            session.return_url.is_some() && existing.return_url != session.return_url;
        if other_return || !existing.merchant.same_terms(&session.merchant) {
            return Err(ApiError::new(
                409,
                "duplicate_payment",
                "this order id was created with other terms (payer, description, capture mode, authentication, exemption, challenge preference or returnUrl)",
            ));
        }
        let existing = self
            .settle(existing)
            .await
            .map_err(|e| ApiError::store(&e))?;
        Ok(Some(Response::json(200, &MerchantView::of(&existing))))
    }

    /// `POST /v1/payments/{id}/confirm` (page): the payment method and the browser, then
    /// the first provider step. A payment already confirmed answers its current view (a
    /// double click never starts a second flow).
    pub(crate) async fn confirm(&self, id: &str, request: &Request) -> Result<Response, ApiError> {
        let raw: Map<String, Value> = std::str::from_utf8(&request.body)
            .ok()
            .and_then(|body| match crate::json_path::value_last_wins(body) {
                Ok(Value::Object(members)) => Some(members),
                _ => None,
            })
            .ok_or_else(|| {
                ApiError::bad_request("invalid_request", "the body must be a JSON object")
            })?;
        if let Some(field) = MERCHANT_ONLY_FIELDS.iter().find(|f| raw.contains_key(**f)) {
            return Err(ApiError::bad_request(
                "field_not_allowed",
                format!("{field} is set by the merchant's server when it creates the payment, never by the page"),
            ));
        }
        let presented = raw.get("clientSecret").and_then(Value::as_str);
        let session = self.load(id).await?.ok_or_else(ApiError::not_found)?;
        auth::page(presented, &session.client_secret)?;
        self.check_page_origin(request, None)?;
        let first = matches!(session.phase, Phase::Created);
        if first && session.confirm_attempts >= self.config.max_confirm_attempts {
            return Err(too_many_attempts());
        }
        // The same text again, now typed: `raw` showed it is one JSON object.
        let body = parse_body::<ConfirmRequest>(&request.body);
        let checked = body.and_then(|body| self.check_confirm(&session, body, request));
        if !first {
            // A double click: answer what the first confirm got, once it has it. A confirm
            // the first would have refused is refused here too (nothing is counted: the
            // payment has left Created); its card is dropped at once.
            drop(checked?);
            let current = self
                .settled(session)
                .await
                .map_err(|e| ApiError::store(&e))?;
            return Ok(Response::json(200, &PaymentView::of(&current)));
        }
        let (payment, confirmed) = match checked {
            Ok(checked) => checked,
            Err(refusal) => {
                self.count_refused_confirm(&session).await?;
                return Err(refusal);
            }
        };
        let Some(adapter) = self.providers.get(session.provider) else {
            return Err(ApiError::new(
                409,
                "provider_not_configured",
                "this payment's provider is no longer configured",
            ));
        };
        let now = self.env.now_ms();
        let mut confirmed = confirmed;
        let mut counts_passed = 0;
        let started = loop {
            let started = match confirmed.advanced(Phase::Starting, now) {
                Ok(started) => started.with_wake_at(self.config.calls.lease_ms()),
                Err(_) => return Err(session_over()),
            };
            if self
                .store
                .swap(&started)
                .await
                .map_err(|e| ApiError::store(&e))?
            {
                break started;
            }
            let current = self.load(id).await?.ok_or_else(ApiError::not_found)?;
            if matches!(current.phase, Phase::Created) && counts_passed < MAX_COUNTS_PASSED {
                // Only a refused confirm's count moved it: this one still goes first.
                counts_passed += 1;
                confirmed = Session {
                    version: current.version,
                    confirm_attempts: current.confirm_attempts,
                    ..confirmed
                };
                continue;
            }
            // Another confirm won: answer what it did.
            let current = self
                .settled(current)
                .await
                .map_err(|e| ApiError::store(&e))?;
            return Ok(Response::json(200, &PaymentView::of(&current)));
        };
        tracing::info!(
            session = %started.id, provider = started.provider.as_str(),
            card = started.card.as_ref().map(tracing::field::display), "payment confirmed"
        );
        let step = self.first_step(adapter, &payment, &started).await;
        drop(payment);
        let session = match self.drive(adapter, started, step).await {
            Ok(Driven::Moved(s) | Driven::Refused(s, _)) => s,
            // A notification overtook the first answer: show what it stored.
            Ok(Driven::Lost(s)) => {
                let current = self.load(id).await?.unwrap_or(s);
                self.settled(current)
                    .await
                    .map_err(|e| ApiError::store(&e))?
            }
            Err(e) => return Err(ApiError::store(&e)),
        };
        Ok(Response::json(200, &PaymentView::of(&session)))
    }

    /// A confirm with the right secret that was refused before any provider call counts
    /// against `max_confirm_attempts`. Lost races count nothing extra.
    async fn count_refused_confirm(&self, session: &Session) -> Result<(), ApiError> {
        // Same phase, so the same wake-up time.
        let counted = Session {
            confirm_attempts: session.confirm_attempts + 1,
            version: session.version + 1,
            updated_at_ms: self.env.now_ms(),
            ..session.clone()
        };
        self.store
            .swap(&counted)
            .await
            .map(drop)
            .map_err(|e| ApiError::store(&e))
    }

    /// The page's `Origin` must be a configured checkout origin (and, once the payment
    /// has one, its own). Every page-facing POST checks it, so a form or a `text/plain`
    /// fetch from another site is refused whatever it carries.
    pub(super) fn check_page_origin(
        &self,
        request: &Request,
        payment: Option<&str>,
    ) -> Result<(), ApiError> {
        let allowed = match (request.header("origin"), payment) {
            (Some(origin), Some(own)) => origin == own,
            (Some(origin), None) => self.config.allows_origin(origin),
            (None, _) => false,
        };
        if allowed {
            Ok(())
        } else {
            Err(ApiError::new(
                403,
                "origin_not_allowed",
                "the request's Origin is not this payment's checkout origin",
            ))
        }
    }

    /// Whether `session`'s provider may take the browser to a full page of its own: not
    /// when the merchant authenticated the cardholder itself (no 3-D Secure step at all).
    pub(crate) fn full_page_steps(&self, session: &Session) -> bool {
        session.merchant.external_authentication.is_none()
            && self
                .providers
                .get(session.provider)
                .is_some_and(|adapter| adapter.limits().full_page_steps)
    }

    /// The confirm, checked, as what the adapter starts from and the session it is kept as.
    fn check_confirm(
        &self,
        session: &Session,
        body: ConfirmRequest,
        request: &Request,
    ) -> Result<(PaymentStart, Session), ApiError> {
        if !self.config.allows_origin(&body.checkout_origin)
            || request.header("origin") != Some(body.checkout_origin.as_str())
        {
            return Err(ApiError::new(
                403,
                "origin_not_allowed",
                "checkoutOrigin must be this request's Origin, a configured checkout origin",
            ));
        }
        let return_url = match (&session.return_url, body.return_url) {
            (Some(set), _) => Some(set.clone()),
            (None, Some(url)) => Some(self.check_return_url(&url)?),
            (None, None) => None,
        };
        match (&return_url, body.display) {
            (Some(url), _) if origin_of(url) != Some(body.checkout_origin.as_str()) => {
                return Err(ApiError::bad_request(
                    "invalid_return_url",
                    "returnUrl must be on the confirming page's origin",
                ))
            }
            (None, DisplayMode::Redirect) => {
                return Err(ApiError::bad_request(
                    "invalid_return_url",
                    "returnUrl is required for display redirect",
                ))
            }
            // Without it, a browser back from the provider's own page would be stranded on
            // the completion page, with no checkout page to tell.
            (None, DisplayMode::Iframe) if self.full_page_steps(session) => {
                return Err(ApiError::bad_request(
                    "invalid_return_url",
                    format!(
                        "returnUrl is required: {}'s 3-D Secure step is a page of its own",
                        session.provider.as_str()
                    ),
                ))
            }
            _ => {}
        }
        let window_size = match body.window_size.as_deref() {
            None => ChallengeWindowSize::FullScreen,
            Some(text) => ChallengeWindowSize::parse(text).map_err(|_| {
                ApiError::bad_request("invalid_window_size", "windowSize must be 01 to 05")
            })?,
        };
        if let PaymentMethod::Token { token, bin } = &body.payment_method {
            if token.is_empty() || token.len() > 512 {
                return Err(ApiError::bad_request(
                    "invalid_token",
                    "the token must be 1 to 512 characters",
                ));
            }
            let digits = |bin: &String| {
                (6..=8).contains(&bin.len()) && bin.bytes().all(|b| b.is_ascii_digit())
            };
            if bin.as_ref().is_some_and(|bin| !digits(bin)) {
                return Err(ApiError::bad_request(
                    "invalid_token",
                    "the token's bin must be the card's first 6 to 8 digits",
                ));
            }
        }
        // The Accept header, the IP (and the user agent, Accept-Language) are the
        // browser's own request's, never what the page claims. The page's fetch sends
        // `Accept: */*`: the merchant's server gives the header the browser sent with the
        // checkout page, where it has it.
        let server = ServerReadings {
            accept_header: session
                .merchant
                .browser_accept_header
                .clone()
                .or_else(|| request.header("accept").map(str::to_owned)),
            accept_language: request.header("accept-language").map(str::to_owned),
            user_agent: request.header("user-agent").map(str::to_owned),
            ip: request.peer_ip.map(|ip| ip.to_string()),
        };
        let browser = BrowserDetails::build(&body.browser.readings(), &server)
            .map_err(|e| ApiError::bad_request("invalid_browser_details", e.to_string()))?;
        let card = match &body.payment_method {
            PaymentMethod::Card(card) => Some(CardSummary::from(&card.number)),
            PaymentMethod::Token { .. } => None,
        };
        let confirmed = Session {
            checkout_origin: body.checkout_origin,
            display: body.display,
            return_url,
            card,
            ..session.clone()
        };
        let terms = &session.merchant;
        let payment = PaymentStart {
            order_id: session.order_id.clone(),
            amount: session.amount,
            currency: session.currency,
            description: terms.description.clone(),
            method: body.payment_method,
            payer: terms.payer.clone(),
            browser,
            challenge: terms.challenge_preference,
            display: body.display,
            window_size,
            external_authentication: terms.external_authentication.clone(),
            capture_mode: terms.capture_mode,
            exemption: terms.exemption,
        };
        Ok((payment, confirmed))
    }

    /// A stored session, brought up to date (expiry, resumption).
    pub(crate) async fn load(&self, id: &str) -> Result<Option<Session>, ApiError> {
        if !well_formed_id(id) {
            return Ok(None);
        }
        let Some(session) = self.store.load(id).await.map_err(|e| ApiError::store(&e))? else {
            return Ok(None);
        };
        self.settle(session)
            .await
            .map(Some)
            .map_err(|e| ApiError::store(&e))
    }

    /// `GET /v1/payments/{id}`: the merchant's view with the API key, the page's with
    /// the client secret (`X-Client-Secret`), 401 without either.
    pub(crate) async fn view(&self, id: &str, request: &Request) -> Result<Response, ApiError> {
        let reader = if request.header("authorization").is_some() {
            auth::merchant(request, &self.config.merchant_api_keys)?;
            Reader::Merchant
        } else if request.header(CLIENT_SECRET_HEADER).is_some() {
            Reader::Page
        } else {
            return Err(ApiError::new(
                401,
                "missing_credentials",
                "read a payment with the merchant's API key or the payment's clientSecret",
            ));
        };
        let session = self.load(id).await?.ok_or_else(ApiError::not_found)?;
        Ok(match reader {
            Reader::Merchant => {
                let operations = self
                    .settled_operations(&session.id, false)
                    .await
                    .map_err(|e| ApiError::store(&e))?;
                Response::json(200, &merchant_payment(&session, &operations))
            }
            Reader::Page => {
                auth::page(request.header(CLIENT_SECRET_HEADER), &session.client_secret)?;
                Response::json(200, &PaymentView::of(&session))
            }
        })
    }

    /// `POST /v1/payments/{id}/reconcile` (merchant): a payment in doubt (`unknown`) is
    /// looked up at the provider now, whenever its next lookup was due; any other payment
    /// is only brought up to date. Answers the merchant's view.
    pub(crate) async fn reconcile(
        &self,
        id: &str,
        request: &Request,
    ) -> Result<Response, ApiError> {
        auth::merchant(request, &self.config.merchant_api_keys)?;
        if !well_formed_id(id) {
            return Err(ApiError::not_found());
        }
        // Not `load`: it would settle first, and a lookup due would then run twice.
        let stored = self.store.load(id).await.map_err(|e| ApiError::store(&e))?;
        let session = stored.ok_or_else(ApiError::not_found)?;
        let session = self
            .reconcile_now(session)
            .await
            .map_err(|e| ApiError::store(&e))?;
        // And the payment's capture, void or refund in doubt, if any.
        let operations = self
            .settled_operations(&session.id, true)
            .await
            .map_err(|e| ApiError::store(&e))?;
        tracing::info!(session = %session.id, status = ?LifecycleStatus::of(&session.phase), "reconcile asked by the merchant");
        Ok(Response::json(
            200,
            &merchant_payment(&session, &operations),
        ))
    }

    /// `POST /v1/payments/{id}/method` (page).
    pub(crate) async fn method_completed(
        &self,
        id: &str,
        request: &Request,
    ) -> Result<Response, ApiError> {
        let body: MethodCompletion = parse_body(&request.body)?;
        let session = self.load(id).await?.ok_or_else(ApiError::not_found)?;
        auth::page(Some(&body.client_secret), &session.client_secret)?;
        self.check_page_origin(request, Some(&session.checkout_origin))?;
        let Phase::AwaitingBrowser {
            state,
            action: BrowserAction::Method { .. },
        } = &session.phase
        else {
            return Err(ApiError::new(
                409,
                "wrong_state",
                "this payment is not waiting for the 3DS Method",
            ));
        };
        let adapter = self.providers.get(session.provider).ok_or_else(|| {
            ApiError::new(
                409,
                "provider_not_configured",
                "this payment's provider is no longer configured",
            )
        })?;
        let step = adapter.on_method_completed(state, body.completion, &self.context(&session));
        let session = match self.drive(adapter, session.clone(), step).await {
            Ok(Driven::Moved(s) | Driven::Refused(s, _)) => s,
            Ok(Driven::Lost(_)) => {
                let current = self.load(id).await?.ok_or_else(ApiError::not_found)?;
                self.settled(current)
                    .await
                    .map_err(|e| ApiError::store(&e))?
            }
            Err(e) => return Err(ApiError::store(&e)),
        };
        Ok(Response::json(200, &PaymentView::of(&session)))
    }
}

/// A payment id as the backend mints them (32 hex digits): anything else names no payment.
fn well_formed_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn too_many_attempts() -> ApiError {
    ApiError::new(
        429,
        "too_many_attempts",
        "this payment takes no more confirm attempts; the merchant's server can create a new one",
    )
}

fn session_over() -> ApiError {
    ApiError::new(
        409,
        "wrong_state",
        "this payment can no longer be confirmed",
    )
}

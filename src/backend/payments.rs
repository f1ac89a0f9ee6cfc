//! The page's routes: start a payment, read it, report the 3DS Method. Each parses its
//! input into types first (a bad request changes nothing), then lets the driver move the
//! session, and answers the Payment view.

use super::api::{safe_message, ApiError, MethodCompletion, PaymentView, StartRequest};
use super::config::origin_of;
use super::driver::Driven;
use super::host::{random_hex, Env, Transport};
use super::http::{Request, Response};
use super::Backend;
use crate::emv::{BrowserDetails, ChallengeWindowSize, ServerReadings};
use crate::payment::{BrowserAction, CardSummary, DisplayMode, PaymentMethod, PaymentStart};
use crate::session::{Phase, Session};
use crate::store::{SessionStore, StoreError};

/// Longest order id accepted (every provider takes at least this many characters).
const MAX_ORDER_ID: usize = 64;

/// A start request, checked, with the session it will be stored as.
struct Checked {
    payment: PaymentStart,
    session: Session,
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// `POST /v1/payments`.
    pub(crate) async fn start(&self, request: &Request) -> Result<Response, ApiError> {
        let body: StartRequest = serde_json::from_slice(&request.body)
            .map_err(|e| ApiError::bad_request("invalid_request", safe_message(&e.to_string())))?;
        let Checked { payment, session } = self.check_start(body, request)?;
        let Some(adapter) = self.providers.get(session.provider) else {
            return Err(ApiError::bad_request(
                "provider_not_configured",
                format!(
                    "{} is not configured on this backend",
                    session.provider.as_str()
                ),
            ));
        };
        if let Some(existing) = self.existing(&session).await? {
            return Ok(existing);
        }
        match self.store.create(&session).await {
            Ok(()) => {}
            // Another start for this order won the race: answer as a double click.
            Err(StoreError::Duplicate) => {
                return match self.existing(&session).await? {
                    Some(existing) => Ok(existing),
                    None => Err(ApiError::new(
                        409,
                        "duplicate_payment",
                        "this order is being started",
                    )),
                }
            }
            Err(e) => return Err(ApiError::store(&e)),
        }
        tracing::info!(
            session = %session.id, provider = session.provider.as_str(), order = %session.order_id,
            card = ?session.card, "payment started"
        );
        let step = adapter.start(&payment, &self.context(&session));
        drop(payment);
        let id = session.id.clone();
        let session = match self.drive(adapter, session, step).await {
            Ok(Driven::Moved(s)) => s,
            // A notification overtook the first answer: show what it stored.
            Ok(Driven::Lost(s)) => {
                let current = self.load(&id).await?.unwrap_or(s);
                self.settled(current)
                    .await
                    .map_err(|e| ApiError::store(&e))?
            }
            Err(e) => return Err(ApiError::store(&e)),
        };
        Ok(Response::json(201, &PaymentView::of(&session)))
    }

    /// The stored session for this order: 200 with it when it is the same payment
    /// (a double click never makes a second provider call), 409 when it is not.
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
                "this order id was started with another amount or currency",
            ));
        }
        let existing = self
            .settle(existing)
            .await
            .map_err(|e| ApiError::store(&e))?;
        Ok(Some(Response::json(200, &PaymentView::of(&existing))))
    }

    fn check_start(&self, body: StartRequest, request: &Request) -> Result<Checked, ApiError> {
        if !self.config.allows_origin(&body.checkout_origin) {
            return Err(ApiError::new(
                403,
                "origin_not_allowed",
                "checkoutOrigin is not a configured checkout origin",
            ));
        }
        if request
            .header("origin")
            .is_some_and(|o| o != body.checkout_origin)
        {
            return Err(ApiError::new(
                403,
                "origin_not_allowed",
                "checkoutOrigin is not the origin of this request",
            ));
        }
        let order_ok = (1..=MAX_ORDER_ID).contains(&body.order_id.len())
            && body
                .order_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !order_ok {
            return Err(ApiError::bad_request(
                "invalid_order_id",
                "orderId must be 1 to 64 of A-Z a-z 0-9 - _ . :",
            ));
        }
        if body.amount == 0 {
            return Err(ApiError::bad_request(
                "invalid_amount",
                "amount must be above zero (minor units)",
            ));
        }
        if body.currency.len() != 3 || !body.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ApiError::bad_request(
                "invalid_currency",
                "currency must be an ISO 4217 code in upper case",
            ));
        }
        let return_url = match (body.display, body.return_url) {
            (_, Some(url)) if origin_of(&url) == Some(body.checkout_origin.as_str()) => Some(url),
            (_, Some(_)) => {
                return Err(ApiError::bad_request(
                    "invalid_return_url",
                    "returnUrl must be on the checkout origin",
                ))
            }
            (DisplayMode::Redirect, None) => {
                return Err(ApiError::bad_request(
                    "invalid_return_url",
                    "returnUrl is required for display redirect",
                ))
            }
            (DisplayMode::Iframe, None) => None,
        };
        let window_size = match body.window_size.as_deref() {
            None => ChallengeWindowSize::FullScreen,
            Some(text) => ChallengeWindowSize::parse(text).map_err(|_| {
                ApiError::bad_request("invalid_window_size", "windowSize must be 01 to 05")
            })?,
        };
        if let PaymentMethod::Token { token } = &body.payment_method {
            if token.is_empty() || token.len() > 512 {
                return Err(ApiError::bad_request(
                    "invalid_token",
                    "the token must be 1 to 512 characters",
                ));
            }
        }
        // The Accept header, the IP (and the user agent, Accept-Language) are the
        // browser's own request's, never what the page claims.
        let server = ServerReadings {
            accept_header: request.header("accept").map(str::to_owned),
            accept_language: request.header("accept-language").map(str::to_owned),
            user_agent: request.header("user-agent").map(str::to_owned),
            ip: request.peer_ip.map(|ip| ip.to_string()),
        };
        let browser = BrowserDetails::build(&body.browser.readings(), &server)
            .map_err(|e| ApiError::bad_request("invalid_browser_details", e.to_string()))?;
        let now = self.env.now_ms();
        let card = match &body.payment_method {
            PaymentMethod::Card(card) => Some(CardSummary::from(&card.number)),
            PaymentMethod::Token { .. } => None,
        };
        let session = Session {
            id: random_hex(&self.env),
            nonce: random_hex(&self.env),
            provider: body.provider,
            order_id: body.order_id.clone(),
            amount: body.amount,
            currency: body.currency.clone(),
            checkout_origin: body.checkout_origin,
            display: body.display,
            return_url,
            card,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(self.config.session_ttl_seconds.saturating_mul(1000)),
            updated_at_ms: now,
            version: 1,
            phase: Phase::Starting,
        };
        let payment = PaymentStart {
            order_id: body.order_id,
            amount: body.amount,
            currency: body.currency,
            description: body.description,
            method: body.payment_method,
            payer: body.payer,
            browser,
            challenge: body.challenge_preference,
            display: body.display,
            window_size,
            external_authentication: body.external_authentication,
        };
        Ok(Checked { payment, session })
    }

    /// A stored session, brought up to date (expiry, resumption).
    pub(crate) async fn load(&self, id: &str) -> Result<Option<Session>, ApiError> {
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
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

    /// `GET /v1/payments/{id}`.
    pub(crate) async fn view(&self, id: &str) -> Result<Response, ApiError> {
        let session = self.load(id).await?.ok_or_else(ApiError::not_found)?;
        Ok(Response::json(200, &PaymentView::of(&session)))
    }

    /// `POST /v1/payments/{id}/method`.
    pub(crate) async fn method_completed(
        &self,
        id: &str,
        request: &Request,
    ) -> Result<Response, ApiError> {
        let body: MethodCompletion = serde_json::from_slice(&request.body)
            .map_err(|e| ApiError::bad_request("invalid_request", safe_message(&e.to_string())))?;
        let session = self.load(id).await?.ok_or_else(ApiError::not_found)?;
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
            Ok(Driven::Moved(s)) => s,
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

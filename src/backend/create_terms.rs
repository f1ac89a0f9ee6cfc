//! The merchant's terms at create, checked before anything is stored: a term the backend
//! or the provider's API refuses is a 400 with its stable code now, not a failed payment
//! after the shopper typed a card.

use super::api::{ApiError, CreateRequest};
use super::auth;
use super::config::{ascii_url, origin_of};
use super::host::{random_hex, Env, Transport};
use super::providers::ProviderAdapter;
use super::Backend;
use crate::order::{Currency, InvalidTerm, OrderId};
use crate::payment::DisplayMode;
use crate::provider::CreateLimits;
use crate::session::{MerchantTerms, Phase, Session};
use crate::store::SessionStore;

/// Largest amount accepted, in minor units: 2^53 - 1, the largest integer a JSON reader
/// in JavaScript (the page, an edge worker) still reads exactly.
pub const MAX_AMOUNT: u64 = (1 << 53) - 1;
/// Longest return URL accepted (bytes).
pub const MAX_RETURN_URL: usize = 2048;
/// Longest description accepted (characters, as docs/openapi.yaml's `maxLength` counts).
const MAX_DESCRIPTION: usize = 255;
/// EMV's `browserAcceptHeader` is at most 2,048 characters.
const MAX_ACCEPT_HEADER: usize = 2048;

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// The session `body` creates, or the first term refused: the 3-D Secure options the
    /// provider can carry, the order id, the amount, the currency, what the provider's API
    /// refuses whatever the card ([`crate::provider::RefusedTerm`]), the description, the
    /// return URL and the browser's Accept header.
    pub(super) fn check_create(
        &self,
        adapter: &dyn ProviderAdapter,
        body: CreateRequest,
    ) -> Result<Session, ApiError> {
        let limits = &adapter.limits();
        check_options(limits, &body)?;
        let order_id = OrderId::parse(&body.order_id).map_err(refused_term)?;
        if let Some(max) = limits
            .max_order_id_chars
            .filter(|max| order_id.as_str().chars().count() > *max)
        {
            // Refused now, not at the confirm, after the shopper typed the card.
            return Err(ApiError::bad_request(
                "invalid_order_id",
                format!(
                    "orderId is longer than {}'s {max} characters",
                    body.provider.as_str(),
                ),
            ));
        }
        if body.amount == 0 || body.amount > MAX_AMOUNT {
            return Err(ApiError::bad_request(
                "invalid_amount",
                "amount must be above zero and at most 2^53 - 1 (minor units)",
            ));
        }
        if let Some(max) = limits.max_amount_minor.filter(|max| body.amount > *max) {
            return Err(ApiError::bad_request(
                "invalid_amount",
                format!(
                    "amount is above {}'s largest amount, {max} minor units",
                    body.provider.as_str(),
                ),
            ));
        }
        let currency = Currency::parse(&body.currency).map_err(refused_term)?;
        let external = body.external_authentication.as_ref();
        if let Some(refused) = adapter.refuses_terms(&currency, &body.payer, external) {
            return Err(ApiError::bad_request(refused.code, refused.message));
        }
        if body
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION || d.chars().any(char::is_control))
        {
            return Err(ApiError::bad_request(
                "invalid_description",
                "description must be at most 255 characters, without control characters",
            ));
        }
        let return_url = match &body.return_url {
            Some(url) => Some(self.check_return_url(url)?),
            None => None,
        };
        if body.browser_accept_header.as_ref().is_some_and(|h| {
            h.chars().count() > MAX_ACCEPT_HEADER || h.chars().any(char::is_control)
        }) {
            return Err(ApiError::bad_request(
                "invalid_browser_details",
                "browserAcceptHeader must be at most 2048 characters, without control characters",
            ));
        }
        // Blank says nothing: the confirm's own Accept header is used then.
        let browser_accept_header = body.browser_accept_header.filter(|h| !h.trim().is_empty());
        let now = self.env.now_ms();
        let id = random_hex(&self.env);
        Ok(Session {
            client_secret: auth::mint_client_secret(&id, self.env.random_u128()),
            id,
            nonce: random_hex(&self.env),
            provider: body.provider,
            order_id,
            amount: body.amount,
            currency,
            merchant: MerchantTerms {
                description: body.description,
                payer: body.payer,
                challenge_preference: body.challenge_preference,
                external_authentication: body.external_authentication,
                capture_mode: body.capture_mode,
                exemption: body.exemption,
                browser_accept_header,
            },
            checkout_origin: String::new(),
            display: DisplayMode::Iframe,
            return_url,
            confirm_attempts: 0,
            return_reference: None,
            card: None,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(self.config.session_ttl_seconds.saturating_mul(1000)),
            updated_at_ms: now,
            wake_at_ms: None,
            version: 1,
            phase: Phase::Created,
        }
        .with_wake_at(self.config.calls.lease_ms()))
    }

    /// A return URL the browser may be sent to: http(s), on a configured checkout
    /// origin, at most 2,048 bytes, no control characters (a CR/LF would split the
    /// `Location` header it ends up in); answered as it is kept, in ASCII
    /// ([`ascii_url`]).
    pub(super) fn check_return_url(&self, url: &str) -> Result<String, ApiError> {
        if url.len() > MAX_RETURN_URL || url.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "invalid_return_url",
                "returnUrl must be at most 2048 bytes, without control characters",
            ));
        }
        match origin_of(url) {
            Some(origin) if self.config.allows_origin(origin) => Ok(ascii_url(url)),
            _ => Err(ApiError::bad_request(
                "invalid_return_url",
                "returnUrl must be an http(s) URL on a configured checkout origin",
            )),
        }
    }
}

/// The 3-D Secure request options the provider's API can carry (`provider::exemption`,
/// its adapter's `limits`).
fn check_options(limits: &CreateLimits, body: &CreateRequest) -> Result<(), ApiError> {
    use crate::provider::exemption;
    exemption::check_challenge(body.provider, limits, body.challenge_preference)
        .map_err(|no| ApiError::bad_request(exemption::CHALLENGE_UNSUPPORTED, no.message))?;
    exemption::check(
        body.provider,
        limits,
        body.exemption,
        body.challenge_preference,
    )
    .map_err(|no| ApiError::bad_request(exemption::UNSUPPORTED, no.message))
}

/// An order id or currency the merchant's server got wrong: 400 with its stable code.
fn refused_term(refused: InvalidTerm) -> ApiError {
    ApiError::bad_request(refused.code, refused.message)
}

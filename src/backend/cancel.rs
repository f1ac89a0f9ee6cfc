//! `POST /v1/payments/{id}/cancel`: the merchant's server (API key) or the checkout page
//! (client secret) ends a payment `cancelled` now, instead of leaving it pending until it
//! expires. Only where nothing can have been charged: a payment not yet confirmed
//! (`Created`) or waiting on the browser where the next money call is ours to make ends
//! at once (compare-and-set, so of a cancel and a racing confirm or return exactly one
//! wins); a provider that may still charge on its own is cancelled there first
//! ([`crate::provider::Adapter::on_cancel`]: dLocal). A provider call under way or in
//! doubt is money in doubt: 409 `payment_in_progress`, nothing changes.
//!
//! A repeated cancel answers the cancelled payment again (200); a payment that ended
//! otherwise first answers 409 `payment_final`. Every 409 carries the payment's view as
//! `payment`, so the caller learns how it stands without another read.

use serde::Deserialize;

use super::api::{ApiError, MerchantView, PaymentView};
use super::auth;
use super::host::{Env, Transport};
use super::http::{Request, Response};
use super::payments::CLIENT_SECRET_HEADER;
use super::Backend;
use crate::payment::Canceller;
use crate::provider::Step;
use crate::session::{Phase, Session};
use crate::store::SessionStore;

/// How many times a cancel asks again after losing its step to another actor.
const MAX_ROUNDS: usize = 3;

/// The page's body: its client secret (or in `X-Client-Secret`), nothing else. The
/// merchant's body is empty or `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CancelRequest {
    #[serde(default)]
    client_secret: Option<String>,
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    /// `POST /v1/payments/{id}/cancel` (merchant or page).
    pub(crate) async fn cancel(&self, id: &str, request: &Request) -> Result<Response, ApiError> {
        let by = if request.header("authorization").is_some() {
            auth::merchant(request, &self.config.merchant_api_keys)?;
            Canceller::Merchant
        } else {
            Canceller::Shopper
        };
        let body: CancelRequest = if request.body.iter().all(u8::is_ascii_whitespace) {
            CancelRequest::default()
        } else {
            super::api::parse_body(&request.body)?
        };
        let loaded = self.load(id).await?.ok_or_else(ApiError::not_found)?;
        if by == Canceller::Shopper {
            let presented = body
                .client_secret
                .as_deref()
                .or(request.header(CLIENT_SECRET_HEADER));
            auth::page(presented, &loaded.client_secret)?;
            let own = Some(loaded.checkout_origin.as_str()).filter(|o| !o.is_empty());
            self.check_page_origin(request, own)?;
        }
        // A call under way (a racing confirm, a notification): where it lands decides.
        let mut session = self
            .settled(loaded)
            .await
            .map_err(|e| ApiError::store(&e))?;
        // A cancel that lost a race to a step leading to another browser step asks again.
        for _ in 0..MAX_ROUNDS {
            let step = match &session.phase {
                Phase::Created => Step::Done(by.result()),
                Phase::AwaitingBrowser { state, .. } => {
                    match self.providers.get(session.provider) {
                        Some(adapter) => adapter.on_cancel(state, by, &self.context(&session)),
                        // No adapter to ask whether the provider may still charge on its own.
                        None => return Err(in_progress(by, &session)),
                    }
                }
                _ => break,
            };
            tracing::info!(session = %session.id, by = ?by, "cancel asked");
            let moved = self.drive_on(session, step).await;
            let moved = moved.map_err(|e| ApiError::store(&e))?;
            session = self.settled(moved).await.map_err(|e| ApiError::store(&e))?;
        }
        match session.result() {
            Some(result) if Canceller::ended(result) => {
                Ok(Response::json(200, &view(by, &session)))
            }
            Some(result) => Err(conflict(
                "payment_final",
                format!("the payment had already ended {}", result.status.as_str()),
                by,
                &session,
            )),
            None => Err(in_progress(by, &session)),
        }
    }
}

/// The view `by` may read: the merchant's or the page's.
fn view(by: Canceller, session: &Session) -> serde_json::Value {
    let value = match by {
        Canceller::Merchant => super::http::to_value(&MerchantView::of(session)),
        Canceller::Shopper => super::http::to_value(&PaymentView::of(session)),
    };
    value.unwrap_or_default()
}

/// A 409 whose body also carries the payment's view (`payment`).
fn conflict(code: &'static str, message: String, by: Canceller, session: &Session) -> ApiError {
    ApiError {
        payment: Some(view(by, session)),
        ..ApiError::new(409, code, message)
    }
}

/// A provider call is under way or its outcome is unknown: the provider may have
/// charged, so the payment is not cancelled; its result will say.
fn in_progress(by: Canceller, session: &Session) -> ApiError {
    conflict(
        "payment_in_progress",
        "a provider call for this payment is under way or in doubt: it cannot be cancelled \
         now; read the payment for its result"
            .into(),
        by,
        session,
    )
}

//! Payroc's Bearer token: the identity service's request, reading its answer, and the
//! adapter's cache of it (the one thing a `PayrocAdapter` keeps, safe to lose), replaced
//! [`TOKEN_REFRESH_MARGIN_MS`] before it expires, as Payroc's SDK does.

use std::sync::{Mutex, MutexGuard};

use super::outcome::answer_of;
use super::{wire, Config, PayrocAdapter, TOKEN_REFRESH_MARGIN_MS};
use crate::payment::PaymentResult;
use crate::provider::answer::{self, Answer};
use crate::provider::{Context, HttpMethod, HttpRequest, HttpResponse, TransportFailure};

pub(super) struct CachedToken {
    access_token: String,
    expires_at_ms: u64,
    /// When it was issued: a 401 to a token this young is not a revoked token.
    issued_at_ms: u64,
}

impl PayrocAdapter {
    pub(super) fn identity_request(&self) -> HttpRequest {
        HttpRequest {
            method: HttpMethod::Post,
            url: Config::url(&self.config.identity_url, "/authorize"),
            headers: vec![(
                "x-api-key".to_owned(),
                self.config.api_key.expose().to_owned(),
            )],
            body: None,
            // It only issues a token: asking twice is harmless.
            retry_safe: true,
            purpose: "payroc.authorize",
        }
    }

    /// The cached token, if it is not within [`TOKEN_REFRESH_MARGIN_MS`] of expiring.
    pub(super) fn bearer(&self, now_ms: u64) -> Option<String> {
        self.cached_token(now_ms.saturating_add(TOKEN_REFRESH_MARGIN_MS))
    }

    /// The cached token, if it is still valid at `at_ms`.
    pub(super) fn cached_token(&self, at_ms: u64) -> Option<String> {
        lock(&self.token)
            .as_ref()
            .filter(|t| at_ms < t.expires_at_ms)
            .map(|t| t.access_token.clone())
    }

    pub(super) fn remember_token(&self, access_token: &str, expires_at_ms: u64, issued_at_ms: u64) {
        *lock(&self.token) = Some(CachedToken {
            access_token: access_token.to_owned(),
            expires_at_ms,
            issued_at_ms,
        });
    }

    /// When the cached token was issued, if one is cached.
    pub(super) fn token_issued_at(&self) -> Option<u64> {
        lock(&self.token).as_ref().map(|t| t.issued_at_ms)
    }

    pub(super) fn forget_token(&self) {
        *lock(&self.token) = None;
    }

    /// Reads the identity service's answer and caches the token: the token, or the
    /// result a payment waiting for it ends with.
    pub(super) fn read_access_token(
        &self,
        response: Result<HttpResponse, TransportFailure>,
        cx: &Context,
    ) -> Result<String, PaymentResult> {
        let body = match answer_of(response) {
            Answer::Found(found) => found.body,
            Answer::Refused { error, .. } => return Err(answer::rejected(&error)),
            Answer::Lost(lost) => return Err(lost.result()),
        };
        let token = match crate::json_path::from_text::<wire::AccessToken>(&body) {
            Ok(token)
                if !token.access_token.is_empty()
                    && token.access_token.bytes().all(|b| b.is_ascii_graphic())
                    && token.expires_in > 0
                    && token
                        .token_type
                        .as_deref()
                        .is_none_or(|t| t.eq_ignore_ascii_case("bearer")) =>
            {
                token
            }
            _ => {
                return Err(answer::bad_response(
                    "the identity service's answer is not a usable Bearer token",
                ))
            }
        };
        let expires_at_ms = cx
            .now_ms
            .saturating_add(token.expires_in.saturating_mul(1000));
        self.remember_token(&token.access_token, expires_at_ms, cx.now_ms);
        Ok(token.access_token)
    }
}

/// The cache's lock; a thread that panicked holding it left a token or none, both fine.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

//! The provider-agnostic payment flow: a payment session, the phases it goes through,
//! and the rules for moving between them. Pure: the host persists sessions through a
//! `SessionStore` and moves them with compare-and-set, so that two actors (a return and
//! a webhook, a double click, a replayed callback) can never both advance the same step.

use serde::{Deserialize, Serialize};

use crate::payment::{
    BrowserAction, CardSummary, ChallengePreference, DisplayMode, ExternalAuthentication, Payer,
    PaymentResult, ProviderKind,
};

/// An adapter's state between steps, as stored: opaque to the session, typed again by
/// the adapter that wrote it (`Adapter::State`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdapterState(pub serde_json::Value);

/// Where a payment is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The merchant's server created the payment; the checkout page has not confirmed it
    /// (no payment method yet, no provider call). Only a confirm with the payment's
    /// client secret moves it on.
    Created,
    /// Confirmed; the adapter has not taken its first step. Card details exist only in the
    /// memory of the request that started the payment: a session left here by a stopped
    /// process can only end as an error (nothing was sent).
    Starting,
    /// A provider call is under way, or was when the process stopped: `state` is what the
    /// adapter was waiting for, so the call can be rebuilt and repeated with the same
    /// idempotency key.
    Calling {
        state: AdapterState,
        purpose: String,
    },
    /// The browser must do `action` and come back.
    AwaitingBrowser {
        state: AdapterState,
        action: BrowserAction,
    },
    /// Over. A final phase never changes again.
    Final { result: PaymentResult },
}

impl Phase {
    pub fn is_final(&self) -> bool {
        matches!(self, Phase::Final { .. })
    }
}

/// One payment attempt, as stored. Holds no PAN, CVV or credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// 128 random bits from the host, as 32 lowercase hex digits.
    pub id: String,
    /// Echoed by the completion page's postMessage, so the page can tell its own.
    pub nonce: String,
    /// What the checkout page proves it holds to confirm and read this payment
    /// (`{id}_secret_{32 hex}`, minted at create, given to the merchant's server only).
    #[serde(default)]
    pub client_secret: String,
    pub provider: ProviderKind,
    pub order_id: String,
    /// Minor units.
    pub amount: u64,
    pub currency: String,
    /// What the merchant's server set at create; the page can change none of it.
    #[serde(default)]
    pub merchant: MerchantTerms,
    /// The checkout page's origin: the only target of completion messages and CORS.
    /// Empty until the page confirms (it is the confirming request's origin).
    pub checkout_origin: String,
    pub display: DisplayMode,
    /// Where the browser goes back to after a full-page redirect (display `redirect`).
    #[serde(default)]
    pub return_url: Option<String>,
    /// Confirms the page sent with the right client secret that the backend refused
    /// before any provider call (bad card data, bad browser details); capped by
    /// `BackendConfig::max_confirm_attempts`.
    #[serde(default)]
    pub confirm_attempts: u32,
    pub card: Option<CardSummary>,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
    /// When the phase last changed: a `Calling` phase older than the host's call budget
    /// was left by a stopped process and may be resumed.
    #[serde(default)]
    pub updated_at_ms: u64,
    /// Bumped on every change; compare-and-set is on this number.
    pub version: u64,
    pub phase: Phase,
}

/// The payment's terms as the merchant's server created them, beyond amount and order:
/// kept until the page confirms, then handed to the adapter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MerchantTerms {
    pub description: Option<String>,
    pub payer: Payer,
    pub challenge_preference: ChallengePreference,
    pub external_authentication: Option<ExternalAuthentication>,
}

/// Why a session may not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("the payment is already final")]
    AlreadyFinal,
    #[error("the session has expired")]
    Expired,
}

impl Session {
    /// The session after it moves to `phase`, or why it may not: a final session never
    /// changes, and an expired one may only become final.
    pub fn advanced(&self, phase: Phase, now_ms: u64) -> Result<Session, TransitionError> {
        if self.phase.is_final() {
            return Err(TransitionError::AlreadyFinal);
        }
        if now_ms >= self.expires_at_ms && !phase.is_final() {
            return Err(TransitionError::Expired);
        }
        Ok(Session {
            version: self.version + 1,
            updated_at_ms: now_ms,
            phase,
            ..self.clone()
        })
    }

    pub fn result(&self) -> Option<&PaymentResult> {
        match &self.phase {
            Phase::Final { result } => Some(result),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payment::{PaymentStatus, ResultCode};

    fn session(phase: Phase) -> Session {
        Session {
            id: "0123456789abcdef0123456789abcdef".into(),
            nonce: "n".into(),
            client_secret: String::new(),
            provider: ProviderKind::Bambora,
            order_id: "o-1".into(),
            amount: 1000,
            currency: "USD".into(),
            merchant: MerchantTerms::default(),
            checkout_origin: "http://127.0.0.1:8080".into(),
            display: DisplayMode::Iframe,
            return_url: None,
            confirm_attempts: 0,
            card: None,
            created_at_ms: 0,
            expires_at_ms: 1_000,
            updated_at_ms: 0,
            version: 7,
            phase,
        }
    }

    fn calling() -> Phase {
        Phase::Calling {
            state: AdapterState(serde_json::json!({"step": "x"})),
            purpose: "bambora.payment".into(),
        }
    }

    #[test]
    fn final_never_moves() {
        let done = session(Phase::Final {
            result: PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined),
        });
        assert_eq!(
            done.advanced(calling(), 0),
            Err(TransitionError::AlreadyFinal)
        );
    }

    #[test]
    fn version_bumps_and_expiry_allows_only_final() {
        let s = session(calling());
        assert_eq!(s.advanced(calling(), 10).unwrap().version, 8);
        assert_eq!(s.advanced(calling(), 1_000), Err(TransitionError::Expired));
        let expired = Phase::Final {
            result: PaymentResult::failed(PaymentStatus::Error, ResultCode::SessionExpired),
        };
        assert!(s.advanced(expired, 5_000).unwrap().phase.is_final());
    }
}

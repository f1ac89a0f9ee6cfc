//! The provider-agnostic payment flow: a payment session, the phases it goes through,
//! and the rules for moving between them. Pure: the host persists sessions through a
//! `SessionStore` and moves them with compare-and-set, so that two actors (a return and
//! a webhook, a double click, a replayed callback) can never both advance the same step.

use serde::{Deserialize, Serialize};

mod stored;

use crate::order::{Currency, OrderId};
use crate::payment::{
    BrowserAction, CaptureMode, CardSummary, ChallengePreference, DisplayMode,
    ExternalAuthentication, Payer, PaymentResult, ProviderKind,
};

/// An adapter's state between steps, as stored: opaque to the session, typed again by
/// the adapter that wrote it (`Adapter::State`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AdapterState(pub serde_json::Value);

/// Where a payment is. Stored as its derived `Serialize` writes it (tagged by `phase`),
/// read back by hand (`stored.rs`: smaller than the derive's reading of that shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// A money-moving call's answer was lost: the provider may or may not have charged.
    /// The payment waits here, never expiring, until a lookup by the reference that was
    /// sent (`Adapter::reconcile`) finds the provider's truth. `lookups` made so far got
    /// no answer, or found nothing too soon to be believed; the next is due at
    /// `next_lookup_at_ms`.
    Unknown {
        state: AdapterState,
        /// The call whose answer was lost (`payroc.sale`, …).
        purpose: String,
        lookups: u32,
        next_lookup_at_ms: u64,
        /// When the call whose answer was lost was last sent: a lookup that finds nothing is
        /// believed only `reconcile.not_found_after_ms` after it. A session stored without
        /// it reads its `updated_at_ms` here (`stored.rs`).
        since_ms: u64,
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

    /// Whether a money-moving call may be in flight or have an unknown outcome: such a
    /// session keeps moving past its expiry, until the provider's truth is known.
    pub fn money_in_doubt(&self) -> bool {
        matches!(self, Phase::Calling { .. } | Phase::Unknown { .. })
    }
}

/// One payment attempt, as stored. Holds no PAN, CVV or credential.
/// Stored as its derived `Serialize` writes it, read back by hand (`stored.rs`: from the
/// stored object's members, as its phase is, rather than by a second, text-reading copy of
/// the derive's code).
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub order_id: OrderId,
    /// Minor units.
    pub amount: u64,
    pub currency: Currency,
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
    /// The provider's reference of the return to its own route that last moved this
    /// payment (Payroc's `mpiReference`): that route answers a payment no longer waiting
    /// only for a return that repeats it, as anyone can name an order id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_reference: Option<String>,
    pub card: Option<CardSummary>,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
    /// When the phase last changed: a `Calling` phase older than the host's call budget
    /// was left by a stopped process and may be resumed.
    #[serde(default)]
    pub updated_at_ms: u64,
    /// When the backend must look at this session without being asked (the reconciler's
    /// sweep): the expiry of a session waiting on the page or the cardholder, the end of
    /// the call lease of one in a call, the next lookup of one in doubt; `None` once
    /// final. Set by the host on every write (`Session::with_wake_at`); stores index it.
    #[serde(default)]
    pub wake_at_ms: Option<u64>,
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
    pub capture_mode: CaptureMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exemption: Option<crate::payment::Exemption>,
    /// The `Accept` header of the shopper's browser as the merchant's server received it
    /// with the checkout page (EMV `browserAcceptHeader`): the page's own fetch sends
    /// `*/*`, not what the browser sends for a page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser_accept_header: Option<String>,
}

impl MerchantTerms {
    /// Whether `other` sets the same terms: all but the browser's Accept header, which is
    /// the shopper's browser's, not the merchant's (a create retried from another page
    /// load of the same checkout may carry another).
    pub fn same_terms(&self, other: &MerchantTerms) -> bool {
        let without_accept = |terms: &MerchantTerms| MerchantTerms {
            browser_accept_header: None,
            ..terms.clone()
        };
        without_accept(self) == without_accept(other)
    }
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
        // Past its expiry a session may still end, fall into doubt (a charge that may
        // have happened must be looked up), or go on with a call in flight or in doubt.
        let finishing_a_call = matches!(phase, Phase::Unknown { .. })
            || (self.phase.money_in_doubt() && phase.money_in_doubt());
        if now_ms >= self.expires_at_ms && !phase.is_final() && !finishing_a_call {
            return Err(TransitionError::Expired);
        }
        Ok(Session {
            version: self.version + 1,
            updated_at_ms: now_ms,
            phase,
            ..self.clone()
        })
    }

    /// This session with [`Session::wake_at_ms`] set for its phase; `lease_ms` is how
    /// long a call may take before it counts as abandoned by a stopped process.
    pub fn with_wake_at(mut self, lease_ms: u64) -> Session {
        self.wake_at_ms = match &self.phase {
            Phase::Created | Phase::AwaitingBrowser { .. } => Some(self.expires_at_ms),
            Phase::Starting | Phase::Calling { .. } => {
                Some(self.updated_at_ms.saturating_add(lease_ms))
            }
            Phase::Unknown {
                next_lookup_at_ms, ..
            } => Some(*next_lookup_at_ms),
            Phase::Final { .. } => None,
        };
        self
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
            order_id: OrderId::parse("o-1").unwrap(),
            amount: 1000,
            currency: Currency::parse("USD").unwrap(),
            merchant: MerchantTerms::default(),
            checkout_origin: "http://127.0.0.1:8080".into(),
            display: DisplayMode::Iframe,
            return_url: None,
            confirm_attempts: 0,
            return_reference: None,
            card: None,
            created_at_ms: 0,
            expires_at_ms: 1_000,
            updated_at_ms: 0,
            wake_at_ms: None,
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

    fn unknown(next_lookup_at_ms: u64) -> Phase {
        Phase::Unknown {
            state: AdapterState(serde_json::json!({"step": "x"})),
            purpose: "bambora.payment".into(),
            lookups: 0,
            next_lookup_at_ms,
            since_ms: 0,
        }
    }

    fn waiting() -> Phase {
        Phase::AwaitingBrowser {
            state: AdapterState(serde_json::json!({"step": "x"})),
            action: crate::payment::BrowserAction::Redirect {
                form: crate::emv::FormPost::post("https://acs.example/", []),
            },
        }
    }

    #[test]
    fn version_bumps_and_expiry_allows_only_final_or_finishing_a_call() {
        let s = session(waiting());
        assert_eq!(s.advanced(calling(), 10).unwrap().version, 8);
        assert_eq!(s.advanced(calling(), 1_000), Err(TransitionError::Expired));
        let expired = Phase::Final {
            result: PaymentResult::failed(PaymentStatus::Error, ResultCode::SessionExpired),
        };
        assert!(s.advanced(expired, 5_000).unwrap().phase.is_final());
        // A call in flight or in doubt may still end in a lookup after the expiry ...
        let in_call = session(calling());
        assert!(in_call.advanced(unknown(9_000), 5_000).is_ok());
        assert!(session(unknown(1)).advanced(calling(), 5_000).is_ok());
        assert!(session(waiting()).advanced(unknown(9_000), 5_000).is_ok());
        // ... but never hand the cardholder a new step.
        assert_eq!(
            in_call.advanced(waiting(), 5_000),
            Err(TransitionError::Expired)
        );
    }

    #[test]
    fn the_sweep_wakes_each_phase_when_it_needs_the_backend() {
        let lease = 60_000;
        let mut s = session(waiting());
        s.updated_at_ms = 500;
        assert_eq!(s.clone().with_wake_at(lease).wake_at_ms, Some(1_000));
        s.phase = calling();
        assert_eq!(s.clone().with_wake_at(lease).wake_at_ms, Some(60_500));
        s.phase = unknown(7_777);
        assert_eq!(s.clone().with_wake_at(lease).wake_at_ms, Some(7_777));
        s.phase = Phase::Final {
            result: PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined),
        };
        assert_eq!(s.with_wake_at(lease).wake_at_ms, None);
    }

    /// The stored shape is the derived `Serialize`'s (tag `phase`), read back by hand
    /// (`stored.rs`): every phase, in a session read from text (as the stores read it) and
    /// from a JSON value; a missing member (but a null one) or an unknown phase is refused.
    /// A doubt stored without the time of its call (before `since_ms` was kept, or by an
    /// older instance on a shared store) counts from the session's last write, so a lookup
    /// that finds nothing is not believed at once.
    #[test]
    fn a_doubt_stored_without_its_call_time_counts_from_its_last_write() {
        let mut doubt = session(unknown(9_000));
        doubt.updated_at_ms = 7_000;
        let mut stored = serde_json::to_value(&doubt).unwrap();
        stored["phase"].as_object_mut().unwrap().remove("since_ms");
        let read = Session::from_text(&stored.to_string()).unwrap();
        let Phase::Unknown { since_ms, .. } = read.phase else {
            panic!("in doubt: {read:?}");
        };
        assert_eq!(since_ms, 7_000);
        // One that has it keeps it.
        let Phase::Unknown { since_ms, .. } = Session::from_text(
            &serde_json::to_string(&Session {
                phase: Phase::Unknown {
                    state: AdapterState(serde_json::json!({"step": "x"})),
                    purpose: "bambora.payment".into(),
                    lookups: 0,
                    next_lookup_at_ms: 9_000,
                    since_ms: 6_500,
                },
                ..doubt
            })
            .unwrap(),
        )
        .unwrap()
        .phase
        else {
            panic!("in doubt");
        };
        assert_eq!(since_ms, 6_500);
    }

    #[test]
    fn every_phase_reads_back_as_it_was_written() {
        let phases = [
            Phase::Created,
            Phase::Starting,
            calling(),
            unknown(5),
            waiting(),
            Phase::Final {
                result: PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined),
            },
        ];
        for phase in phases {
            let stored = session(phase.clone());
            let text = serde_json::to_string(&stored).unwrap();
            assert_eq!(
                serde_json::from_str::<Session>(&text).unwrap(),
                stored,
                "{text}"
            );
            let value = serde_json::to_value(&phase).unwrap();
            assert_eq!(Phase::deserialize(&value).unwrap(), phase);
            let serde_json::Value::Object(members) = value else {
                panic!("an object");
            };
            for (name, value) in members.iter().filter(|(name, _)| *name != "phase") {
                let mut without = members.clone();
                without.remove(name);
                let read = serde_json::from_value::<Phase>(without.into());
                // A doubt stored before the time of its call was kept reads as 0.
                assert_eq!(
                    read.is_err(),
                    !value.is_null() && name != "since_ms",
                    "{name} missing: {members:?}"
                );
            }
            let mut unknown = members.clone();
            unknown.insert("phase".into(), "levitating".into());
            assert!(serde_json::from_value::<Phase>(unknown.into()).is_err());
        }
        assert!(serde_json::from_str::<Phase>(r#"["created"]"#).is_err());
    }

    /// A session of every phase, each member set, read back by hand (`stored.rs`) as the
    /// derive read it, at every depth (`provider::stored_checks`): a missing member is
    /// refused unless the derive defaulted it or it is an `Option`, an unknown phase or
    /// action type too, an unknown member ignored.
    #[test]
    fn every_session_reads_as_the_derive_read_it() {
        let opaque = || AdapterState(serde_json::json!("adapter state"));
        let mut result = PaymentResult::failed(PaymentStatus::Declined, ResultCode::Declined)
            .with_provider_error("05", "Do not honour");
        result.provider_payment_id = Some("pay-1".into());
        result.three_ds_version = Some("2.2.0".into());
        result.trans_status = Some(crate::emv::TransStatus::N);
        result.eci = crate::emv::Eci::new(7);
        result.trans_status_reason = crate::emv::TransStatusReason::parse("01").ok();
        assert!(result.trans_status_reason.is_some());
        let phases = [
            Phase::Created,
            Phase::Starting,
            Phase::Calling {
                state: opaque(),
                purpose: "paysafe.authorize".into(),
            },
            Phase::Unknown {
                state: opaque(),
                purpose: "paysafe.authorize".into(),
                lookups: 2,
                next_lookup_at_ms: 9_000,
                since_ms: 4_000,
            },
            Phase::AwaitingBrowser {
                state: opaque(),
                action: crate::payment::BrowserAction::Redirect {
                    form: crate::emv::FormPost::post("https://acs.example/", []),
                },
            },
            Phase::Final { result },
        ];
        let merchant = MerchantTerms {
            description: Some("Two books".into()),
            payer: crate::payment::Payer {
                name: Some("Jo Doe".into()),
                email: Some("jo@example.com".into()),
                document: Some("53033315550".into()),
                country: Some("BR".into()),
            },
            challenge_preference: ChallengePreference::Requested,
            external_authentication: Some(ExternalAuthentication {
                version: "2.2.0".into(),
                trans_status: crate::emv::TransStatus::Y,
                eci: crate::emv::Eci::new(5).unwrap(),
                cavv: "AAABBEg0VhI0VniQEjRWAAAAAAA=".into(),
                xid: Some("eGlk".into()),
                ds_transaction_id: Some("f25084f0".into()),
            }),
            capture_mode: CaptureMode::Manual,
            exemption: Some(crate::payment::Exemption::LowValue),
            browser_accept_header: Some("text/html,application/xhtml+xml".into()),
        };
        let sessions: Vec<Session> = phases
            .into_iter()
            .map(|phase| Session {
                client_secret: "0123_secret_4567".into(),
                merchant: merchant.clone(),
                return_url: Some("https://shop.example/back".into()),
                confirm_attempts: 1,
                return_reference: Some("mpiRef42".into()),
                card: Some(CardSummary {
                    brand: crate::emv::CardBrand::Visa,
                    bin: "400000".into(),
                    last_four: "1000".into(),
                }),
                updated_at_ms: 500,
                wake_at_ms: Some(1_000),
                ..session(phase)
            })
            .collect();
        let defaulted = [
            "client_secret",
            "merchant",
            "return_url",
            "confirm_attempts",
            "return_reference",
            "card",
            "updated_at_ms",
            "wake_at_ms",
        ];
        crate::provider::stored_checks::assert_reads_as_the_derive(
            &sessions,
            &["phase", "type"],
            |path, name| match path.first().map(String::as_str) {
                None => defaulted.contains(&name),
                Some("merchant") => {
                    path.len() == 1
                        || path[1] == "payer"
                        || matches!(name, "xid" | "dsTransactionId")
                }
                Some("phase") => matches!(
                    name,
                    "providerPaymentId"
                        | "threeDsVersion"
                        | "transStatus"
                        | "eci"
                        | "transStatusReason"
                        | "error"
                        | "providerCode"
                        | "providerMessage"
                        // A doubt stored before the time of its call was kept.
                        | "since_ms"
                ),
                _ => false,
            },
        );
    }
}

//! The sandbox's test cards (../shared/contract.md): the PAN decides what the issuer does.

use crate::emv::{CardBrand, Eci, Pan, TransStatus};

/// Which 3-D Secure generation the card's range is enrolled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// EMV 3DS 2.x.
    Emv,
    /// The card range is on 3DS 1.0.2 only; `enrolled` is the VERes `CH.enrolled`.
    Legacy { enrolled: bool },
}

/// What the issuer's 3DS Method page does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodBehaviour {
    /// The issuer has no Method URL (threeDSCompInd U).
    NoMethod,
    /// The Method page posts back at once (Y).
    Answers,
    /// The Method page never posts back (N after 10 s).
    NeverAnswers,
}

/// How the issuer authenticates the cardholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// The ARes is final with this status.
    Frictionless(TransStatus),
    /// The ARes is C; the one-time code on the challenge page decides (1234 → Y).
    Challenge,
}

/// What the issuer does with the authorization that follows a good authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    Approve,
    Decline,
}

/// Everything the sandbox's issuer does for one card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardProfile {
    pub brand: CardBrand,
    pub protocol: Protocol,
    pub method: MethodBehaviour,
    pub authentication: Authentication,
    pub authorization: Authorization,
}

impl CardProfile {
    /// The profile of a (Luhn-valid) card: the contract's table, else frictionless Y.
    pub fn of(pan: &Pan) -> CardProfile {
        use Authentication::{Challenge, Frictionless};
        use MethodBehaviour::{Answers, NeverAnswers, NoMethod};
        let emv = |method, authentication| CardProfile {
            brand: pan.brand(),
            protocol: Protocol::Emv,
            method,
            authentication,
            authorization: Authorization::Approve,
        };
        match pan.expose() {
            "4000000000001000" | "5200000000001005" | "4012000033330026" => {
                emv(NoMethod, Frictionless(TransStatus::Y))
            }
            "4000000000001109" | "5200000000001104" | "4012004040524514" => {
                emv(NoMethod, Frictionless(TransStatus::A))
            }
            "4000000000001208" | "4012001775445550" => emv(NoMethod, Frictionless(TransStatus::N)),
            "4000000000001307" => emv(NoMethod, Frictionless(TransStatus::U)),
            "4000000000001406" => emv(NoMethod, Frictionless(TransStatus::R)),
            "4000000000002008" | "5200000000002003" | "370000000000200" | "4012007153923001" => {
                emv(NoMethod, Challenge)
            }
            "4000000000002107" => emv(Answers, Challenge),
            "4000000000002206" => emv(NeverAnswers, Frictionless(TransStatus::Y)),
            "4000000000003006" => CardProfile {
                protocol: Protocol::Legacy { enrolled: true },
                ..emv(NoMethod, Challenge)
            },
            "4000000000003105" => CardProfile {
                protocol: Protocol::Legacy { enrolled: false },
                ..emv(NoMethod, Frictionless(TransStatus::N))
            },
            "4000000000004004" => CardProfile {
                authorization: Authorization::Decline,
                ..emv(NoMethod, Frictionless(TransStatus::Y))
            },
            _ => emv(NoMethod, Frictionless(TransStatus::Y)),
        }
    }
}

/// The one-time code that authenticates on the sandbox challenge page.
pub const GOOD_OTP: &str = "1234";

/// The authentication values an issuer returns with a final status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationValues {
    pub trans_status: TransStatus,
    /// `None` where no authorization may follow (N, R).
    pub eci: Option<Eci>,
    /// 28-character standard base64 of 20 bytes, for Y and A only.
    pub cavv: Option<String>,
}

impl AuthenticationValues {
    /// The values for `status`, with a CAVV derived from `seed` (a transaction id), so
    /// that the same transaction always yields the same CAVV.
    pub fn for_status(brand: CardBrand, status: TransStatus, seed: &str) -> AuthenticationValues {
        use base64::Engine;
        use sha2::Digest;
        let cavv = matches!(status, TransStatus::Y | TransStatus::A).then(|| {
            let digest = sha2::Sha256::digest(seed.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(&digest[..20])
        });
        let eci = if status.permits_authorization() {
            Eci::for_outcome(brand, status)
        } else {
            None
        };
        AuthenticationValues {
            trans_status: status,
            eci,
            cavv,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_cards() {
        let profile = |pan: &str| CardProfile::of(&Pan::parse(pan).unwrap());
        assert_eq!(profile("4000000000002107").method, MethodBehaviour::Answers);
        assert_eq!(
            profile("4000000000003006").protocol,
            Protocol::Legacy { enrolled: true }
        );
        assert_eq!(
            profile("4000000000004004").authorization,
            Authorization::Decline
        );
        assert_eq!(
            profile("370000000000200").authentication,
            Authentication::Challenge
        );
        assert_eq!(
            profile("4111111111111111").authentication,
            Authentication::Frictionless(TransStatus::Y)
        );
    }

    #[test]
    fn cavv_is_28_characters_for_y_and_a_only() {
        let y = AuthenticationValues::for_status(CardBrand::Visa, TransStatus::Y, "t1");
        assert_eq!(y.cavv.as_deref().map(str::len), Some(28));
        assert_eq!(y.eci.map(Eci::value), Some(5));
        let n = AuthenticationValues::for_status(CardBrand::Mastercard, TransStatus::N, "t1");
        assert_eq!((n.cavv, n.eci), (None, None));
        let mc_a = AuthenticationValues::for_status(CardBrand::Mastercard, TransStatus::A, "t2");
        assert_eq!(mc_a.eci.map(Eci::value), Some(1));
    }
}

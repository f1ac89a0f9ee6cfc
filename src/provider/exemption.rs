//! Which 3-D Secure exemptions each provider's public API can carry (`exemption` at
//! create, [`Exemption`]). Each provider's own file says what it sends and why the others
//! cannot be asked for, and its adapter declares it ([`CreateLimits`]); this is the one
//! place the backend asks, at create, so an unsupported combination is a 400 before
//! anything is sent.

use super::CreateLimits;
use crate::payment::{ChallengePreference, Exemption, ProviderKind};

/// Why an exemption cannot be asked for: the stable code and a message naming the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub message: String,
}

/// The code every refusal of an exemption carries.
pub const UNSUPPORTED: &str = "exemption_unsupported";
/// The code of a challenge preference the provider's API cannot carry.
pub const CHALLENGE_UNSUPPORTED: &str = "challenge_preference_unsupported";

/// `challenge` for `provider` (whose API carries `limits`): fine, or why not (a message
/// naming the provider).
pub fn check_challenge(
    provider: ProviderKind,
    limits: &CreateLimits,
    challenge: ChallengePreference,
) -> Result<(), Unsupported> {
    if challenge == ChallengePreference::NoPreference || limits.challenge_preference {
        return Ok(());
    }
    Err(Unsupported {
        message: format!(
            "{} cannot carry a challengePreference: its API lets only the issuer decide",
            provider.as_str()
        ),
    })
}

/// `exemption` for a payment with `provider` (whose API carries `limits`) and `challenge`:
/// fine, or why not. An exemption asks the issuer not to challenge, so it cannot go with a
/// challenge the merchant requested or mandated.
pub fn check(
    provider: ProviderKind,
    limits: &CreateLimits,
    exemption: Option<Exemption>,
    challenge: ChallengePreference,
) -> Result<(), Unsupported> {
    let Some(exemption) = exemption else {
        return Ok(());
    };
    if !limits.exemptions.contains(&exemption) {
        let offered: Vec<&str> = limits.exemptions.iter().map(|e| e.as_str()).collect();
        return Err(Unsupported {
            message: format!(
                "{} cannot ask for the exemption {} (its API carries {})",
                provider.as_str(),
                exemption.as_str(),
                if offered.is_empty() {
                    "none".to_owned()
                } else {
                    offered.join(", ")
                }
            ),
        });
    }
    if challenge != ChallengePreference::NoPreference {
        return Err(Unsupported {
            message: format!(
                "the exemption {} asks for no challenge: it cannot go with a challengePreference other than no_preference",
                exemption.as_str()
            ),
        });
    }
    Ok(())
}

// Each provider's own limits, as its adapter declares them: needs all four.
#[cfg(all(
    test,
    feature = "payroc",
    feature = "dlocal",
    feature = "paysafe",
    feature = "bambora"
))]
mod tests {
    use super::*;
    use crate::provider::Adapter;

    /// `provider`'s limits, from its adapter (sandbox configuration).
    fn limits(provider: ProviderKind) -> CreateLimits {
        use crate::provider::{bambora, dlocal, payroc, paysafe};
        let url = "http://127.0.0.1:1";
        match provider {
            ProviderKind::Payroc => {
                payroc::PayrocAdapter::new(payroc::Config::sandbox(url)).limits()
            }
            ProviderKind::Dlocal => {
                dlocal::DlocalAdapter::new(dlocal::Config::sandbox(url)).limits()
            }
            ProviderKind::Paysafe => {
                paysafe::PaysafeAdapter::new(paysafe::Config::sandbox(url)).limits()
            }
            ProviderKind::Bambora => {
                bambora::BamboraAdapter::new(bambora::Config::sandbox(url)).limits()
            }
        }
    }

    fn check(
        provider: ProviderKind,
        exemption: Option<Exemption>,
        challenge: ChallengePreference,
    ) -> Result<(), Unsupported> {
        super::check(provider, &limits(provider), exemption, challenge)
    }

    fn check_challenge(
        provider: ProviderKind,
        challenge: ChallengePreference,
    ) -> Result<(), Unsupported> {
        super::check_challenge(provider, &limits(provider), challenge)
    }

    #[test]
    fn only_paysafe_carries_an_exemption_and_a_refusal_names_the_provider() {
        assert!(check(
            ProviderKind::Paysafe,
            Some(Exemption::NoChallengeRequested),
            ChallengePreference::NoPreference
        )
        .is_ok());
        for provider in [
            ProviderKind::Payroc,
            ProviderKind::Dlocal,
            ProviderKind::Bambora,
        ] {
            let refused = check(
                provider,
                Some(Exemption::NoChallengeRequested),
                ChallengePreference::NoPreference,
            )
            .expect_err("unsupported");
            assert!(
                refused.message.starts_with(provider.as_str()),
                "{refused:?}"
            );
        }
        for exemption in [Exemption::TransactionRiskAnalysis, Exemption::LowValue] {
            let refused = check(
                ProviderKind::Paysafe,
                Some(exemption),
                ChallengePreference::NoPreference,
            )
            .expect_err("unsupported");
            assert!(refused.message.contains("paysafe"), "{refused:?}");
        }
        assert!(check(
            ProviderKind::Paysafe,
            Some(Exemption::NoChallengeRequested),
            ChallengePreference::Mandated
        )
        .is_err());
        assert!(check(ProviderKind::Payroc, None, ChallengePreference::Mandated).is_ok());
    }

    #[test]
    fn bambora_alone_cannot_carry_a_challenge_preference() {
        for provider in [
            ProviderKind::Payroc,
            ProviderKind::Dlocal,
            ProviderKind::Paysafe,
        ] {
            assert!(check_challenge(provider, ChallengePreference::Requested).is_ok());
        }
        let refused = check_challenge(ProviderKind::Bambora, ChallengePreference::Mandated)
            .expect_err("bambora has none");
        assert!(refused.message.starts_with("bambora"));
        assert!(check_challenge(ProviderKind::Bambora, ChallengePreference::NoPreference).is_ok());
    }
}

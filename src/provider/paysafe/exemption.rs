//! Exemptions Paysafe can carry, and its `requestorChallengePreference`. Paysafe's 3DS2
//! authentication (`POST /threedsecure/v2/accounts/{id}/authentications`) takes
//! `requestorChallengePreference`: `NO_PREFERENCE`, `NO_CHALLENGE_REQUESTED`,
//! `CHALLENGE_REQUESTED`, `CHALLENGE_MANDATED` (developer.paysafe.com's 3DS2 API and
//! docs.paysafe.com's `threeDS` schema). `NO_CHALLENGE_REQUESTED` is EMV's
//! threeDSRequestorChallengeInd 02, the `no_challenge_requested` exemption; its API names
//! no transaction-risk-analysis or low-value exemption, so those are refused at create.

/// Whether a `challengePreference` other than `no_preference` can be sent (`requestorChallengePreference`).
pub const CHALLENGE_PREFERENCE: bool = true;

use crate::payment::{ChallengePreference, Exemption};

pub const SUPPORTED: &[Exemption] = &[Exemption::NoChallengeRequested];

/// `requestorChallengePreference` for the merchant's preference and exemption (the
/// backend refused any other combination at create).
pub fn requestor_challenge_preference(
    preference: ChallengePreference,
    exemption: Option<Exemption>,
) -> &'static str {
    match (exemption, preference) {
        (Some(Exemption::NoChallengeRequested), _) => "NO_CHALLENGE_REQUESTED",
        (_, ChallengePreference::NoPreference) => "NO_PREFERENCE",
        (_, ChallengePreference::Requested) => "CHALLENGE_REQUESTED",
        (_, ChallengePreference::Mandated) => "CHALLENGE_MANDATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_challenge_requested_is_sent_as_paysafes_own_value() {
        assert_eq!(
            requestor_challenge_preference(
                ChallengePreference::NoPreference,
                Some(Exemption::NoChallengeRequested)
            ),
            "NO_CHALLENGE_REQUESTED"
        );
        assert_eq!(
            requestor_challenge_preference(ChallengePreference::Mandated, None),
            "CHALLENGE_MANDATED"
        );
        assert_eq!(
            requestor_challenge_preference(ChallengePreference::NoPreference, None),
            "NO_PREFERENCE"
        );
    }
}

//! Exemptions Payroc can carry: none. Its hosted MPI takes `cardholderChallenge`
//! (`REQUIRED` | `OPTIONAL`, the challenge preference) and nothing that names an exemption
//! (docs.payroc.com, "Run a sale with 3-D Secure", the MPI's query parameters).

/// Whether a `challengePreference` other than `no_preference` can be sent (its MPI's `cardholderChallenge=REQUIRED`).
pub const CHALLENGE_PREFERENCE: bool = true;

use crate::payment::Exemption;

pub const SUPPORTED: &[Exemption] = &[];

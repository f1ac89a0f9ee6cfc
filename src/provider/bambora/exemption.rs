//! Exemptions Bambora (Worldline North America) can carry: none. Its payment's
//! `3d_secure` object takes `browser`, `enabled`, `version` and `auth_required`
//! (Payment APIs 1.0.5, `ThreeDSecure`), and neither a challenge preference nor an
//! exemption: the issuer alone decides whether to challenge.

/// Whether a `challengePreference` other than `no_preference` can be sent (its API has no such field).
pub const CHALLENGE_PREFERENCE: bool = false;

use crate::payment::Exemption;

pub const SUPPORTED: &[Exemption] = &[];

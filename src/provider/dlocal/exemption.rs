//! Exemptions dLocal can carry: none. Its payment's `three_dsecure` object takes `force`
//! (a challenge asked for: the challenge preference) or an external MPI's values, and no
//! exemption (docs.dlocal.com, "3D Secure": `three_dsecure.force`, `mpi`).

/// Whether a `challengePreference` other than `no_preference` can be sent (`three_dsecure.force: true`).
pub const CHALLENGE_PREFERENCE: bool = true;

use crate::payment::Exemption;

pub const SUPPORTED: &[Exemption] = &[];

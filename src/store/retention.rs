//! How long a store keeps a session after it expires: the rule every store's purge goes
//! by (the SQL stores in `backend::native`, [`super::memory`]), kept in one place so they
//! purge the same.

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// How long a store keeps a session after its `expires_at_ms` before its purge deletes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// For a final session: its result stays readable for support and reconciliation.
    pub final_ms: u64,
    /// For a session that never became final: it may be the only local trace of a
    /// provider call that moved money before the process stopped, so keep it longer.
    pub unfinished_ms: u64,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            final_ms: 30 * DAY_MS,
            unfinished_ms: 90 * DAY_MS,
        }
    }
}

impl Retention {
    /// Whether a session that expires at `expires_at_ms` (final or not) is past its
    /// retention at `now_ms`: `now_ms >= expires_at_ms + retention`.
    pub fn has_run_out(&self, expires_at_ms: u64, is_final: bool, now_ms: u64) -> bool {
        let kept_ms = if is_final {
            self.final_ms
        } else {
            self.unfinished_ms
        };
        expires_at_ms
            .checked_add(kept_ms)
            .is_some_and(|until| now_ms >= until)
    }

    /// The latest `expires_at_ms` any session may have to be past its retention at
    /// `now_ms`; `None` while no retention can have run out.
    pub fn latest_expiry_purged(&self, now_ms: u64) -> Option<u64> {
        now_ms.checked_sub(self.final_ms.min(self.unfinished_ms))
    }
}

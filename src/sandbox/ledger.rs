//! The sandbox ledger: every authorization or sale the sandbox approved, so tests can
//! prove that nothing was charged twice and nothing approved was lost.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The provider whose API approved the charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Payroc,
    Dlocal,
    Paysafe,
    Bambora,
}

/// One approved charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEntry {
    pub provider: Provider,
    pub provider_payment_id: String,
    pub order_id: String,
    /// Minor units.
    pub amount: i64,
    pub currency: String,
    pub idempotency_key: Option<String>,
    /// `400000******1000`: never the full number.
    pub card: String,
    /// RFC 3339, UTC.
    pub time: String,
}

#[derive(Debug, Default)]
pub struct Ledger {
    entries: Mutex<Vec<LedgerEntry>>,
}

impl Ledger {
    pub fn record(&self, entry: LedgerEntry) {
        self.lock().push(entry);
    }

    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<LedgerEntry>> {
        // A panic while holding the lock cannot leave a half-written Vec push behind.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Now, as RFC 3339 with milliseconds (`2018-07-12T13:46:28.629Z`).
pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    now.format(&format).unwrap_or_default()
}

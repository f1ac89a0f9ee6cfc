//! The sandbox ledger: every authorization or sale the sandbox approved, and every
//! capture, void and refund made of it since, so tests can prove that nothing was charged
//! twice, nothing approved was lost, and every order balances (captured never above
//! authorized, refunded never above captured).

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
    /// A sale (captured with the authorization) rather than an authorization only.
    pub sale: bool,
}

/// What was done to an approved charge afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MovementKind {
    Capture,
    Void,
    Refund,
}

/// One capture, void or refund the sandbox approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Movement {
    pub provider: Provider,
    /// The charge it is about ([`LedgerEntry::provider_payment_id`]).
    pub provider_payment_id: String,
    /// The provider's id for the capture, void or refund itself.
    pub operation_id: String,
    pub kind: MovementKind,
    /// Minor units; for a void, the authorized amount it released.
    pub amount: i64,
    pub time: String,
}

/// Where one approved charge stands: what `GET /_sandbox/ledger` shows per order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Balance {
    pub provider: Provider,
    pub provider_payment_id: String,
    pub order_id: String,
    pub currency: String,
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    pub voided: bool,
}

/// Why the ledger refused a movement; each sandbox maps it to its provider's own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerRefusal {
    /// No approved charge with this id (at this provider).
    UnknownPayment,
    /// Captured already (one capture per authorization; a sale is captured).
    AlreadyCaptured,
    /// Voided already.
    AlreadyVoided,
    /// A refund of nothing captured.
    NotCaptured,
    /// Above what is left (capture above authorized, refund above captured − refunded),
    /// or not above zero.
    AmountTooLarge,
}

#[derive(Debug, Default)]
struct Book {
    entries: Vec<LedgerEntry>,
    movements: Vec<Movement>,
}

#[derive(Debug, Default)]
pub struct Ledger {
    book: Mutex<Book>,
}

impl Ledger {
    pub fn record(&self, entry: LedgerEntry) {
        self.lock().entries.push(entry);
    }

    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.lock().entries.clone()
    }

    pub fn movements(&self) -> Vec<Movement> {
        self.lock().movements.clone()
    }

    /// Records `movement` if the charge's balance allows it (one capture, no more than
    /// authorized; a void only before any capture; refunds up to what was captured), and
    /// answers the balance after it. Checked and written under one lock, so two
    /// concurrent refunds can never both pass.
    pub fn move_money(&self, movement: Movement) -> Result<Balance, LedgerRefusal> {
        let mut book = self.lock();
        let before = book
            .balance(movement.provider, &movement.provider_payment_id)
            .ok_or(LedgerRefusal::UnknownPayment)?;
        before.allows(movement.kind, movement.amount)?;
        book.movements.push(movement.clone());
        book.balance(movement.provider, &movement.provider_payment_id)
            .ok_or(LedgerRefusal::UnknownPayment)
    }

    /// The balance of one approved charge.
    pub fn balance(&self, provider: Provider, provider_payment_id: &str) -> Option<Balance> {
        self.lock().balance(provider, provider_payment_id)
    }

    /// Every approved charge's balance, oldest first.
    pub fn balances(&self) -> Vec<Balance> {
        let book = self.lock();
        book.entries
            .iter()
            .filter_map(|entry| book.balance(entry.provider, &entry.provider_payment_id))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        // A panic while holding the lock cannot leave a half-written Vec push behind.
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Book {
    fn balance(&self, provider: Provider, provider_payment_id: &str) -> Option<Balance> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.provider == provider && e.provider_payment_id == provider_payment_id)?;
        let mut balance = Balance {
            provider,
            provider_payment_id: entry.provider_payment_id.clone(),
            order_id: entry.order_id.clone(),
            currency: entry.currency.clone(),
            authorized: entry.amount,
            captured: if entry.sale { entry.amount } else { 0 },
            refunded: 0,
            voided: false,
        };
        let movements = self
            .movements
            .iter()
            .filter(|m| m.provider == provider && m.provider_payment_id == provider_payment_id);
        for movement in movements {
            match movement.kind {
                MovementKind::Capture => balance.captured += movement.amount,
                MovementKind::Void => balance.voided = true,
                MovementKind::Refund => balance.refunded += movement.amount,
            }
        }
        Some(balance)
    }
}

impl Balance {
    fn allows(&self, kind: MovementKind, amount: i64) -> Result<(), LedgerRefusal> {
        if self.voided {
            return Err(LedgerRefusal::AlreadyVoided);
        }
        match kind {
            MovementKind::Capture if self.captured > 0 => Err(LedgerRefusal::AlreadyCaptured),
            MovementKind::Capture if amount <= 0 || amount > self.authorized => {
                Err(LedgerRefusal::AmountTooLarge)
            }
            MovementKind::Void if self.captured > 0 => Err(LedgerRefusal::AlreadyCaptured),
            MovementKind::Refund if self.captured == 0 => Err(LedgerRefusal::NotCaptured),
            MovementKind::Refund if amount <= 0 || amount > self.captured - self.refunded => {
                Err(LedgerRefusal::AmountTooLarge)
            }
            _ => Ok(()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn authorization(sale: bool) -> LedgerEntry {
        LedgerEntry {
            provider: Provider::Bambora,
            provider_payment_id: "p-1".into(),
            order_id: "o-1".into(),
            amount: 1000,
            currency: "USD".into(),
            idempotency_key: None,
            card: "400000******1000".into(),
            time: String::new(),
            sale,
        }
    }

    fn movement(kind: MovementKind, amount: i64) -> Movement {
        Movement {
            provider: Provider::Bambora,
            provider_payment_id: "p-1".into(),
            operation_id: format!("{kind:?}-{amount}"),
            kind,
            amount,
            time: String::new(),
        }
    }

    #[test]
    fn partial_capture_then_refunds_up_to_the_captured_amount() {
        let ledger = Ledger::default();
        ledger.record(authorization(false));
        assert_eq!(
            ledger.move_money(movement(MovementKind::Refund, 1)),
            Err(LedgerRefusal::NotCaptured)
        );
        assert_eq!(
            ledger.move_money(movement(MovementKind::Capture, 1001)),
            Err(LedgerRefusal::AmountTooLarge)
        );
        let captured = ledger.move_money(movement(MovementKind::Capture, 600));
        assert_eq!(captured.map(|b| b.captured), Ok(600));
        assert_eq!(
            ledger.move_money(movement(MovementKind::Capture, 100)),
            Err(LedgerRefusal::AlreadyCaptured)
        );
        assert_eq!(
            ledger.move_money(movement(MovementKind::Void, 1000)),
            Err(LedgerRefusal::AlreadyCaptured)
        );
        ledger
            .move_money(movement(MovementKind::Refund, 250))
            .expect("a partial refund");
        assert_eq!(
            ledger.move_money(movement(MovementKind::Refund, 351)),
            Err(LedgerRefusal::AmountTooLarge)
        );
        let rest = ledger
            .move_money(movement(MovementKind::Refund, 350))
            .expect("the rest");
        assert_eq!(
            (rest.captured, rest.refunded, rest.voided),
            (600, 600, false)
        );
        assert_eq!(ledger.balances(), vec![rest]);
    }

    #[test]
    fn a_void_releases_the_authorization_and_ends_it() {
        let ledger = Ledger::default();
        ledger.record(authorization(false));
        let voided = ledger
            .move_money(movement(MovementKind::Void, 1000))
            .expect("a void");
        assert!(voided.voided);
        assert_eq!(
            ledger.move_money(movement(MovementKind::Capture, 1000)),
            Err(LedgerRefusal::AlreadyVoided)
        );
    }

    #[test]
    fn a_sale_is_captured_and_unknown_charges_are_refused() {
        let ledger = Ledger::default();
        ledger.record(authorization(true));
        assert_eq!(
            ledger.balance(Provider::Bambora, "p-1").map(|b| b.captured),
            Some(1000)
        );
        let mut stranger = movement(MovementKind::Refund, 1);
        stranger.provider_payment_id = "p-2".into();
        assert_eq!(
            ledger.move_money(stranger),
            Err(LedgerRefusal::UnknownPayment)
        );
    }
}

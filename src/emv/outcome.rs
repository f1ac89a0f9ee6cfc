//! What an authentication ended with: transStatus, its reason, the ECI, and whether the
//! liability for fraud moved to the issuer.

use serde::{Deserialize, Serialize};

use super::card::CardBrand;
use super::EmvError;

/// EMV `transStatus` ([EMV] Table A.15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum TransStatus {
    /// Authenticated.
    Y,
    /// Not authenticated.
    N,
    /// Authentication could not be performed.
    U,
    /// Attempt: proof of an attempt is provided.
    A,
    /// Challenge required (ARes only).
    C,
    /// Decoupled authentication (ARes only).
    D,
    /// Rejected by the issuer: do not authorise.
    R,
    /// Informational only (ARes only).
    I,
    /// Challenge using Secure Payment Confirmation (2.3.1).
    S,
}

crate::unit_variant::deserialize_by_name!(TransStatus {
    Y = "Y", N = "N", U = "U", A = "A", C = "C", D = "D", R = "R", I = "I", S = "S",
});

impl TransStatus {
    pub fn parse(text: &str) -> Result<TransStatus, EmvError> {
        Ok(match text {
            "Y" => TransStatus::Y,
            "N" => TransStatus::N,
            "U" => TransStatus::U,
            "A" => TransStatus::A,
            "C" => TransStatus::C,
            "D" => TransStatus::D,
            "R" => TransStatus::R,
            "I" => TransStatus::I,
            "S" => TransStatus::S,
            other => return Err(EmvError::InvalidTransStatus(other.to_owned())),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TransStatus::Y => "Y",
            TransStatus::N => "N",
            TransStatus::U => "U",
            TransStatus::A => "A",
            TransStatus::C => "C",
            TransStatus::D => "D",
            TransStatus::R => "R",
            TransStatus::I => "I",
            TransStatus::S => "S",
        }
    }

    /// Whether an authorization may follow. Y and A carry proof; U and I let the merchant
    /// proceed at its own risk; N and R forbid it; C, D and S are not final.
    pub fn permits_authorization(self) -> bool {
        matches!(
            self,
            TransStatus::Y | TransStatus::A | TransStatus::U | TransStatus::I
        )
    }

    /// Whether the status ends authentication (the others ask for a further step).
    pub fn is_final(self) -> bool {
        !matches!(self, TransStatus::C | TransStatus::D | TransStatus::S)
    }
}

/// EMV `transStatusReason`: two digits, required for N, U and R.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransStatusReason(u8);

impl TransStatusReason {
    pub fn parse(text: &str) -> Result<TransStatusReason, EmvError> {
        let invalid = EmvError::InvalidField {
            field: "transStatusReason",
        };
        if text.len() != 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid);
        }
        text.parse().map(TransStatusReason).map_err(|_| invalid)
    }

    /// The reason with this code (two digits: at most 99).
    pub fn from_code(code: u8) -> Option<TransStatusReason> {
        (code <= 99).then_some(TransStatusReason(code))
    }

    pub fn code(self) -> u8 {
        self.0
    }

    /// The specification's meaning of the code, where it defines one.
    pub fn description(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "Card authentication failed",
            2 => "Unknown device",
            3 => "Unsupported device",
            4 => "Exceeds authentication frequency limit",
            5 => "Expired card",
            6 => "Invalid card number",
            7 => "Invalid transaction",
            8 => "No card record",
            9 => "Security failure",
            10 => "Stolen card",
            11 => "Suspected fraud",
            12 => "Transaction not permitted to cardholder",
            13 => "Cardholder not enrolled in service",
            14 => "Transaction timed out at the ACS",
            15 => "Low confidence",
            16 => "Medium confidence",
            17 => "High confidence",
            18 => "Very high confidence",
            19 => "Exceeds ACS maximum challenges",
            20 => "Non-payment transaction not supported",
            21 => "3RI transaction not supported",
            22 => "ACS technical issue",
            23 => "Decoupled authentication required by ACS but not requested",
            24 => "3DS Requestor decoupled maximum expiry time exceeded",
            25 => "Decoupled authentication was provided insufficient time",
            26 => "Authentication attempted but not performed by the cardholder",
            27..=30 => "Decoupled or SPC authentication outcome (2.3.1)",
            _ => return None,
        })
    }
}

impl Serialize for TransStatusReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:02}", self.0))
    }
}

impl<'de> Deserialize<'de> for TransStatusReason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TransStatusReason::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Electronic Commerce Indicator: two digits. Providers send `"05"`, `"5"` or `5`; all
/// parse to the same value, which prints as `05`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Eci(u8);

impl Eci {
    pub const fn new(value: u8) -> Option<Eci> {
        if value <= 99 {
            Some(Eci(value))
        } else {
            None
        }
    }

    pub fn parse(text: &str) -> Result<Eci, EmvError> {
        let invalid = EmvError::InvalidField { field: "eci" };
        if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid);
        }
        text.parse().map(Eci).map_err(|_| invalid)
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// The two-digit wire form, e.g. `05`.
    pub fn as_two_digits(self) -> String {
        format!("{:02}", self.0)
    }

    /// The ECI a scheme assigns to an authentication outcome (used by the sandbox and by
    /// 3DS1, where the provider may not echo one). `None` where no authorization follows.
    pub fn for_outcome(brand: CardBrand, status: TransStatus) -> Option<Eci> {
        let visa_family = brand.uses_visa_eci();
        let value = match status {
            TransStatus::Y if visa_family => 5,
            TransStatus::Y => 2,
            TransStatus::A if visa_family => 6,
            TransStatus::A => 1,
            TransStatus::N | TransStatus::U | TransStatus::R if visa_family => 7,
            TransStatus::N | TransStatus::U | TransStatus::R => 0,
            _ => return None,
        };
        Some(Eci(value))
    }
}

impl Serialize for Eci {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_two_digits())
    }
}

impl<'de> Deserialize<'de> for Eci {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // The derive's `untagged enum Wire { Text(String), Number(u8) }`, without `Content`.
        use crate::text_or_number::{unmatched, TextOrNumber};
        match TextOrNumber::deserialize(deserializer)? {
            TextOrNumber::Text(text) => Eci::parse(&text).map_err(serde::de::Error::custom),
            TextOrNumber::Unsigned(n) => match u8::try_from(n) {
                Ok(n) => Eci::new(n).ok_or_else(|| serde::de::Error::custom("eci above 99")),
                Err(_) => Err(unmatched("Wire")),
            },
            _ => Err(unmatched("Wire")),
        }
    }
}

/// Which generation of 3-D Secure produced the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Generation {
    /// 3-D Secure 1.0.2 (PaReq/PaRes).
    #[serde(rename = "1.0.2")]
    Legacy,
    /// EMV 3-D Secure 2.x.
    #[serde(rename = "2")]
    Emv,
}
crate::unit_variant::deserialize_by_name!(Generation { Legacy = "1.0.2", Emv = "2" });

/// Whether the liability for a fraud chargeback moved from the merchant to the issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiabilityShift {
    Shifted,
    NotShifted,
}
crate::unit_variant::deserialize_by_name!(LiabilityShift { Shifted = "shifted", NotShifted = "not_shifted" });

impl LiabilityShift {
    /// The decision from brand, transStatus and ECI (TabaPay and Checkout.com's tables):
    ///
    /// - only Y and A can shift; every other status leaves liability with the merchant;
    /// - Visa family (Visa, Amex, JCB, Diners, Discover, UnionPay, Elo): ECI 05 and 06;
    /// - Mastercard: 02 and 01, and 07 (recurring); 04 (data only) and 06 (exempt) do not;
    /// - an unknown brand never shifts, since its ECI table is unknown;
    /// - 3-D Secure 1.0.2 no longer shifts for Visa (since 16 October 2021, Bambora's
    ///   seed) nor for Mastercard, which retired 1.0.2 in October 2022.
    ///
    /// A Visa attempt (06) shifts only with a CAVV; a directory server that has none sends
    /// 07, so the ECI alone decides here.
    pub fn decide(
        brand: CardBrand,
        status: TransStatus,
        eci: Option<Eci>,
        generation: Generation,
    ) -> LiabilityShift {
        let Some(eci) = eci else {
            return LiabilityShift::NotShifted;
        };
        if generation == Generation::Legacy
            && matches!(brand, CardBrand::Visa | CardBrand::Mastercard)
        {
            return LiabilityShift::NotShifted;
        }
        let shifting_eci: &[u8] = match brand {
            CardBrand::Unknown => &[],
            CardBrand::Mastercard => &[2, 1, 7],
            _ => &[5, 6],
        };
        let shifted = matches!(status, TransStatus::Y | TransStatus::A)
            && shifting_eci.contains(&eci.value());
        if shifted {
            LiabilityShift::Shifted
        } else {
            LiabilityShift::NotShifted
        }
    }

    pub fn is_shifted(self) -> bool {
        self == LiabilityShift::Shifted
    }
}

//! The cardholder's browser back from Payroc's hosted MPI: the receipt its page sends to
//! the terminal's receipt URL (`result, status, eci, mpiReference, orderId`), parsed and
//! refused when it is not this order's, not what Payroc sends, or names a reference
//! Payroc already refused for this payment. The receipt is unsigned, so a parsed one is
//! still only a hint: the sale decides. [`ReceiptError`] is the adapter's one error type
//! (a stable `code()`). Payroc sends no notifications. Pure functions of their input.

use crate::emv::{Eci, TransStatus};
use crate::provider::{BrowserReturn, ReturnRefused};

/// Why a receipt was refused. The receipt is unsigned: a refused one changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("the receipt has no single {0}")]
    Missing(&'static str),
    #[error("the receipt is for another order")]
    OtherOrder,
    #[error("the receipt's {0} is not one Payroc sends")]
    Invalid(&'static str),
    #[error("Payroc already refused the receipt's mpiReference for this payment")]
    Refused,
}

impl ReceiptError {
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::Missing(_) => "receipt_field_missing",
            ReceiptError::OtherOrder => "receipt_other_order",
            ReceiptError::Invalid(_) => "receipt_field_invalid",
            ReceiptError::Refused => "receipt_refused",
        }
    }

    /// The refusal the host shows on the return route.
    pub fn refused(&self) -> ReturnRefused {
        ReturnRefused {
            code: self.code(),
            message: match self {
                ReceiptError::Missing(_) => "the Payroc receipt lacks a field or repeats one",
                ReceiptError::OtherOrder => "the Payroc receipt is for another order",
                ReceiptError::Invalid(_) => {
                    "the Payroc receipt carries a value Payroc does not send"
                }
                ReceiptError::Refused => {
                    "Payroc refused this receipt's 3-D Secure reference for this payment"
                }
            },
        }
    }
}

/// The MPI receipt, parsed: still only a hint until the sale accepts its reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// `result=A`: the gateway will allow the sale.
    pub approved: bool,
    pub trans_status: TransStatus,
    pub eci: Eci,
    pub mpi_reference: String,
}

impl Receipt {
    /// Reads `result, status, eci, mpiReference, orderId`, and checks the order is `order_id`.
    pub fn parse(ret: &BrowserReturn, order_id: &str) -> Result<Receipt, ReceiptError> {
        let field = |name: &'static str| ret.single(name).ok_or(ReceiptError::Missing(name));
        if field("orderId")? != order_id {
            return Err(ReceiptError::OtherOrder);
        }
        let approved = match field("result")? {
            "A" => true,
            "D" => false,
            _ => return Err(ReceiptError::Invalid("result")),
        };
        let trans_status = match TransStatus::parse(field("status")?) {
            Ok(s @ (TransStatus::Y | TransStatus::A | TransStatus::N | TransStatus::U)) => s,
            Ok(s @ TransStatus::R) => s,
            _ => return Err(ReceiptError::Invalid("status")),
        };
        let eci = Eci::parse(field("eci")?)
            .ok()
            .filter(|eci| matches!(eci.value(), 0 | 1 | 2 | 5 | 6 | 7))
            .ok_or(ReceiptError::Invalid("eci"))?;
        let mpi_reference = field("mpiReference")?;
        if mpi_reference.is_empty()
            || mpi_reference.len() > 64
            || !mpi_reference.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ReceiptError::Invalid("mpiReference"));
        }
        Ok(Receipt {
            approved,
            trans_status,
            eci,
            mpi_reference: mpi_reference.to_owned(),
        })
    }

    /// [`Receipt::parse`], and refused if it names a reference Payroc already refused for
    /// this payment (replaying a forged receipt costs no second sale call).
    pub fn parse_for(
        ret: &BrowserReturn,
        order_id: &str,
        refused: &[String],
    ) -> Result<Receipt, ReceiptError> {
        let receipt = Receipt::parse(ret, order_id)?;
        if refused.contains(&receipt.mpi_reference) {
            return Err(ReceiptError::Refused);
        }
        Ok(receipt)
    }
}

//! The cardholder's browser back from the issuer's challenge: the fields Paysafe's
//! challenge-complete page posts to this session's return route, checked to belong to
//! this session's authentication before their `payload` goes to finalize. The
//! authentication's result is not read here: the authentication as Paysafe holds it after
//! finalize decides. [`ReturnError`] is the adapter's one error type (a stable `code()`).
//! Paysafe sends no notifications. Pure functions of their input.

use crate::emv::challenge::ThreeDsSessionData;
use crate::provider::{BrowserReturn, ReturnRefused};

/// Why a browser return is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error("the return has no single {0}")]
    Missing(&'static str),
    #[error("the return names another authentication")]
    OtherAuthentication,
    #[error("the return's session data is not this authentication's")]
    ForeignSessionData,
}

impl ReturnError {
    pub fn code(&self) -> &'static str {
        match self {
            ReturnError::Missing(_) => "return_incomplete",
            ReturnError::OtherAuthentication | ReturnError::ForeignSessionData => "return_foreign",
        }
    }

    /// The refusal the host answers the browser with (an HTML page with the code).
    pub fn refused(&self) -> ReturnRefused {
        ReturnRefused {
            code: self.code(),
            message: match self {
                ReturnError::Missing(_) => "The return from the issuer is incomplete.",
                ReturnError::OtherAuthentication | ReturnError::ForeignSessionData => {
                    "The return names another payment."
                }
            },
        }
    }
}

/// The payload of a return that belongs to `authentication_id`: Paysafe's
/// challenge-complete page sends `authenticationId`, `payload`, and the echoed
/// `threeDSSessionData` (2.x) or `MD` (1.0.2), both set to the authentication id.
pub fn verify_return<'a>(
    ret: &'a BrowserReturn,
    authentication_id: &str,
) -> Result<&'a str, ReturnError> {
    let named = ret
        .single("authenticationId")
        .ok_or(ReturnError::Missing("authenticationId"))?;
    if named != authentication_id {
        return Err(ReturnError::OtherAuthentication);
    }
    let payload = ret
        .single("payload")
        .filter(|p| !p.is_empty() && p.len() <= 16 * 1024)
        .ok_or(ReturnError::Missing("payload"))?;
    if let Some(data) = ret.single("threeDSSessionData") {
        if ThreeDsSessionData::decode(data).ok().as_deref() != Some(authentication_id) {
            return Err(ReturnError::ForeignSessionData);
        }
    }
    if let Some(md) = ret.single("MD") {
        if md != authentication_id {
            return Err(ReturnError::ForeignSessionData);
        }
    }
    Ok(payload)
}

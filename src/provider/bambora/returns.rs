//! The cardholder's browser back from the issuer: the fields the ACS posts to this
//! session's return route (`PaRes` + `MD` for 3-D Secure 1.0.2, `cres` +
//! `threeDSSessionData` for 2.x), checked against the issuer form this session sent, and
//! turned into what Bambora's `continue` takes. Anything else is refused with a stable
//! code and changes nothing. The authentication's result is not read here: Bambora's
//! `continue` decides it.

use super::contents::{IssuerForm, MAX_FIELD_BYTES};
use crate::emv::ChallengeOutcome;
use crate::provider::{BrowserReturn, ReturnRefused};

/// What `continue` carries: the issuer's answer, verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerAnswer {
    PaRes(String),
    CRes(String),
}

/// Why a return was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnError {
    #[error("this Bambora payment is not waiting for the issuer")]
    NotAwaiting,
    #[error("the return has no single {0}")]
    Missing(&'static str),
    #[error("the return's {0} is not this payment's")]
    Foreign(&'static str),
    #[error("the return's {0} is not what an issuer sends")]
    Malformed(&'static str),
}

impl ReturnError {
    pub fn code(&self) -> &'static str {
        match self {
            ReturnError::NotAwaiting => "no_return_expected",
            ReturnError::Missing(_) => "return_incomplete",
            ReturnError::Foreign(_) => "return_foreign",
            ReturnError::Malformed(_) => "return_malformed",
        }
    }

    pub fn refused(&self) -> ReturnRefused {
        ReturnRefused {
            code: self.code(),
            message: match self {
                ReturnError::NotAwaiting => "this Bambora payment is not waiting for the issuer",
                ReturnError::Missing(_) => "the issuer's return lacks a field or repeats one",
                ReturnError::Foreign(_) => "the issuer's return belongs to another payment",
                ReturnError::Malformed(_) => "the issuer's return is not well formed",
            },
        }
    }
}

/// Checks `ret` against the form this session sent the browser with, and gives the
/// answer `continue` must carry.
pub fn verify(issuer: &IssuerForm, ret: &BrowserReturn) -> Result<IssuerAnswer, ReturnError> {
    let field = |name: &'static str| ret.single(name).ok_or(ReturnError::Missing(name));
    match issuer {
        IssuerForm::PaReq(form) => {
            if field("MD")? != form.md {
                return Err(ReturnError::Foreign("MD"));
            }
            let pa_res = field("PaRes")?;
            if !bounded(pa_res)
                || !pa_res
                    .bytes()
                    .all(|b| is_base64(b) || b.is_ascii_whitespace())
            {
                return Err(ReturnError::Malformed("PaRes"));
            }
            Ok(IssuerAnswer::PaRes(pa_res.to_owned()))
        }
        IssuerForm::CReq {
            creq, session_data, ..
        } => {
            if field("threeDSSessionData")? != session_data {
                return Err(ReturnError::Foreign("threeDSSessionData"));
            }
            let cres = field("cres")?;
            if !bounded(cres) {
                return Err(ReturnError::Malformed("cres"));
            }
            match ChallengeOutcome::from_base64url(cres) {
                Ok(ChallengeOutcome::Completed(answer))
                    if answer.acs_trans_id != creq.acs_trans_id
                        || answer.three_ds_server_trans_id != creq.three_ds_server_trans_id =>
                {
                    Err(ReturnError::Foreign("cres"))
                }
                // An Erro message in place of the CRes still goes to Bambora, which ends
                // the payment with 311: the browser can only fail its own payment.
                Ok(_) => Ok(IssuerAnswer::CRes(cres.to_owned())),
                Err(_) => Err(ReturnError::Malformed("cres")),
            }
        }
    }
}

fn bounded(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_FIELD_BYTES
}

/// Base64 in either alphabet (RFC 4648 §4 and §5): production PaRes are deflated standard
/// base64, and Bambora's test ACS posts `TEST_PaRes` (its 3-D Secure guide's term_url
/// example), which Bambora's `continue` takes.
fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

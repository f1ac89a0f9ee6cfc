//! EMV 3-D Secure 2.x and 3-D Secure 1.0.2 as plain data.
//!
//! Owns the protocol's rules that do not depend on a provider: browser details and their
//! wire shapes, base64url, the 3DS Method, the challenge (CReq/CRes, window sizes), the
//! 3DS1 form, outcomes (transStatus, ECI, liability shift) and cards (brand, Luhn).
//! Must not do IO, read clocks or draw random numbers: everything here is data in,
//! data out, and compiles for the host and for wasm32 alike. JSON text goes through
//! `serde_json` only with the `json` feature; the browser build uses the page's JSON.

pub mod base64url;
pub mod browser;
pub mod card;
pub mod challenge;
mod error;
pub mod form;
pub mod method;
pub mod outcome;
pub mod threeds1;
pub mod wire;

pub use browser::{
    BrowserDetails, BrowserLanguage, BrowserReadings, ColorDepth, MessageVersion, ServerReadings,
};
pub use card::{luhn_valid, CardBrand, Pan};
pub use challenge::{CReq, CRes, ChallengeOutcome, ChallengeWindowSize};
pub use error::EmvError;
pub use form::{FormField, FormMethod, FormPost};
pub use method::{ThreeDsCompInd, ThreeDsMethodData};
pub use outcome::{Eci, Generation, LiabilityShift, TransStatus, TransStatusReason};
pub use threeds1::{PaReqForm, PaResStatus};

//! threeds-bridge: EMV 3-D Secure in the checkout page and a thin merchant backend.
//!
//! One sans-IO protocol core, three hosts (see README.md and docs/architecture.md):
//!
//! - [`emv`]: EMV 3DS 2.x and 3DS 1.0.2 as data: browser details, base64url, 3DS Method
//!   data, CReq/CRes, challenge window sizes, the 3DS1 PaReq form, transStatus, ECI and
//!   liability shift, card brand and Luhn. Pure; compiles for the host and for wasm32.
//!
//! - [`sandbox`] (native): the provider sandbox, emulators of the four providers and the ACS.
//!
//! Every parser in the core returns a typed error with a stable `code()`; nothing that
//! came from outside is unwrapped.
#![forbid(unsafe_code)]

pub mod emv;
#[cfg(feature = "native")]
pub mod sandbox;

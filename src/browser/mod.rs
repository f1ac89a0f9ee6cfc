//! The checkout-page module (wasm32, feature `browser`): 3-D Secure in the merchant's page.
//!
//! Owns what only the page can do: read the browser details ([`details`]), run the 3DS
//! Method in a hidden iframe ([`method`]), show the challenge ([`challenge`]), leave for a
//! full-page redirect and come back ([`redirect`]), listen for the backend's completion
//! messages ([`messages`]) and talk to the backend ([`client`]). [`flow`] follows the
//! backend's next steps; [`api`] is the JavaScript class `ThreeDSecure`.
//!
//! Must not: decide a payment's result (the backend does; the page only confirms it with
//! a GET), insert provider HTML (forms are built from structured fields), hold secrets,
//! or keep a card number beyond handing the merchant's request to `fetch`.
//! EMV rules come from [`crate::emv`]; nothing here re-implements them.

pub mod api;
pub mod challenge;
pub mod client;
pub mod details;
pub mod dom;
pub mod error;
pub mod events;
pub mod flow;
pub mod messages;
pub mod method;
pub mod redirect;
pub mod view;

pub use error::BridgeError;

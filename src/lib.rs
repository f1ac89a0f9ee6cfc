//! threeds-bridge: EMV 3-D Secure in the checkout page and a thin merchant backend.
//!
//! One sans-IO protocol core (`emv`, `payment`, `provider`, `session`, `store`: no IO of
//! their own, which `make lint` checks), three hosts (docs/architecture.md has the map and
//! the pictures):
//!
//! - [`emv`]: EMV 3DS 2.x and 3DS 1.0.2 as data: browser details, base64url, 3DS Method
//!   data, CReq/CRes, challenge window sizes, the 3DS1 PaReq form, transStatus, ECI and
//!   liability shift, card brand and Luhn. Pure; compiles for the host and for wasm32.
//!
//! - [`payment`]: the payment as page and backend see it, whatever the provider: the
//!   browser's next action and the final result. Shared by every host.
//! - [`provider`]: one folder per provider's wire protocol, as data (sans-IO adapters),
//!   the same files in each.
//! - [`session`]: a payment session's phases and the rules for moving between them.
//! - [`store`]: the `SessionStore` trait (async, compare-and-set) and the memory store; the
//!   real stores live with their hosts.
//! - [`backend`]: the thin merchant backend's HTTP API as framework-free handlers and the
//!   driver over adapters and store; `backend::native` (native) is its axum host with the
//!   SQLite store, `backend::edge` (wasm32, feature `edge`) its Cloudflare worker host with
//!   the Durable Object store.
//! - [`browser`] (wasm32, feature `browser`): the checkout-page module, `ThreeDSecure`.
//! - [`sandbox`] (native): the provider sandbox, emulators of the four providers and the ACS.
//! - [`demo`] (native): `threeds-bridge demo`, the page, backend and sandbox in one process.
//!
//! Every parser in the core returns a typed error with a stable `code()`; nothing that
//! came from outside is unwrapped.
#![forbid(unsafe_code)]

// A worker without a provider could take no payment: say how to build one.
#[cfg(all(
    feature = "edge",
    not(any(
        feature = "payroc",
        feature = "dlocal",
        feature = "paysafe",
        feature = "bambora"
    ))
))]
compile_error!(
    "the edge worker needs at least one provider feature: --features edge,paysafe \
     (make edge EDGE_PROVIDERS=paysafe; plain make edge builds all four)"
);

#[cfg(feature = "json")]
pub mod backend;
mod base64_codec;
#[cfg(all(feature = "browser", target_arch = "wasm32"))]
pub mod browser;
#[cfg(feature = "native")]
pub mod demo;
pub mod emv;
#[cfg(feature = "json")]
mod json_path;
pub mod order;
pub mod payment;
#[cfg(feature = "json")]
pub mod provider;
#[cfg(feature = "native")]
pub mod sandbox;
#[cfg(feature = "json")]
pub mod session;
#[cfg(feature = "json")]
pub mod store;
mod text_or_number;
mod unit_variant;

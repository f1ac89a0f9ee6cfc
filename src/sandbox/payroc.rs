//! PLACEHOLDER: the payroc emulator is being written.

use axum::Router;

use super::Sandbox;

#[derive(Debug, Default)]
pub struct State {}

pub fn routes() -> Router<Sandbox> {
    Router::new()
}
pub const SANDBOX_TERMINAL: &str = "4479001";

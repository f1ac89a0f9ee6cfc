//! PLACEHOLDER: being written.

use axum::Router;

use super::Sandbox;

pub fn routes() -> Router<Sandbox> {
    Router::new()
}

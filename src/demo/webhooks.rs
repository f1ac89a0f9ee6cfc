//! The demo shop's webhook receiver: what a merchant's endpoint does with the backend's
//! events (docs/backend/webhooks.md), in a few lines, so the demo page can show them.
//! `POST /demo/webhooks` checks the signature (HMAC-SHA256 with the demo's secret, a 5
//! minute window), dedupes by event id and keeps what it saw; `GET /demo/webhooks` with a
//! payment's `X-Client-Secret` lists that payment's deliveries (as `/demo/exchanges` does).

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;
use serde_json::Value;

use crate::backend::auth;
use crate::backend::host::Env;
use crate::backend::native::sqlite::SqliteStore;
use crate::backend::native::SystemEnv;
use crate::backend::webhooks::sign;
use crate::backend::ApiError;
use crate::store::SessionStore;

/// The demo endpoint's signing secret (sandbox only).
pub const DEMO_WEBHOOK_SECRET: &str = "whsec_demo_only_0123456789abcdef";

/// The most deliveries kept: the demo runs for hours.
const KEPT: usize = 1_000;

/// One attempt the receiver got.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Received {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub payment_id: String,
    pub status: Option<String>,
    /// The signature verified (and the timestamp was fresh).
    pub verified: bool,
    /// An event id seen before (answered 2xx, not processed again).
    pub duplicate: bool,
    pub received_at_ms: u64,
}

/// What the receiver saw, newest last.
#[derive(Debug, Default)]
pub struct Receiver {
    seen: Mutex<Vec<Received>>,
}

impl Receiver {
    /// Handles one delivery; the status to answer.
    pub fn receive(&self, headers: &HeaderMap, body: &str) -> StatusCode {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        let now_ms = SystemEnv.now_ms();
        let event_id = header("webhook-id");
        let verified = header("webhook-timestamp")
            .parse::<u64>()
            .is_ok_and(|timestamp| {
                sign::verify(
                    DEMO_WEBHOOK_SECRET,
                    event_id,
                    timestamp,
                    body,
                    header("webhook-signature"),
                    now_ms / 1000,
                )
            });
        let event: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let duplicate = verified
            && seen
                .iter()
                .any(|r| r.verified && r.event_id == event_id && !r.duplicate);
        seen.push(Received {
            event_id: event_id.to_owned(),
            kind: text(&event["type"]).unwrap_or_default(),
            payment_id: text(&event["data"]["payment"]["id"]).unwrap_or_default(),
            status: text(&event["data"]["payment"]["status"]),
            verified,
            duplicate,
            received_at_ms: now_ms,
        });
        if seen.len() > KEPT {
            seen.remove(0);
        }
        if verified {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::UNAUTHORIZED
        }
    }

    /// The deliveries of the payment whose client secret is `presented` (401 otherwise).
    pub async fn for_client_secret(
        &self,
        store: &SqliteStore,
        presented: Option<&str>,
    ) -> Result<Vec<Received>, ApiError> {
        let id = presented
            .and_then(|secret| secret.split_once("_secret_"))
            .map(|(id, _)| id)
            .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        let session = match id {
            Some(id) => store.load(id).await.map_err(|e| ApiError::store(&e))?,
            None => None,
        };
        let Some(session) = session else {
            // "" is nobody's secret: always the refusal.
            return auth::page(presented, "").map(|()| Vec::new());
        };
        auth::page(presented, &session.client_secret)?;
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        Ok(seen
            .iter()
            .filter(|r| r.payment_id == session.id)
            .cloned()
            .collect())
    }
}

/// Shared by the demo's routes.
pub type SharedReceiver = Arc<Receiver>;

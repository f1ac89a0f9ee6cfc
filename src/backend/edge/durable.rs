//! Sessions in a Cloudflare Durable Object, for the edge worker (feature `edge`, wasm32).
//!
//! Not Workers KV: KV has no compare-and-set and may answer a read with a value up to a
//! minute old, so two requests could both see version N, both "win", and both make the
//! money-moving call (docs/edge.md works through it). A Durable Object runs one instance
//! per name, one event at a time, over strongly consistent storage: the compare and the
//! write of [`SessionStore::swap`] happen inside it, with no other request in between.
//!
//! This file is the client: it calls the object's RPC methods (`create`, `load`,
//! `loadByOrder`, `swap`, `due`) on a stub of the namespace binding. The object itself is
//! `ThreedsSessions` in `pkg/edge/sessions.js`; it stores the session's JSON text as the
//! truth with the two numbers it compares on (version, final) beside it, and indexes each
//! unfinished session by its wake-up time (`Session::wake_at_ms`) for the reconciler's
//! sweep, which its alarm runs.
//! Owns the conversion to and from the object's calls; must not decide anything about a
//! payment.

use std::cell::OnceCell;

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::payment::ProviderKind;
use crate::session::Session;
use crate::store::outbox::{Attempted, DueDelivery, Outbox, OutboxEvent};
use crate::store::{SessionStore, StoreError, UNREADABLE_RETRY_MS};

/// A session store over one Durable Object of `namespace` (a `DurableObjectNamespace`
/// binding), the one named `object_name`.
#[derive(Debug, Clone)]
pub struct DurableObjectStore {
    namespace: JsValue,
    object_name: String,
    /// The object's id, made by the first call and kept: an id is plain data, and
    /// `idFromName` hashes the name on every call (a stub, unlike it, is made per call).
    id: OnceCell<JsValue>,
}

/// Largest integer a JavaScript number holds exactly: versions and times travel as numbers.
pub(super) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

impl DurableObjectStore {
    /// `namespace` must be a Durable Object namespace binding (it has `idFromName` and
    /// `get`); anything else is refused here, not at the first payment.
    pub fn new(namespace: JsValue, object_name: &str) -> Result<DurableObjectStore, String> {
        for method in ["idFromName", "get"] {
            let found = Reflect::get(&namespace, &JsValue::from_str(method))
                .ok()
                .filter(|f| f.is_function());
            if found.is_none() {
                return Err(format!(
                    "the session binding is not a Durable Object namespace (no {method})"
                ));
            }
        }
        Ok(DurableObjectStore {
            namespace,
            object_name: object_name.to_owned(),
            id: OnceCell::new(),
        })
    }

    /// The object's stub. Made per call: a stub is cheap, and one made for an earlier
    /// request is not guaranteed to be usable from a later one (its id is).
    fn stub(&self) -> Result<JsValue, StoreError> {
        let id = match self.id.get() {
            Some(id) => id.clone(),
            None => {
                let id = call(
                    &self.namespace,
                    "idFromName",
                    &[self.object_name.as_str().into()],
                )?;
                self.id.get_or_init(|| id).clone()
            }
        };
        call(&self.namespace, "get", &[id])
    }

    /// Moves the wake-up of `keys` (due at `now_ms`, and unreadable) an hour on, by the
    /// object's `method` (`defer` for sessions, `deferOperations`).
    pub(super) async fn defer(&self, method: &str, keys: Array, now_ms: u64) {
        if keys.length() == 0 {
            return;
        }
        let until = now_ms.saturating_add(UNREADABLE_RETRY_MS);
        let args = [keys.into(), number(now_ms), number(until)];
        // Not moved on (the object failing): the records are read, and reported, again at
        // the next sweep.
        let _ = self.rpc(method, &args).await;
    }

    pub(super) async fn rpc(&self, method: &str, args: &[JsValue]) -> Result<JsValue, StoreError> {
        let answer = call(&self.stub()?, method, args)?;
        // An RPC call answers a thenable that is not a `Promise` instance: adopt it.
        JsFuture::from(Promise::resolve(&answer))
            .await
            .map_err(|e| unavailable(method, &describe(&e)))
    }
}

impl SessionStore for DurableObjectStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let record = Record::of(session)?;
        let answer = self
            .rpc(
                "create",
                &[
                    session.id.as_str().into(),
                    order_key(session.provider, &session.order_id).into(),
                    record.version,
                    record.is_final,
                    record.expires_at_ms,
                    record.body.into(),
                    record.wake_at_ms.clone(),
                ],
            )
            .await?;
        match answer.as_string().as_deref() {
            Some("created") => Ok(()),
            Some("duplicate") => Err(StoreError::Duplicate),
            _ => Err(unavailable("create", "unexpected answer")),
        }
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        let answer = self.rpc("load", &[id.into()]).await?;
        parse(answer)
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let answer = self
            .rpc("loadByOrder", &[order_key(provider, order_id).into()])
            .await?;
        parse(answer)
    }

    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        self.swap_with_events(next, &[]).await
    }

    /// One `swap` call with the events: the object writes both in one put.
    async fn swap_with_events(
        &self,
        next: &Session,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let record = Record::of(next)?;
        let answer = self
            .rpc(
                "swap",
                &[
                    next.id.as_str().into(),
                    JsValue::from_f64(expected as f64),
                    record.version,
                    record.is_final,
                    record.expires_at_ms,
                    record.body.into(),
                    record.wake_at_ms.clone(),
                    events_js(events)?,
                ],
            )
            .await?;
        answer
            .as_bool()
            .ok_or_else(|| unavailable("swap", "unexpected answer"))
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        let answer = self
            .rpc(
                "due",
                &[
                    JsValue::from_f64(now_ms.min(MAX_SAFE_INTEGER) as f64),
                    JsValue::from_f64(limit.min(10_000) as f64),
                ],
            )
            .await?;
        let due: js_sys::Array = answer
            .dyn_into()
            .map_err(|_| unavailable("due", "unexpected answer"))?;
        // Each `[id, body]`. A body that no longer reads as a session is logged by its id and
        // left out: one damaged record must not stop the alarm's sweep from settling the
        // others, and an operator finds it by the id. Its wake-up moves an hour on, so that
        // the object's alarm rests and the record is reported once an hour.
        let mut sessions = Vec::with_capacity(due.length() as usize);
        let unreadable = Array::new();
        for entry in due.iter() {
            let id = Reflect::get_u32(&entry, 0).unwrap_or(JsValue::UNDEFINED);
            let body = Reflect::get_u32(&entry, 1).unwrap_or(JsValue::UNDEFINED);
            match parse(body) {
                Ok(Some(session)) => sessions.push(session),
                Ok(None) => {}
                Err(error) => put_aside("session", &id, &error, &unreadable),
            }
        }
        self.defer("defer", unreadable, now_ms).await;
        Ok(sessions)
    }
}

impl Outbox for DurableObjectStore {
    async fn claim_due(
        &self,
        now_ms: u64,
        lease_until_ms: u64,
        limit: usize,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let answer = self
            .rpc(
                "claimDue",
                &[
                    number(now_ms),
                    number(lease_until_ms),
                    JsValue::from_f64(limit.min(1_000) as f64),
                ],
            )
            .await?;
        let rows: js_sys::Array = answer
            .dyn_into()
            .map_err(|_| unavailable("claimDue", "unexpected answer"))?;
        rows.iter().map(|row| due_delivery(&row)).collect()
    }

    async fn record(
        &self,
        claimed: &DueDelivery,
        attempted: Attempted,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        let (outcome, at_ms, status) = match attempted {
            Attempted::Delivered { status } => ("delivered", now_ms, Some(status)),
            Attempted::Retry { status, at_ms } => ("retry", at_ms, status),
            Attempted::GaveUp { status } => ("gave_up", now_ms, status),
        };
        let status = status.map_or(JsValue::NULL, |s| JsValue::from_f64(f64::from(s)));
        self.rpc(
            "record",
            &[
                claimed.event_id.as_str().into(),
                claimed.endpoint.as_str().into(),
                outcome.into(),
                number(at_ms),
                status,
                number(u64::from(claimed.attempts)),
            ],
        )
        .await
        .map(drop)
    }

    async fn backlog(&self) -> Result<u64, StoreError> {
        let answer = self.rpc("backlog", &[]).await?;
        answer
            .as_f64()
            .map(|n| n as u64)
            .ok_or_else(|| unavailable("backlog", "unexpected answer"))
    }
}

/// A due `what` (session, operation) under `key` that does not read: logged by its key,
/// and kept in `unreadable` for [`DurableObjectStore::defer`].
pub(super) fn put_aside(what: &str, key: &JsValue, error: &StoreError, unreadable: &Array) {
    let shown = key.as_string().unwrap_or_default();
    tracing::error!(id = %shown, %error, "a due {what} cannot be read; the sweep leaves it out for an hour");
    unreadable.push(key);
}

fn number(value: u64) -> JsValue {
    JsValue::from_f64(value.min(MAX_SAFE_INTEGER) as f64)
}

/// The events as the object's `swap` takes them: `[{eventId, endpoint, body, createdMs}]`.
pub(super) fn events_js(events: &[OutboxEvent]) -> Result<JsValue, StoreError> {
    let array = js_sys::Array::new();
    for event in events {
        let object = js_sys::Object::new();
        let fields: [(&str, JsValue); 4] = [
            ("eventId", event.event_id.as_str().into()),
            ("endpoint", event.endpoint.as_str().into()),
            ("body", event.body.as_str().into()),
            ("createdMs", number(event.created_ms)),
        ];
        for (name, value) in fields {
            Reflect::set(&object, &name.into(), &value)
                .map_err(|_| unavailable("swap", "cannot build an event"))?;
        }
        array.push(&object);
    }
    Ok(array.into())
}

/// One claimed row from `claimDue`.
fn due_delivery(row: &JsValue) -> Result<DueDelivery, StoreError> {
    let field = |name: &str| Reflect::get(row, &JsValue::from_str(name)).unwrap_or(JsValue::NULL);
    let text = |name: &str| {
        field(name)
            .as_string()
            .ok_or_else(|| unavailable("claimDue", "a row without its text"))
    };
    let count = |name: &str| {
        field(name)
            .as_f64()
            .ok_or_else(|| unavailable("claimDue", "a row without its numbers"))
    };
    Ok(DueDelivery {
        event_id: text("eventId")?,
        endpoint: text("endpoint")?,
        body: text("body")?,
        created_ms: count("createdMs")? as u64,
        attempts: count("attempts")? as u32,
    })
}

/// What the object stores for one session: the JSON text, the numbers it compares, and
/// the expiry its purge goes by.
struct Record {
    version: JsValue,
    is_final: JsValue,
    expires_at_ms: JsValue,
    body: String,
    /// `null` once final: the object's sweep index leaves the session.
    wake_at_ms: JsValue,
}

impl Record {
    fn of(session: &Session) -> Result<Record, StoreError> {
        if session.version > MAX_SAFE_INTEGER || session.expires_at_ms > MAX_SAFE_INTEGER {
            return Err(StoreError::Corrupt(
                "version or expiry beyond 2^53".to_owned(),
            ));
        }
        let body = serde_json::to_string(session)
            .map_err(|e| StoreError::Corrupt(format!("cannot write the session: {e}")))?;
        Ok(Record {
            version: JsValue::from_f64(session.version as f64),
            is_final: JsValue::from_bool(session.phase.is_final()),
            expires_at_ms: JsValue::from_f64(session.expires_at_ms as f64),
            body,
            wake_at_ms: match session.wake_at_ms {
                Some(at) => JsValue::from_f64(at.min(MAX_SAFE_INTEGER) as f64),
                None => JsValue::NULL,
            },
        })
    }
}

/// The object's key for the (provider, order id) uniqueness rule.
fn order_key(provider: ProviderKind, order_id: &str) -> String {
    format!("{}:{order_id}", provider.as_str())
}

fn parse(answer: JsValue) -> Result<Option<Session>, StoreError> {
    if answer.is_null() || answer.is_undefined() {
        return Ok(None);
    }
    let text = answer
        .as_string()
        .ok_or_else(|| StoreError::Corrupt("stored session is not text".to_owned()))?;
    Session::from_text(&text)
        .map(Some)
        .map_err(|e| StoreError::unreadable("body is not a session", &e))
}

/// `target.method(...args)`, with a thrown exception as an error.
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, StoreError> {
    // A stub's methods are callable proxies, not `Function` instances: check `typeof`.
    let function: Function = Reflect::get(target, &JsValue::from_str(method))
        .ok()
        .filter(JsValue::is_function)
        .map(JsCast::unchecked_into)
        .ok_or_else(|| unavailable(method, "no such method"))?;
    let args: js_sys::Array = args.iter().collect();
    Reflect::apply(&function, target, &args).map_err(|e| unavailable(method, &describe(&e)))
}

fn unavailable(method: &str, why: &str) -> StoreError {
    StoreError::Unavailable(format!("session object {method}: {why}"))
}

/// An exception's message (never a value it carried: these are storage errors).
fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| "failed".to_owned())
}

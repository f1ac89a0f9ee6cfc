//! Captures, voids and refunds in the Durable Object (`OperationStore`): the client side of
//! the object's `operationsOf`, `insertOperation`, `swapOperation` and `dueOperations`
//! (`pkg/edge/sessions.js`). The object keeps a counter per payment that every insert and
//! swap of one of its operations moves on; `begin_operation` reads the payment's
//! operations with that counter, decides here ([`operations::decide`]), and inserts only
//! if the counter has not moved since (else reads and decides again): the check and the
//! insert are atomic without the object knowing anything about money.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::durable::{events_js, put_aside, DurableObjectStore, MAX_SAFE_INTEGER};
use crate::store::operations::{self, Begun, OperationRecord, OperationStore};
use crate::store::outbox::OutboxEvent;
use crate::store::StoreError;

/// Reads-and-decides before giving up on a payment many operations race on.
const MAX_BEGIN_ROUNDS: usize = 16;

fn number(n: u64) -> JsValue {
    JsValue::from_f64(n.min(MAX_SAFE_INTEGER) as f64)
}

fn wake(at: Option<u64>) -> JsValue {
    at.map_or(JsValue::NULL, number)
}

fn body(record: &OperationRecord) -> Result<String, StoreError> {
    serde_json::to_string(record)
        .map_err(|e| StoreError::Corrupt(format!("cannot write the operation: {e}")))
}

fn unexpected(method: &str) -> StoreError {
    StoreError::Unavailable(format!("session object {method}: unexpected answer"))
}

fn records(bodies: JsValue, method: &str) -> Result<Vec<OperationRecord>, StoreError> {
    let bodies: Array = bodies.dyn_into().map_err(|_| unexpected(method))?;
    bodies
        .iter()
        .map(|body| {
            let text = body.as_string().ok_or_else(|| unexpected(method))?;
            OperationRecord::from_text(&text)
                .map_err(|e| StoreError::unreadable("body is not an operation", &e))
        })
        .collect()
}

impl DurableObjectStore {
    /// The payment's counter and its operations, oldest first.
    async fn operations_with_counter(
        &self,
        payment_id: &str,
    ) -> Result<(JsValue, Vec<OperationRecord>), StoreError> {
        let answer = self.rpc("operationsOf", &[payment_id.into()]).await?;
        let counter =
            Reflect::get(&answer, &"counter".into()).map_err(|_| unexpected("operationsOf"))?;
        let bodies =
            Reflect::get(&answer, &"bodies".into()).map_err(|_| unexpected("operationsOf"))?;
        Ok((counter, records(bodies, "operationsOf")?))
    }
}

impl OperationStore for DurableObjectStore {
    async fn begin_operation(&self, record: &OperationRecord) -> Result<Begun, StoreError> {
        let text = body(record)?;
        for _ in 0..MAX_BEGIN_ROUNDS {
            let (counter, records) = self.operations_with_counter(&record.payment_id).await?;
            let begun = operations::decide(record, &records);
            if begun != Begun::Created {
                return Ok(begun);
            }
            let answer = self
                .rpc(
                    "insertOperation",
                    &[
                        record.payment_id.as_str().into(),
                        counter,
                        record.id.as_str().into(),
                        number(record.created_at_ms),
                        number(record.version),
                        JsValue::from_bool(record.phase.is_settled()),
                        wake(record.wake_at_ms),
                        text.as_str().into(),
                    ],
                )
                .await?;
            match answer.as_string().as_deref() {
                Some("created") => return Ok(Begun::Created),
                Some("moved") => continue,
                Some("no_payment") => return Err(operations::payment_not_stored()),
                _ => return Err(unexpected("insertOperation")),
            }
        }
        Err(StoreError::Unavailable(
            "this payment's operations keep changing; try again".into(),
        ))
    }

    async fn operations_of(&self, payment_id: &str) -> Result<Vec<OperationRecord>, StoreError> {
        Ok(self.operations_with_counter(payment_id).await?.1)
    }

    async fn swap_operation(&self, next: &OperationRecord) -> Result<bool, StoreError> {
        self.swap_operation_with_events(next, &[]).await
    }

    /// One `swapOperation` call with the events: the object writes both in one put.
    async fn swap_operation_with_events(
        &self,
        next: &OperationRecord,
        events: &[OutboxEvent],
    ) -> Result<bool, StoreError> {
        let Some(expected) = next.version.checked_sub(1) else {
            return Ok(false);
        };
        let answer = self
            .rpc(
                "swapOperation",
                &[
                    next.payment_id.as_str().into(),
                    next.id.as_str().into(),
                    number(expected),
                    number(next.version),
                    JsValue::from_bool(next.phase.is_settled()),
                    wake(next.wake_at_ms),
                    body(next)?.into(),
                    events_js(events)?,
                ],
            )
            .await?;
        answer.as_bool().ok_or_else(|| unexpected("swapOperation"))
    }

    async fn due_operations(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<OperationRecord>, StoreError> {
        let answer = self
            .rpc(
                "dueOperations",
                &[number(now_ms), JsValue::from_f64(limit.min(10_000) as f64)],
            )
            .await?;
        // Each `[key, body]`: one that does not read is left out for an hour, as a session.
        let due: Array = answer.dyn_into().map_err(|_| unexpected("dueOperations"))?;
        let mut records = Vec::with_capacity(due.length() as usize);
        let unreadable = Array::new();
        for entry in due.iter() {
            let key = Reflect::get_u32(&entry, 0).unwrap_or(JsValue::UNDEFINED);
            let text = Reflect::get_u32(&entry, 1)
                .ok()
                .and_then(|body| body.as_string())
                .ok_or_else(|| unexpected("dueOperations"))?;
            match OperationRecord::from_text(&text) {
                Ok(record) => records.push(record),
                Err(failed) => {
                    let error = StoreError::unreadable("body is not an operation", &failed);
                    put_aside("operation", &key, &error, &unreadable);
                }
            }
        }
        self.defer("deferOperations", unreadable, now_ms).await;
        Ok(records)
    }
}

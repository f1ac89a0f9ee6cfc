//! The native host's webhook deliverer: a task that runs [`Backend::deliver_webhooks`]
//! every `webhooks.poll_every_ms` (at once again while rounds find work), like the
//! reconciler's sweep. Several instances on one PostgreSQL database each run one: the
//! store's claim keeps them off each other's rows.

use std::sync::Arc;
use std::time::Duration;

use super::task::{next_tick, ticks, Stoppable};
use crate::backend::host::{Env, Transport};
use crate::backend::Backend;
use crate::store::outbox::Outbox;

/// The running deliverer; stops when [`Webhooks::stop`]ped or dropped, after the round in
/// progress.
pub struct Webhooks(Stoppable);

impl Webhooks {
    /// Stops the timer and waits for the round in progress, if any.
    pub async fn stop(self) {
        self.0.stop().await;
    }
}

/// Starts delivering `backend`'s outbox. Without configured endpoints too: rows written
/// for an endpoint since removed from the config are then given up once their event is
/// `give_up_after_ms` old (logged and counted), as the edge's alarm gives them up, instead
/// of waiting in the store for ever.
pub fn spawn_webhooks<S, T, E>(backend: Arc<Backend<S, T, E>>) -> Webhooks
where
    S: Outbox + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let every = Duration::from_millis(backend.config().webhooks.poll_every_ms);
    Webhooks(Stoppable::spawn(|mut stop| async move {
        let mut ticks = ticks(every);
        while next_tick(&mut ticks, &mut stop).await {
            // Rounds follow one another while they find due rows (a backlog drains at
            // the endpoints' pace, not one batch per tick). Not raced against `stop`: a
            // round may be in a POST; told to stop, it sends no other.
            loop {
                match backend.deliver_webhooks_until(|| !stop.is_empty()).await {
                    Ok(round) if round.attempted() > 0 => {}
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(%error, "webhooks: the store failed; next round later");
                        break;
                    }
                }
                if stop_requested(&mut stop) {
                    return;
                }
            }
        }
    }))
}

fn stop_requested(stop: &mut tokio::sync::oneshot::Receiver<()>) -> bool {
    !matches!(
        stop.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Empty)
    )
}

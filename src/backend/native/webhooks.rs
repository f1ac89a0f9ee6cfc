//! The native host's webhook deliverer: a task that runs [`Backend::deliver_webhooks`]
//! every `webhooks.poll_every_ms` (at once again while rounds find work), like the
//! reconciler's sweep. Several instances on one PostgreSQL database each run one: the
//! store's claim keeps them off each other's rows.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::host::{Env, Transport};
use crate::backend::Backend;
use crate::store::outbox::Outbox;

/// The running deliverer; stops when [`Webhooks::stop`]ped or dropped, after the round in
/// progress.
pub struct Webhooks {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Webhooks {
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts delivering `backend`'s outbox; does nothing without configured endpoints.
pub fn spawn_webhooks<S, T, E>(backend: Arc<Backend<S, T, E>>) -> Webhooks
where
    S: Outbox + Send + Sync + 'static,
    T: Transport + Send + Sync + 'static,
    E: Env + Send + Sync + 'static,
{
    let config = &backend.config().webhooks;
    if config.endpoints.is_empty() {
        return Webhooks {
            stop: None,
            task: None,
        };
    }
    let every = Duration::from_millis(config.poll_every_ms.max(1));
    let (tx, mut stop) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = &mut stop => break,
            }
            // Rounds follow one another while they find due rows (a backlog drains at
            // the endpoints' pace, not one batch per tick). Not raced against `stop`: a
            // round may be in a POST.
            loop {
                match backend.deliver_webhooks().await {
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
    });
    Webhooks {
        stop: Some(tx),
        task: Some(task),
    }
}

fn stop_requested(stop: &mut tokio::sync::oneshot::Receiver<()>) -> bool {
    !matches!(
        stop.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Empty)
    )
}

//! A task of the native host that runs until it is told to stop: the server, the
//! reconciler, the webhook deliverer.

use std::future::Future;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{Interval, MissedTickBehavior};

/// A spawned task and the signal that tells it to stop. [`Stoppable::stop`] sends the
/// signal and waits for the task to end; dropping it only sends it, and the task ends on
/// its own once the work in progress is done.
pub(super) struct Stoppable {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Stoppable {
    /// Spawns `work`, given the receiver that says when to stop.
    pub(super) fn spawn<F>(work: impl FnOnce(oneshot::Receiver<()>) -> F) -> Stoppable
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let (stop, told) = oneshot::channel();
        Stoppable {
            stop: Some(stop),
            task: Some(tokio::spawn(work(told))),
        }
    }

    /// Tells the task to stop and waits until it has ended.
    pub(super) async fn stop(mut self) {
        self.signal();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn signal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for Stoppable {
    fn drop(&mut self) {
        self.signal();
    }
}

/// A timer for work repeated every `every`, its first tick at once; a tick missed while the
/// work ran is not made up for.
pub(super) fn ticks(every: Duration) -> Interval {
    let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticks
}

/// Waits for the next tick, or for the signal to stop: false once told to stop.
pub(super) async fn next_tick(ticks: &mut Interval, stop: &mut oneshot::Receiver<()>) -> bool {
    tokio::select! {
        _ = ticks.tick() => true,
        _ = stop => false,
    }
}

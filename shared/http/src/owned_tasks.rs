//! Background tasks a service owns, and the signal that stops them: the
//! service starts them with a receiver of [`OwnedTasks::stopping`], and
//! once it has stopped serving, [`OwnedTasks::stop`] signals them and waits
//! until they have finished what they hold (a batch, a queue, an attempt).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Tasks and their stop signal.
#[derive(Debug)]
pub struct OwnedTasks {
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Default for OwnedTasks {
    fn default() -> Self {
        Self { stop: watch::channel(false).0, tasks: Mutex::default() }
    }
}

impl OwnedTasks {
    /// What a task watches: it turns true when the task is to finish.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Owns `task`, to be awaited by [`OwnedTasks::stop`].
    pub fn own(&self, task: JoinHandle<()>) {
        self.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(task);
    }

    /// Signals the tasks to finish, without waiting.
    pub fn signal(&self) {
        self.stop.send_replace(true);
    }

    /// Signals the tasks and waits until all have ended, at most `within`;
    /// false if some had not by then.
    pub async fn stop(&self, within: Duration) -> bool {
        self.signal();
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        tokio::time::timeout(within, futures::future::join_all(tasks)).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_signals_the_tasks_and_waits_for_them() {
        let owned = OwnedTasks::default();
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let mut stopping = owned.stopping();
        owned.own(tokio::spawn(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
            let _ = done.send(());
        }));
        assert!(owned.stop(Duration::from_secs(5)).await);
        assert!(finished.try_recv().is_ok(), "the task ended before stop returned");

        let stuck = OwnedTasks::default();
        stuck.own(tokio::spawn(std::future::pending()));
        assert!(!stuck.stop(Duration::from_millis(20)).await, "a task that does not end is reported");
    }
}

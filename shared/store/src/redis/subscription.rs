//! A Redis pub/sub subscription kept up for as long as someone listens:
//! reconnects with a capped backoff and reports when it is up or down.

use futures::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;

/// What a kept-up subscription reports.
pub(crate) enum Subscription {
    /// Subscribed (first time or after a reconnect).
    Up,
    /// A message on the channel.
    Message(redis::Msg),
    /// The subscription broke; a reconnect follows.
    Down,
}

/// Keeps `channel` subscribed, reconnecting with a capped backoff, and
/// reports on the returned receiver; stops when the receiver is dropped.
pub(crate) fn subscribe_forever(client: redis::Client, channel: String) -> mpsc::Receiver<Subscription> {
    let (reports, receiver) = mpsc::channel(1024);
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                    Ok(()) => {
                        backoff = Duration::from_millis(100);
                        if reports.send(Subscription::Up).await.is_err() {
                            return;
                        }
                        let mut messages = pubsub.into_on_message();
                        while let Some(message) = messages.next().await {
                            if reports.send(Subscription::Message(message)).await.is_err() {
                                return;
                            }
                        }
                        tracing::warn!(%channel, "subscription closed; reconnecting");
                    }
                    Err(error) => tracing::warn!(%error, %channel, "cannot subscribe"),
                },
                Err(error) => tracing::warn!(%error, %channel, "cannot connect to subscribe"),
            }
            if reports.send(Subscription::Down).await.is_err() {
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    });
    receiver
}

//! [`InvalidationBus`] on Redis pub/sub. A message on `{prefix}invalidate`
//! is `<publisher> <message number> <series>` for a new version, with
//! ` deleted` after it for a deleted series; each replica applies it and
//! publishes the number on `{prefix}ack:<publisher>`. Every publishing
//! process listens on its own ack channel and counts acknowledgements in
//! memory against the receiver count `PUBLISH` returned, so waiting holds no
//! Redis connection. The subscribers reconnect on their own; the
//! invalidation subscriber says so (`Disconnected`, then `Connected`), so
//! infer can drop what it may have missed. Each subscription also publishes
//! `~heartbeat <subscriber> <bus clock nanos>` on the invalidation channel
//! every [`HEARTBEAT_EVERY`] and reports its own as they come back.

use super::{Subscription, subscribe_forever};
use crate::ports::bus::{ACK_TIMEOUT, Ack, HEARTBEAT_EVERY, bus_clock};
use crate::{BusEvent, Change, InvalidationBus, StoreError};
use anomaly_core::SeriesId;
use async_trait::async_trait;
use deadpool_redis::Pool;
use futures::StreamExt;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, OnceCell, mpsc, watch};

/// Acknowledgements awaited by this process, by message number.
type Waiting = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<()>>>>;

/// Invalidations over the channel `{prefix}invalidate`.
pub struct RedisBus {
    client: redis::Client,
    pool: Pool,
    prefix: String,
    channel: String,
    /// Names this process's ack channel, unique across processes.
    instance: String,
    next_message: AtomicU64,
    waiting: Waiting,
    /// True while the ack channel is subscribed; started on first publish.
    acks_live: OnceCell<watch::Receiver<bool>>,
}

impl RedisBus {
    /// A bus on the Redis at `url`, publishing through `pool`.
    pub fn new(url: &str, pool: Pool, prefix: &str) -> Result<Self, StoreError> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Ok(Self {
            client: redis::Client::open(url)?,
            pool,
            prefix: prefix.to_owned(),
            channel: format!("{prefix}invalidate"),
            instance: format!("{:x}", nanos ^ u64::from(std::process::id()).rotate_left(32)),
            next_message: AtomicU64::new(0),
            waiting: Waiting::default(),
            acks_live: OnceCell::new(),
        })
    }

    /// Starts the ack listener once and waits (bounded) until it subscribed.
    async fn ensure_ack_listener(&self) {
        let mut live = self
            .acks_live
            .get_or_init(|| async {
                let (live, watcher) = watch::channel(false);
                let channel = ack_channel(&self.prefix, &self.instance);
                tokio::spawn(listen_for_acks(self.client.clone(), channel, self.waiting.clone(), live));
                watcher
            })
            .await
            .clone();
        let _ = tokio::time::timeout(ACK_TIMEOUT, live.wait_for(|up| *up)).await;
    }
}

fn ack_channel(prefix: &str, instance: &str) -> String {
    format!("{prefix}ack:{instance}")
}

#[async_trait]
impl InvalidationBus for RedisBus {
    async fn publish(&self, series_id: &SeriesId, change: Change) -> Result<(), StoreError> {
        self.ensure_ack_listener().await;
        let number = self.next_message.fetch_add(1, Ordering::Relaxed);
        let (acked, mut acks) = mpsc::unbounded_channel();
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).insert(number, acked);
        let published = async {
            let mut conn = self.pool.get().await?;
            let message = match change {
                Change::NewVersion => format!("{} {number} {series_id}", self.instance),
                Change::Deleted => format!("{} {number} {series_id} {DELETED}", self.instance),
            };
            let receivers: u64 = redis::cmd("PUBLISH").arg(&self.channel).arg(message).query_async(&mut conn).await?;
            Ok::<u64, StoreError>(receivers)
        }
        .await;
        let outcome = match published {
            Ok(receivers) => {
                let all_acked = async {
                    for _ in 0..receivers {
                        acks.recv().await;
                    }
                };
                if tokio::time::timeout(ACK_TIMEOUT, all_acked).await.is_err() {
                    tracing::warn!(%series_id, receivers, "not every replica acknowledged the invalidation in time");
                }
                Ok(())
            }
            Err(error) => Err(error),
        };
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&number);
        outcome
    }

    fn subscribe(&self) -> BoxStream<'static, BusEvent> {
        static SUBSCRIBERS: AtomicU64 = AtomicU64::new(0);
        let subscriber = format!("{}.{}", self.instance, SUBSCRIBERS.fetch_add(1, Ordering::Relaxed));
        let acks = AckSender { pool: self.pool.clone(), prefix: self.prefix.clone() };
        let alive = Arc::new(());
        let subscribed = Arc::new(Notify::new());
        let heartbeats = Heartbeats {
            pool: self.pool.clone(),
            channel: self.channel.clone(),
            subscriber: subscriber.clone(),
            subscribed: subscribed.clone(),
        };
        tokio::spawn(heartbeats.send_while(Arc::downgrade(&alive)));
        let subscription = subscribe_forever(self.client.clone(), self.channel.clone());
        let events = invalidation_events(subscription, acks, subscriber, subscribed);
        // The heartbeats stop when the subscription is dropped.
        events
            .map(move |event| {
                let _keeps_heartbeats_going = &alive;
                event
            })
            .boxed()
    }

    fn sends_heartbeats(&self) -> bool {
        true
    }
}

/// One subscription's heartbeats.
struct Heartbeats {
    pool: Pool,
    channel: String,
    subscriber: String,
    /// Notified when the subscription is (re)established: a heartbeat goes
    /// out at once, so a new subscriber trusts its cache within milliseconds.
    subscribed: Arc<Notify>,
}

impl Heartbeats {
    /// Publishes a heartbeat every [`HEARTBEAT_EVERY`] and on each
    /// (re)subscription while `alive` lives.
    async fn send_while(self, alive: std::sync::Weak<()>) {
        let mut every = tokio::time::interval(HEARTBEAT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while alive.strong_count() > 0 {
            tokio::select! {
                _ = every.tick() => {}
                () = self.subscribed.notified() => {}
            }
            let message = format!("{HEARTBEAT} {} {}", self.subscriber, bus_clock().as_nanos());
            let sent = async {
                let mut conn = self.pool.get().await?;
                let _: u64 = redis::cmd("PUBLISH").arg(&self.channel).arg(message).query_async(&mut conn).await?;
                Ok::<(), StoreError>(())
            };
            if let Err(error) = sent.await {
                tracing::debug!(%error, "heartbeat not sent");
            }
        }
    }
}

/// First word of a heartbeat message (never a publisher name: those are hex).
const HEARTBEAT: &str = "~heartbeat";

/// Last word of the message for a deleted series (series ids have no spaces).
const DELETED: &str = "deleted";

/// Publishes acknowledgements for one subscriber.
#[derive(Clone)]
struct AckSender {
    pool: Pool,
    prefix: String,
}

impl AckSender {
    fn ack(&self, publisher: &str, number: &str) -> Ack {
        let (pool, channel, number) = (self.pool.clone(), ack_channel(&self.prefix, publisher), number.to_owned());
        Ack::new(move || {
            tokio::spawn(async move {
                let published = async {
                    let mut conn = pool.get().await?;
                    let _: u64 = redis::cmd("PUBLISH").arg(&channel).arg(&number).query_async(&mut conn).await?;
                    Ok::<(), StoreError>(())
                };
                if let Err(error) = published.await {
                    tracing::warn!(%error, "could not acknowledge an invalidation");
                }
            });
        })
    }
}

/// Hands each acknowledgement on this process's ack channel to the publish
/// waiting for it, and tells whether the channel is subscribed. Ends when
/// the bus is dropped.
async fn listen_for_acks(client: redis::Client, channel: String, waiting: Waiting, live: watch::Sender<bool>) {
    let mut subscription = subscribe_forever(client, channel);
    while let Some(report) = subscription.recv().await {
        let up = match report {
            Subscription::Up => true,
            Subscription::Down => false,
            Subscription::Message(message) => {
                if let Ok(number) = message.get_payload::<u64>()
                    && let Some(waiter) = waiting.lock().unwrap_or_else(PoisonError::into_inner).get(&number)
                {
                    let _ = waiter.send(());
                }
                continue;
            }
        };
        live.send_replace(up);
        if live.is_closed() {
            return;
        }
    }
}

/// The invalidation events of one subscriber: `Connected` / `Disconnected`
/// as the subscription goes up and down, and each parsed invalidation with
/// its acknowledgement.
fn invalidation_events(
    subscription: mpsc::Receiver<Subscription>,
    acks: AckSender,
    subscriber: String,
    subscribed: Arc<Notify>,
) -> BoxStream<'static, BusEvent> {
    futures::stream::unfold(subscription, |mut subscription| async move {
        subscription.recv().await.map(|report| (report, subscription))
    })
    .filter_map(move |report| {
        let event = match report {
            Subscription::Up => {
                subscribed.notify_one();
                Some(BusEvent::Connected)
            }
            Subscription::Down => Some(BusEvent::Disconnected),
            Subscription::Message(message) => parse_message(&message, &acks, &subscriber),
        };
        std::future::ready(event)
    })
    .boxed()
}

/// Reads `<publisher> <message number> <series>[ deleted]`, or this
/// subscriber's own heartbeat (other subscribers' are skipped).
fn parse_message(message: &redis::Msg, acks: &AckSender, subscriber: &str) -> Option<BusEvent> {
    let payload = message.get_payload::<String>().ok()?;
    let mut parts = payload.split(' ');
    let (publisher, number, series) = (parts.next()?, parts.next()?, parts.next()?);
    if publisher == HEARTBEAT {
        return (number == subscriber)
            .then(|| series.parse().ok().map(Duration::from_nanos))
            .flatten()
            .map(BusEvent::Heartbeat);
    }
    let change = match parts.next() {
        None => Change::NewVersion,
        Some(DELETED) => Change::Deleted,
        Some(_) => return None,
    };
    let series_id = SeriesId::parse(series).ok()?;
    Some(BusEvent::Invalidate(series_id, change, acks.ack(publisher, number)))
}

//! The ports: the traits every storage adapter implements (SQL in
//! [`crate::sql`], Redis in [`crate::redis`], in-process in
//! [`crate::memory`], Kafka in [`crate::kafka`]) and the values they carry.
//! A component is handed the ports it uses.

pub(crate) mod anomaly_feed;
pub(crate) mod anomaly_labels;
pub(crate) mod bus;
pub(crate) mod cache;
pub(crate) mod latency_log;
pub(crate) mod leases;
pub(crate) mod live_verdicts;
pub(crate) mod log_rows;
pub(crate) mod models;
pub(crate) mod mutes;
pub(crate) mod prediction_history;
pub(crate) mod stream;
pub(crate) mod stream_points;
pub(crate) mod webhooks;

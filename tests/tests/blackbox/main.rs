//! Black-box tests in one binary (one link of the whole stack instead of one
//! per file): each module starts real services and talks HTTP to them.

mod access;
mod alerts;
mod bad_input;
mod contract;
mod dashboard_in_a_browser;
mod dashboard_pages;
mod deletion;
mod detectors;
mod fit_during_redis_outage;
mod health;
mod hostile_values;
mod invalidation;
mod kafka;
mod labels;
mod live_feed;
mod metrics;
mod models_listing;
mod no_input_breaks_a_service;
mod openapi_drift;
mod original_clients;
mod plot_and_docs;
mod poison_entries;
mod prediction_history;
mod redis_recovery;
mod restart;
mod rules;
mod slow_clients;
mod stream_crash;
mod stream_history;
mod stream_matches_eval;
mod streaming;
mod versions_under_concurrency;
mod webhooks;

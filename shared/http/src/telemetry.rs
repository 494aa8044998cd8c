//! Structured logs with `tracing`: level from `RUST_LOG` (default `info`),
//! human-readable text or one JSON object a line.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `format` is `text` or `json`.
pub fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second call (e.g. from tests) keeps the first subscriber.
    let _ = if format == "json" { builder.json().try_init() } else { builder.try_init() };
}

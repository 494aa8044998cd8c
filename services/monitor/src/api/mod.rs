//! The monitor's JSON routes (and the SVG plot), each with its OpenAPI
//! operation: model listings, the prediction and anomaly history, the
//! plot, the stream's stored points, the live feed and webhooks.

pub mod events;
pub mod labels;
pub mod models;
pub mod mutes;
pub mod plot;
pub mod points;
pub mod predictions;
pub mod webhooks;

//! `/dashboard/webhooks`: the registered endpoints, the mutes, recent
//! deliveries and the latest failures.

use super::{PageResult, Section, format_millis, format_seconds, layout};
use crate::MonitorState;
use anomaly_store::{Delivery, DeliveryQuery};
use axum::extract::State;
use maud::{Markup, html};

/// Deliveries listed per table.
const LISTED: u32 = 50;

/// The webhooks page.
pub async fn page(State(state): State<MonitorState>) -> PageResult {
    let store = &state.backends.webhooks;
    let hooks = store.webhooks().await?;
    let recent = store.deliveries(DeliveryQuery { webhook_id: None, status: None, limit: LISTED }).await?;
    let failed = store.deliveries(DeliveryQuery { webhook_id: None, status: Some("failed"), limit: LISTED }).await?;
    let mutes = state.backends.mutes.mutes().await?;
    let now = chrono::Utc::now().timestamp();
    let content = html! {
        p.muted { "Register endpoints with " code { "POST /webhooks" } "; see the API docs." }
        table {
            thead { tr {
                th { "Id" } th { "URL" } th { "Series" } th.num { "Min score" } th { "Mode" } th { "Format" }
                th { "Registered (UTC)" }
            } }
            tbody {
                @for hook in &hooks {
                    tr {
                        td { code { (hook.id) } }
                        td.wrap { (hook.url) }
                        td { (hook.series_id.as_deref().unwrap_or("any")) }
                        td.num { (hook.min_score.map(|m| m.to_string()).unwrap_or_default()) }
                        td { (hook.mode) }
                        td { (hook.format) }
                        td { (format_millis(hook.created_at_ms)) }
                    }
                }
                @if hooks.is_empty() { tr { td colspan="7" .muted { "No webhooks registered." } } }
            }
        }
        h2 { "Mutes" }
        p.muted { "While a mute holds, anomalies are stored and shown, marked muted, and fire no webhook. Create them with "
            code { "POST /mutes" } "." }
        table {
            thead { tr { th { "Id" } th { "Series" } th { "From (UTC)" } th { "To (UTC)" } th { "Reason" } th { "State" } } }
            tbody {
                @for mute in &mutes {
                    tr {
                        td { code { (mute.id) } }
                        td { (mute.series_id.as_deref().unwrap_or("every series")) }
                        td { (format_seconds(mute.from)) }
                        td { (format_seconds(mute.to)) }
                        td.wrap { (mute.reason) }
                        td { @if (mute.from..=mute.to).contains(&now) { "active" } @else if mute.from > now { "upcoming" } @else { "ended" } }
                    }
                }
                @if mutes.is_empty() { tr { td colspan="6" .muted { "No mutes." } } }
            }
        }
        h2 { "Recent deliveries" }
        (deliveries_table(&recent, "No deliveries yet."))
        h2 { "Latest failures" }
        (deliveries_table(&failed, "No delivery has failed."))
    };
    Ok(layout("Webhooks", Section::Webhooks, content))
}

fn deliveries_table(deliveries: &[Delivery], empty: &str) -> Markup {
    html! {
        table {
            thead { tr {
                th { "Delivery" } th { "Webhook" } th { "Status" } th.num { "Attempts" } th.num { "Last code" }
                th { "Last error" } th { "Created (UTC)" }
            } }
            tbody {
                @for delivery in deliveries {
                    tr class=[(delivery.status == "failed").then_some("anomaly")] {
                        td { code { (delivery.id) } }
                        td { code { (delivery.webhook_id) } }
                        td { (delivery.status) }
                        td.num { (delivery.attempts) }
                        td.num { (delivery.last_status_code.map(|c| c.to_string()).unwrap_or_default()) }
                        td.wrap { (delivery.last_error.as_deref().unwrap_or_default()) }
                        td { (format_millis(delivery.created_at_ms)) }
                    }
                }
                @if deliveries.is_empty() { tr { td colspan="7" .muted { (empty) } } }
            }
        }
    }
}

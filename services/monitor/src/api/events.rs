//! `GET /events`: the live feed as Server-Sent Events. Each anomaly is an
//! `event: anomaly` whose data is the anomaly as `GET /anomalies` lists it
//! and whose `id:` is its position in the anomaly feed; a client that
//! reconnects with `Last-Event-ID` gets what it missed (as far back as the
//! feed keeps). A client that fell behind gets `event: lagged` and then
//! what it missed. A comment every 15 s keeps idle connections open.
//! With `?series_id=`, the series' verdicts come too (`event: verdict`,
//! see [`crate::verdict_events`]). At most `SSE_MAX_CLIENTS` clients are
//! connected at once; past it 503 with `Retry-After`.

use crate::MonitorState;
use crate::live_feed::{LiveEvent, Subscription};
use crate::query_params::{optional_series_id, sources};
use crate::verdict_events::verdict_events;
use anomaly_core::SeriesId;
use anomaly_http::{ApiError, ApiQuery, ErrorBody};
use anomaly_store::LogPosition;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use std::convert::Infallible;
use std::time::Duration;

/// How often an idle stream sends a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Which anomalies a client follows.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only this series.
    #[param(value_type = Option<anomaly_http::SeriesIdText>, inline)]
    pub series_id: Option<String>,
    /// `stream` or `predict`; omitted: both.
    #[param(pattern = r"^(stream|predict)$")]
    pub source: Option<String>,
}

/// What one client is sent.
struct Filter {
    series_id: Option<SeriesId>,
    predict: bool,
    stream: bool,
}

impl Filter {
    fn parse(query: &EventsQuery) -> Result<Self, ApiError> {
        let series_id = optional_series_id(query.series_id.as_deref())?;
        let (predict, stream) = sources(query.source.as_deref())?;
        Ok(Self { series_id, predict, stream })
    }

    /// The series whose verdicts the client also gets.
    fn verdicts_of(&self) -> Option<SeriesId> {
        self.series_id.clone().filter(|_| self.stream)
    }

    fn wants(&self, event: &LiveEvent) -> bool {
        let LiveEvent::Anomaly(anomaly) = event else { return true };
        let view = &anomaly.view;
        self.series_id.as_ref().is_none_or(|id| id.as_str() == view.series_id)
            && if view.source == "predict" { self.predict } else { self.stream }
    }
}

/// The anomalies as they are found, as Server-Sent Events.
#[utoipa::path(
    get,
    path = "/events",
    tag = "monitor",
    params(
        EventsQuery,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (sent by EventSource on reconnect)", pattern = r"^[0-9]{1,20}(-[0-9]{1,20})?$"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `event: anomaly` (data: the anomaly as `GET /anomalies` lists it), `event: lagged` (the client fell behind; what it missed follows), keep-alive comments; with `series_id` (and a source including `stream`) also `event: verdict` for every point of the series the stream judges from now on (data: `series_id`, `timestamp`, `value`, `score`, `anomaly`, `warming_up`, `detector`, `model_version`; no `id:`, not resumed, best effort: a client that fell behind gets `event: verdicts_missed`, data `{\"at_most\": n}`)", content_type = "text/event-stream", body = String),
        (status = 422, description = "Invalid series id, source or Last-Event-ID", body = ErrorBody),
        (status = 503, description = "The anomaly feed cannot be read, or `SSE_MAX_CLIENTS` clients are connected (with `Retry-After`)", body = ErrorBody),
    )
)]
pub async fn events(
    State(state): State<MonitorState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let filter = Filter::parse(&query)?;
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(raw) => Some(raw.to_str().ok().and_then(LogPosition::parse).ok_or_else(|| ApiError::BadRequest {
            code: "invalid_last_event_id",
            message: "Last-Event-ID must be an event id this feed sent, like 1700000000000-0".into(),
        })?),
    };
    // Held for as long as the client's stream lives.
    let slot = state.sse_slots.clone().try_acquire_owned().map_err(|_| ApiError::Busy {
        code: "too_many_event_clients",
        message: "the live feed has as many clients as SSE_MAX_CLIENTS allows; retry later".into(),
    })?;
    let subscription = state.live.subscribe(resume).await?;
    let verdicts_of = filter.verdicts_of();
    let anomalies =
        futures::stream::unfold((subscription, filter, slot), |(mut subscription, filter, slot)| async move {
            let event = next_wanted(&mut subscription, &filter).await?;
            Some((event, (subscription, filter, slot)))
        });
    let events = match verdicts_of {
        None => anomalies.boxed(),
        Some(series_id) => {
            // Ends when the anomalies end (the client reconnects), whatever the verdicts do.
            let anomalies = anomalies.map(Some).chain(futures::stream::once(async { None }));
            let verdicts = verdict_events(state.backends.live_verdicts.clone(), series_id).map(Some);
            futures::stream::select(anomalies, verdicts)
                .take_while(|event| std::future::ready(event.is_some()))
                .filter_map(std::future::ready)
                .boxed()
        }
    };
    Ok(Sse::new(events.map(Ok)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// The next event the filter lets through, as SSE; `None` ends the stream.
async fn next_wanted(subscription: &mut Subscription, filter: &Filter) -> Option<Event> {
    loop {
        let event = match subscription.next().await {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(%error, "live feed ended for a client; it reconnects with Last-Event-ID");
                return None;
            }
        };
        if !filter.wants(&event) {
            continue;
        }
        return Some(match event {
            LiveEvent::Anomaly(anomaly) => {
                Event::default().event("anomaly").id(anomaly.id.to_string()).data(&anomaly.json)
            }
            LiveEvent::Lagged => Event::default().event("lagged").data("{}"),
        });
    }
}

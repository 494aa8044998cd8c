//! Count and latency of every request by service, route and status:
//! `anomaly_http_requests_total` and `anomaly_http_request_duration_seconds`.
//!
//! A hand-written layer rather than `from_fn`: no boxed future per request,
//! and the metric handles of each (route, status) are looked up under a
//! read lock instead of being registered on every call.

use axum::extract::MatchedPath;
use axum::http::Request;
use axum::response::Response;
use metrics::{Counter, Histogram};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};

/// Route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// Adds request metrics to a service's router.
#[derive(Clone)]
pub struct RequestMetricsLayer {
    handles: Arc<Handles>,
}

impl RequestMetricsLayer {
    /// Metrics labelled with `service`.
    pub fn new(service: &'static str) -> Self {
        crate::metrics::install();
        Self { handles: Arc::new(Handles { service, by_route: RwLock::default() }) }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics { inner, handles: self.handles.clone() }
    }
}

/// The count and latency handles of one status of one route.
type StatusHandles = (u16, Counter, Histogram);

/// The handles of each route and status, registered on first use.
struct Handles {
    service: &'static str,
    by_route: RwLock<HashMap<Box<str>, Vec<StatusHandles>>>,
}

impl Handles {
    fn record(&self, route: &str, status: u16, seconds: f64) {
        {
            let by_route = self.by_route.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, count, time)) = by_route.get(route).and_then(|s| s.iter().find(|(s, ..)| *s == status)) {
                count.increment(1);
                time.record(seconds);
                return;
            }
        }
        let labels =
            [("service", self.service.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
        let count = metrics::counter!("anomaly_http_requests_total", &labels);
        let time = metrics::histogram!("anomaly_http_request_duration_seconds", &labels);
        count.increment(1);
        time.record(seconds);
        let mut by_route = self.by_route.write().unwrap_or_else(PoisonError::into_inner);
        let statuses = by_route.entry(route.into()).or_default();
        if !statuses.iter().any(|(s, ..)| *s == status) {
            statuses.push((status, count, time));
        }
    }
}

/// The service [`RequestMetricsLayer`] wraps around each route.
#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    handles: Arc<Handles>,
}

impl<S, B> Service<Request<B>> for RequestMetrics<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Recorded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request.extensions().get::<MatchedPath>().cloned();
        Recorded { inner: self.inner.call(request), route, started: Instant::now(), handles: self.handles.clone() }
    }
}

pin_project_lite::pin_project! {
    /// A response future that records its request when it completes.
    pub struct Recorded<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
        started: Instant,
        handles: Arc<Handles>,
    }
}

impl<F, E> Future for Recorded<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            let route = this.route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
            this.handles.record(route, response.status().as_u16(), this.started.elapsed().as_secs_f64());
        }
        Poll::Ready(result)
    }
}

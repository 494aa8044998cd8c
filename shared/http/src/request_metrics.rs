//! Count and latency of every request by service, route and status:
//! `anomaly_http_requests_total` and `anomaly_http_request_duration_seconds`.
//!
//! A hand-written layer rather than `from_fn`: no boxed future per request.
//! The handles of each (service, route) are registered once per process and
//! kept for its life (a service has a few dozen routes); each thread finds
//! them in a cache of its own, and the common statuses' handles without a
//! lock. So a request touches no shared counter but the metrics' own: no
//! reference count, no lock (on two cores those bounce between the
//! threads' caches on every request).

use axum::extract::MatchedPath;
use axum::http::Request;
use axum::response::Response;
use metrics::{Counter, Histogram};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;
use tower::{Layer, Service};

/// Route label of requests that matched no route.
const UNMATCHED: &str = "unmatched";

/// Statuses whose handles are found without a lock; others are registered
/// under one.
const COMMON_STATUSES: [u16; 20] =
    [200, 201, 202, 204, 304, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 502, 503, 504];

/// Adds request metrics to a service's router.
#[derive(Clone, Copy)]
pub struct RequestMetricsLayer {
    service: &'static str,
}

impl RequestMetricsLayer {
    /// Metrics labelled with `service`.
    pub fn new(service: &'static str) -> Self {
        crate::metrics::install();
        Self { service }
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics { inner, service: self.service }
    }
}

/// The count and latency handles of one status of one route.
type StatusHandles = (Counter, Histogram);

/// The handles of one route of one service, for the life of the process.
struct RouteHandles {
    service: &'static str,
    route: Box<str>,
    common: [OnceLock<StatusHandles>; COMMON_STATUSES.len()],
    others: Mutex<Vec<(u16, &'static StatusHandles)>>,
}

impl RouteHandles {
    /// The handles of `route` of `service`: this thread's cache, else the
    /// process's, else registered now.
    fn of(service: &'static str, route: &str) -> &'static Self {
        thread_local! {
            static CACHE: RefCell<Vec<&'static RouteHandles>> = const { RefCell::new(Vec::new()) };
        }
        let matches = |handles: &&'static Self| handles.service == service && *handles.route == *route;
        CACHE.with_borrow_mut(|cache| {
            if let Some(found) = cache.iter().copied().find(matches) {
                return found;
            }
            static REGISTERED: Mutex<Vec<&'static RouteHandles>> = Mutex::new(Vec::new());
            let mut registered = REGISTERED.lock().unwrap_or_else(PoisonError::into_inner);
            let found = match registered.iter().copied().find(matches) {
                Some(found) => found,
                None => {
                    let new: &'static Self = Box::leak(Box::new(Self {
                        service,
                        route: route.into(),
                        common: Default::default(),
                        others: Mutex::default(),
                    }));
                    registered.push(new);
                    new
                }
            };
            cache.push(found);
            found
        })
    }

    /// The handles of `status`.
    fn status(&self, status: u16) -> &StatusHandles {
        match COMMON_STATUSES.iter().position(|common| *common == status) {
            Some(slot) => self.common[slot].get_or_init(|| self.register(status)),
            None => {
                let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
                match others.iter().find(|(s, _)| *s == status) {
                    Some((_, handles)) => handles,
                    None => {
                        let handles: &'static StatusHandles = Box::leak(Box::new(self.register(status)));
                        others.push((status, handles));
                        handles
                    }
                }
            }
        }
    }

    fn register(&self, status: u16) -> StatusHandles {
        let labels =
            [("service", self.service.to_owned()), ("route", self.route.to_string()), ("status", status.to_string())];
        (
            metrics::counter!("anomaly_http_requests_total", &labels),
            metrics::histogram!("anomaly_http_request_duration_seconds", &labels),
        )
    }
}

/// The service [`RequestMetricsLayer`] wraps around each route.
#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    service: &'static str,
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
        let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, MatchedPath::as_str);
        let handles = RouteHandles::of(self.service, route);
        Recorded { inner: self.inner.call(request), handles, started: Instant::now() }
    }
}

pin_project_lite::pin_project! {
    /// A response future that records its request when it completes.
    pub struct Recorded<F> {
        #[pin]
        inner: F,
        handles: &'static RouteHandles,
        started: Instant,
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
            let (count, time) = this.handles.status(response.status().as_u16());
            count.increment(1);
            time.record(this.started.elapsed().as_secs_f64());
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_s_handles_are_registered_once_per_process_and_found_from_any_thread() {
        let here = RouteHandles::of("test-service", "/a/{id}");
        assert!(std::ptr::eq(here, RouteHandles::of("test-service", "/a/{id}")), "cached on this thread");
        let there = std::thread::spawn(|| RouteHandles::of("test-service", "/a/{id}") as *const RouteHandles as usize);
        assert_eq!(there.join().expect("joins"), here as *const RouteHandles as usize, "the same on another");
        assert!(!std::ptr::eq(here, RouteHandles::of("other-service", "/a/{id}")), "by service");
        assert!(!std::ptr::eq(here, RouteHandles::of("test-service", "/b")), "and by route");
    }

    #[test]
    fn every_status_gets_handles_of_its_own() {
        let handles = RouteHandles::of("test-service", "/statuses");
        assert!(std::ptr::eq(handles.status(200), handles.status(200)), "a common status, without a lock");
        assert!(std::ptr::eq(handles.status(418), handles.status(418)), "a rare one, under one");
        assert!(!std::ptr::eq(handles.status(200), handles.status(404)));
        assert!(!std::ptr::eq(handles.status(418), handles.status(451)));
    }
}

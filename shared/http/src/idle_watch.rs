//! Closing connections that hold the server without asking it anything:
//! one that sends nothing, half-sent headers (one byte every few seconds
//! included), a keep-alive connection left idle. A connection is closed
//! once, for `HEADER_READ_TIMEOUT`, it has started no request and has none
//! open (a request is open from its headers until its response's last
//! byte, so a long upload, a slow handler or a live feed is never cut).
//!
//! Per request this costs two counter updates; the clock is read once per
//! check, a quarter of the timeout apart, per connection (hyper's own
//! header timer moved a timer of the runtime on every request).

use axum::body::Bytes;
use http_body::{Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// What one connection's requests are doing, as its watch sees them.
#[derive(Debug, Default)]
pub struct Activity {
    /// Requests whose headers have arrived.
    started: AtomicU64,
    /// Requests started whose response has not been sent (or dropped).
    open: AtomicU64,
}

impl Activity {
    /// Completes once the connection has, for `timeout`, started no request
    /// and had none open: its caller then drops (closes) it. Checked every
    /// quarter of `timeout`, so it completes between `timeout` and 1.25
    /// times it after the connection fell silent.
    pub async fn silent_for(&self, timeout: Duration) {
        let mut checks = tokio::time::interval((timeout / 4).max(Duration::from_millis(1)));
        checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let (mut seen, mut since) = (self.started.load(Ordering::Relaxed), Instant::now());
        loop {
            checks.tick().await;
            let started = self.started.load(Ordering::Relaxed);
            if started != seen || self.open.load(Ordering::Relaxed) > 0 {
                (seen, since) = (started, Instant::now());
            } else if since.elapsed() >= timeout {
                return;
            }
        }
    }

    /// Notes a request whose headers arrived; it stays open while the
    /// returned guard lives.
    fn start(self: &Arc<Self>) -> OpenRequest {
        self.started.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenRequest(self.clone())
    }
}

/// A request counted as open until dropped.
#[derive(Debug)]
struct OpenRequest(Arc<Activity>);

impl Drop for OpenRequest {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `inner`, with each request counted in `activity` from its call until
/// its response body is done.
#[derive(Debug, Clone)]
pub struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    /// `inner`, counting its requests in `activity`.
    pub fn new(inner: S, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<S, B> tower::Service<axum::http::Request<B>> for Watched<S>
where
    S: tower::Service<axum::http::Request<B>, Response = axum::response::Response>,
{
    type Response = axum::http::Response<WatchedBody>;
    type Error = S::Error;
    type Future = WatchedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let open = Some(self.activity.start());
        WatchedFuture { inner: self.inner.call(request), open }
    }
}

pin_project_lite::pin_project! {
    /// The response of a counted request; the request stays open in its body.
    pub struct WatchedFuture<F> {
        #[pin]
        inner: F,
        open: Option<OpenRequest>,
    }
}

impl<F, E> Future for WatchedFuture<F>
where
    F: Future<Output = Result<axum::response::Response, E>>,
{
    type Output = Result<axum::http::Response<WatchedBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let open = this.open.take();
        Poll::Ready(Ok(response.map(|inner| WatchedBody { inner, _open: open })))
    }
}

pin_project_lite::pin_project! {
    /// A response body that keeps its request open until it is dropped.
    pub struct WatchedBody {
        #[pin]
        inner: axum::body::Body,
        _open: Option<OpenRequest>,
    }
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn silence_is_noticed_after_the_timeout_and_an_open_request_is_not_silence() {
        let activity = Arc::new(Activity::default());
        let started = Instant::now();
        activity.silent_for(Duration::from_secs(4)).await;
        let waited = started.elapsed();
        assert!((Duration::from_secs(4)..=Duration::from_secs(5)).contains(&waited), "{waited:?}");

        let open = activity.start();
        let watch = tokio::time::timeout(Duration::from_secs(60), activity.silent_for(Duration::from_secs(4)));
        assert!(watch.await.is_err(), "an open request for a minute is not silence");
        drop(open);
        let started = Instant::now();
        activity.silent_for(Duration::from_secs(4)).await;
        assert!(started.elapsed() <= Duration::from_secs(5), "silent once the request is done");
    }
}

//! The bounds of a request body, in one wrapper around it: at most
//! `MAX_BODY_BYTES` (a longer body, or a `Content-Length` declaring one,
//! fails with [`BodyTooLarge`], answered 413), arriving whole within
//! `REQUEST_BODY_TIMEOUT` (silence and a trickle, one byte every few
//! seconds, are cut off alike with [`BodyDeadlinePassed`], answered 408;
//! see [`crate::extract`]). A handler that never reads its body pays
//! nothing, and a body that is there when it is read pays no timer: the
//! deadline starts when a read first has to wait, and counts from then.
//!
//! A body past the limit is read to its end and dropped before it fails,
//! as long as it is at most twice the limit and keeps within the deadline:
//! a client still sending when the server answers would otherwise see its
//! connection reset instead of the 413. A longer one fails at once.

use axum::body::{Bytes, HttpBody};
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// The error a body gives when its deadline passed.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within its deadline")]
pub struct BodyDeadlinePassed;

/// The error a body gives when it is longer than its limit.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than the limit")]
pub struct BodyTooLarge;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// `inner`, failing with [`BodyTooLarge`] past `limit` bytes and with
    /// [`BodyDeadlinePassed`] once `timeout` has passed since a read first
    /// had to wait.
    pub struct GuardedBody<B> {
        #[pin]
        inner: B,
        #[pin]
        deadline: Option<Sleep>,
        timeout: Duration,
        limit: usize,
        // Bytes read so far.
        read: usize,
        // Past the limit, read or declared: the rest is read and dropped.
        too_large: bool,
    }
}

impl<B: HttpBody> GuardedBody<B> {
    /// `inner` with at most `limit` bytes, within `timeout`.
    pub fn new(inner: B, limit: usize, timeout: Duration) -> Self {
        Self { inner, deadline: None, timeout, limit, read: 0, too_large: false }
    }
}

impl<B> HttpBody for GuardedBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let too_large = || Poll::Ready(Some(Err(Box::new(BodyTooLarge) as BoxError)));
        let droppable_to = this.limit.saturating_mul(2) as u64;
        let declared_to = this.inner.size_hint().lower().saturating_add(*this.read as u64);
        if declared_to > droppable_to {
            return too_large();
        }
        *this.too_large |= declared_to > *this.limit as u64;
        loop {
            let frame = match this.inner.as_mut().poll_frame(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(Ok(frame))) => frame,
                // The end of a body past the limit, or a failure reading the rest.
                Poll::Ready(_) if *this.too_large => return too_large(),
                Poll::Ready(other) => return Poll::Ready(other.map(|result| result.map_err(Into::into))),
            };
            *this.read = this.read.saturating_add(frame.data_ref().map_or(0, Bytes::len));
            if *this.read as u64 > droppable_to {
                return too_large();
            }
            *this.too_large |= *this.read > *this.limit;
            if !*this.too_large {
                return Poll::Ready(Some(Ok(frame)));
            }
        }
        if this.deadline.is_none() {
            this.deadline.set(Some(tokio::time::sleep(*this.timeout)));
        }
        match this.deadline.as_pin_mut().map(|deadline| deadline.poll(cx)) {
            Some(Poll::Ready(())) if *this.too_large => too_large(),
            Some(Poll::Ready(())) => Poll::Ready(Some(Err(Box::new(BodyDeadlinePassed)))),
            _ => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Gives every request's body a limit of `limit` bytes and a deadline of
/// `timeout`.
pub fn guard(
    limit: usize,
    timeout: Duration,
) -> impl Fn(Request) -> axum::http::Request<GuardedBody<axum::body::Body>> + Clone {
    move |request: Request| request.map(|body| GuardedBody::new(body, limit, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use http_body_util::BodyExt;

    fn trickle() -> http_body_util::StreamBody<futures::stream::BoxStream<'static, Result<Frame<Bytes>, std::io::Error>>>
    {
        // One byte a second, for ever: never silent for long.
        let bytes = futures::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(b"x"))), ()))
        });
        http_body_util::StreamBody::new(bytes.boxed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_off_at_the_deadline_however_often_it_sends() {
        let body = GuardedBody::new(trickle(), 1 << 20, Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let error = body.collect().await.expect_err("cut off");
        assert!(error.is::<BodyDeadlinePassed>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_arrives_in_time_is_read_whole() {
        let body = GuardedBody::new(axum::body::Body::from("hello"), 5, Duration::from_secs(1));
        assert_eq!(body.collect().await.expect("read").to_bytes(), "hello");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_past_the_limit_fails_whether_declared_or_streamed() {
        let declared = GuardedBody::new(axum::body::Body::from("hello!"), 5, Duration::from_secs(1));
        let error = declared.collect().await.expect_err("declared longer than the limit");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        // Three bytes allowed, three more dropped: the seventh is one too many.
        let streamed = GuardedBody::new(trickle(), 3, Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let error = streamed.collect().await.expect_err("past the limit");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(7));
    }

    /// A body of `frames` frames of `size` bytes, one a second, that counts
    /// the frames read from it.
    fn counted(
        frames: usize,
        size: usize,
        read: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) -> http_body_util::StreamBody<futures::stream::BoxStream<'static, Result<Frame<Bytes>, std::io::Error>>> {
        let bytes = futures::stream::iter(0..frames).then(move |_| {
            let read = std::sync::Arc::clone(&read);
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                read.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(Frame::data(Bytes::from(vec![b' '; size])))
            }
        });
        http_body_util::StreamBody::new(bytes.boxed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_up_to_twice_the_limit_is_read_to_its_end_before_it_fails() {
        let read = std::sync::Arc::default();
        let body = GuardedBody::new(counted(10, 2, std::sync::Arc::clone(&read)), 10, Duration::from_secs(30));
        let error = body.collect().await.expect_err("20 bytes against a limit of 10");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), 10, "every frame was read");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_past_twice_the_limit_fails_without_being_read_to_its_end() {
        let read = std::sync::Arc::default();
        let body = GuardedBody::new(counted(10, 3, std::sync::Arc::clone(&read)), 10, Duration::from_secs(30));
        let error = body.collect().await.expect_err("30 bytes against a limit of 10");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), 7, "the seventh frame passes twice the limit");
        let declared = GuardedBody::new(axum::body::Body::from(vec![b' '; 21]), 10, Duration::from_secs(1));
        let error = declared.collect().await.expect_err("declared past twice the limit");
        assert!(error.is::<BodyTooLarge>(), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_past_the_limit_that_stops_arriving_fails_as_too_large_at_the_deadline() {
        // Past the limit at the fourth byte; cut off before the fifth.
        let body = GuardedBody::new(trickle(), 3, Duration::from_millis(4500));
        let started = tokio::time::Instant::now();
        let error = body.collect().await.expect_err("past the limit, then cut off");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_millis(4500));
    }
}

//! The bounds of a request body, in one wrapper around it: at most
//! `MAX_BODY_BYTES` (a longer body, or a `Content-Length` declaring one,
//! fails with [`BodyTooLarge`], answered 413), arriving whole within
//! `REQUEST_BODY_TIMEOUT` (silence and a trickle, one byte every few
//! seconds, are cut off alike with [`BodyDeadlinePassed`], answered 408;
//! see [`crate::extract`]). A handler that never reads its body pays
//! nothing, and a body that is there when it is read pays no timer: the
//! deadline starts when a read first has to wait, and counts from then.
//!
//! A body dropped before its end (a 413, or any answer given before the
//! body was read: 401, 415, 404, a bad series id) is read to its end and
//! dropped in a task of its own, as long as it is at most twice the limit
//! and arrives within the deadline: a client still sending when the server
//! answers would otherwise see its connection reset instead of the answer.
//! A longer body, or one past its deadline, is not read further.

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
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
    /// had to wait; dropped before its end, the rest is read in a task of
    /// its own (see the module).
    pub struct GuardedBody {
        // None once handed to the task that reads the rest.
        inner: Option<Body>,
        #[pin]
        deadline: Option<Sleep>,
        timeout: Duration,
        limit: usize,
        // Bytes read so far.
        read: usize,
        // Not to be read further: its end was reached, or it failed other
        // than by being too large.
        done: bool,
    }

    impl PinnedDrop for GuardedBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let Some(inner) = this.inner.take() else { return };
            if *this.done || inner.is_end_stream() {
                return;
            }
            let rest = this.limit.saturating_mul(2).saturating_sub(*this.read) as u64;
            if inner.size_hint().lower() > rest {
                return;
            }
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(read_to_its_end(inner, rest, *this.timeout));
            }
        }
    }
}

impl GuardedBody {
    /// `inner` with at most `limit` bytes, within `timeout`.
    pub fn new(inner: Body, limit: usize, timeout: Duration) -> Self {
        Self { inner: Some(inner), deadline: None, timeout, limit, read: 0, done: false }
    }
}

/// Reads `body` to its end and drops it, for at most `bytes` and `timeout`.
async fn read_to_its_end(mut body: Body, mut bytes: u64, timeout: Duration) {
    let reading = async {
        while let Some(Ok(frame)) = body.frame().await {
            match bytes.checked_sub(frame.data_ref().map_or(0, Bytes::len) as u64) {
                Some(left) => bytes = left,
                None => return,
            }
        }
    };
    let _ = tokio::time::timeout(timeout, reading).await;
}

impl HttpBody for GuardedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut() else { return Poll::Ready(None) };
        if inner.size_hint().lower() > this.limit.saturating_sub(*this.read) as u64 {
            return Poll::Ready(Some(Err(Box::new(BodyTooLarge))));
        }
        if let Poll::Ready(frame) = Pin::new(inner).poll_frame(cx) {
            let Some(Ok(frame)) = frame else {
                *this.done = true;
                return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
            };
            *this.read = this.read.saturating_add(frame.data_ref().map_or(0, Bytes::len));
            if *this.read > *this.limit {
                return Poll::Ready(Some(Err(Box::new(BodyTooLarge))));
            }
            return Poll::Ready(Some(Ok(frame)));
        }
        if this.deadline.is_none() {
            this.deadline.set(Some(tokio::time::sleep(*this.timeout)));
        }
        match this.deadline.as_pin_mut().map(|deadline| deadline.poll(cx)) {
            Some(Poll::Ready(())) => {
                *this.done = true;
                Poll::Ready(Some(Err(Box::new(BodyDeadlinePassed))))
            }
            _ => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

/// Gives every request's body a limit of `limit` bytes and a deadline of
/// `timeout`.
pub fn guard(limit: usize, timeout: Duration) -> impl Fn(Request) -> axum::http::Request<GuardedBody> + Clone {
    move |request: Request| request.map(|body| GuardedBody::new(body, limit, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn trickle() -> Body {
        // One byte a second, for ever: never silent for long.
        let bytes = futures::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(b"x"))), ()))
        });
        Body::new(http_body_util::StreamBody::new(bytes))
    }

    /// A body of `frames` frames of `size` bytes, one a second, and the
    /// count of the frames read from it.
    fn counted(frames: usize, size: usize) -> (Body, Arc<AtomicUsize>) {
        let read = Arc::new(AtomicUsize::new(0));
        let counter = read.clone();
        let bytes = futures::stream::iter(0..frames).then(move |_| {
            let counter = counter.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                counter.fetch_add(1, Ordering::Relaxed);
                Ok::<_, std::io::Error>(Frame::data(Bytes::from(vec![b' '; size])))
            }
        });
        (Body::new(http_body_util::StreamBody::new(bytes)), read)
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
        let body = GuardedBody::new(Body::from("hello"), 5, Duration::from_secs(1));
        assert_eq!(body.collect().await.expect("read").to_bytes(), "hello");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_past_the_limit_fails_whether_declared_or_streamed() {
        let declared = GuardedBody::new(Body::from("hello!"), 5, Duration::from_secs(1));
        let error = declared.collect().await.expect_err("declared longer than the limit");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        let streamed = GuardedBody::new(trickle(), 3, Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let error = streamed.collect().await.expect_err("the fourth byte is one too many");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_dropped_before_its_end_is_read_to_it_up_to_twice_the_limit() {
        // Past the limit after the fifth frame: 413, and the rest read.
        let (body, read) = counted(10, 2);
        let error = GuardedBody::new(body, 9, Duration::from_secs(30)).collect().await.expect_err("too large");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(read.load(Ordering::Relaxed), 10, "20 bytes, at most 18 then: the tenth frame read and refused");
        // Never read (an answer given before the body was): read whole.
        let (body, read) = counted(10, 2);
        drop(GuardedBody::new(body, 10, Duration::from_secs(30)));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(read.load(Ordering::Relaxed), 10, "every frame");
        // Longer than twice the limit: read until it is past it, then dropped.
        let (body, read) = counted(10, 3);
        drop(GuardedBody::new(body, 10, Duration::from_secs(30)));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(read.load(Ordering::Relaxed), 7, "the seventh frame passes 20 bytes");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_past_its_deadline_is_not_read_further() {
        let (body, read) = counted(10, 1);
        let error = GuardedBody::new(body, 100, Duration::from_millis(2500)).collect().await.expect_err("cut off");
        assert!(error.is::<BodyDeadlinePassed>(), "{error}");
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(read.load(Ordering::Relaxed), 2, "two frames in 2.5 s, none after");
        // Dropped unread, the rest is read within the deadline only.
        let (body, read) = counted(10, 1);
        drop(GuardedBody::new(body, 100, Duration::from_millis(4500)));
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(read.load(Ordering::Relaxed), 4);
    }
}

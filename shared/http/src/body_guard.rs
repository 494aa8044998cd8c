//! The bounds of a request body, in one wrapper around it: at most
//! `MAX_BODY_BYTES` (a longer body, or a `Content-Length` declaring one,
//! fails with [`BodyTooLarge`], answered 413), arriving whole within
//! `REQUEST_BODY_TIMEOUT` (silence and a trickle, one byte every few
//! seconds, are cut off alike with [`BodyDeadlinePassed`], answered 408;
//! see [`crate::extract`]). A handler that never reads its body pays
//! nothing, and a body that is there when it is read pays no timer: the
//! deadline starts when a read first has to wait, and counts from then.

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
        // Bytes it may still bring.
        remaining: usize,
    }
}

impl<B: HttpBody> GuardedBody<B> {
    /// `inner` with at most `limit` bytes, within `timeout`.
    pub fn new(inner: B, limit: usize, timeout: Duration) -> Self {
        Self { inner, deadline: None, timeout, remaining: limit }
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
        if this.inner.size_hint().lower() > *this.remaining as u64 {
            return Poll::Ready(Some(Err(Box::new(BodyTooLarge))));
        }
        if let Poll::Ready(frame) = this.inner.as_mut().poll_frame(cx) {
            return Poll::Ready(frame.map(|result| {
                let frame = result.map_err(Into::into)?;
                if let Some(data) = frame.data_ref() {
                    *this.remaining = this.remaining.checked_sub(data.len()).ok_or(BodyTooLarge)?;
                }
                Ok(frame)
            }));
        }
        if this.deadline.is_none() {
            this.deadline.set(Some(tokio::time::sleep(*this.timeout)));
        }
        match this.deadline.as_pin_mut().map(|deadline| deadline.poll(cx)) {
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
        let streamed = GuardedBody::new(trickle(), 3, Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let error = streamed.collect().await.expect_err("the fourth byte is one too many");
        assert!(error.is::<BodyTooLarge>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(4));
    }
}

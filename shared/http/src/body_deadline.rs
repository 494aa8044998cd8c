//! A request body must arrive whole within `REQUEST_BODY_TIMEOUT`, counted
//! from the handler's first read of it: silence and a trickle (one byte
//! every few seconds) are cut off alike, and the request is answered 408
//! (see [`crate::extract`]). A handler that never reads its body pays
//! nothing: the timer starts with the first read.

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

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// `inner`, failing with [`BodyDeadlinePassed`] once `timeout` has
    /// passed since its first read.
    pub struct DeadlineBody<B> {
        #[pin]
        inner: B,
        #[pin]
        deadline: Option<Sleep>,
        timeout: Duration,
    }
}

impl<B> DeadlineBody<B> {
    /// `inner` with a deadline of `timeout` from its first read.
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self { inner, deadline: None, timeout }
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if this.deadline.is_none() {
            this.deadline.set(Some(tokio::time::sleep(*this.timeout)));
        }
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
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

/// Gives every request's body a deadline of `timeout`.
pub fn with_deadline(
    timeout: Duration,
) -> impl Fn(Request) -> axum::http::Request<DeadlineBody<axum::body::Body>> + Clone {
    move |request: Request| request.map(|body| DeadlineBody::new(body, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use http_body_util::BodyExt;

    #[tokio::test(start_paused = true)]
    async fn a_trickle_is_cut_off_at_the_deadline_however_often_it_sends() {
        // One byte a second, for ever: never silent for long.
        let trickle = futures::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(b"x"))), ()))
        });
        let body = DeadlineBody::new(http_body_util::StreamBody::new(trickle.boxed()), Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let error = body.collect().await.expect_err("cut off");
        assert!(error.is::<BodyDeadlinePassed>(), "{error}");
        assert_eq!(started.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_arrives_in_time_is_read_whole() {
        let body = DeadlineBody::new(axum::body::Body::from("hello"), Duration::from_secs(1));
        assert_eq!(body.collect().await.expect("read").to_bytes(), "hello");
    }
}

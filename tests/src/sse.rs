//! A small Server-Sent Events client for the tests: connects (optionally
//! resuming with `Last-Event-ID`) and reads one event at a time.

use futures::StreamExt;
use futures::stream::BoxStream;
use std::time::Duration;

/// One event as the server framed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` (`message` when none was given).
    pub event: String,
    /// `id:`, when given.
    pub id: Option<String>,
    /// `data:` lines joined by newlines.
    pub data: String,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap_or_else(|e| panic!("event data is not JSON ({e}): {self:?}"))
    }
}

/// An open event stream.
pub struct SseClient {
    body: BoxStream<'static, Result<bytes::Bytes, String>>,
    buffer: String,
}

impl SseClient {
    /// Opens `url`, after `last_event_id` if given; panics unless it answers
    /// 200 `text/event-stream`.
    pub async fn connect(url: &str, last_event_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new().get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(response.status(), reqwest::StatusCode::OK, "GET {url}");
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(content_type.starts_with("text/event-stream"), "GET {url}: {content_type}");
        let body = response.bytes_stream().map(|chunk| chunk.map_err(|e| e.to_string()));
        Self { body: body.boxed(), buffer: String::new() }
    }

    /// Opens `url` over a socket with a receive buffer of a few KB, so a
    /// client that does not read pushes back on the server at once (the
    /// kernel's usual buffers would absorb megabytes first).
    pub async fn connect_with_small_window(url: &str) -> Self {
        use http_body_util::BodyExt;
        let address = url.strip_prefix("http://").and_then(|rest| rest.split('/').next()).expect("an http:// URL");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(4096).expect("small receive buffer");
        let stream = socket.connect(address.parse().expect("ip:port")).await.expect("connects");
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.expect("handshake");
        tokio::spawn(connection);
        let request = hyper::Request::get(url)
            .header("host", address)
            .header("accept", "text/event-stream")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .expect("request");
        let response = sender.send_request(request).await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(response.status(), 200, "GET {url}");
        let body = response.into_body().into_data_stream().map(|chunk| chunk.map_err(|e| e.to_string()));
        Self { body: body.boxed(), buffer: String::new() }
    }

    /// The next event (comments skipped), or `None` if none came within
    /// `wait` or the stream ended.
    pub async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        tokio::time::timeout(wait, self.next()).await.ok().flatten()
    }

    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            let chunk = self.body.next().await?.ok()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// One event block; `None` for a comment-only block.
fn parse(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent { event: "message".into(), ..SseEvent::default() };
    let mut data = Vec::new();
    for line in block.lines() {
        let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "event" => event.event = value.into(),
            "id" => event.id = Some(value.into()),
            "data" => data.push(value),
            _ => {}
        }
    }
    if data.is_empty() && event.id.is_none() {
        return None;
    }
    event.data = data.join("\n");
    Some(event)
}

//! A webhook receiver the tests run: an HTTP endpoint that records every
//! request and answers with scripted statuses.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `X-Anomaly-Delivery` header.
    pub delivery: String,
    /// The `X-Anomaly-Signature` header.
    pub signature: String,
    /// The body.
    pub body: Bytes,
}

/// An HTTP endpoint answering with the scripted statuses in turn (then 200),
/// recording every request.
pub struct Receiver {
    /// Where to POST.
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on 127.0.0.1, answering `script`'s statuses in turn, then 200.
    pub async fn start(script: &[u16]) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post({
                let received = received.clone();
                move |headers: HeaderMap, body: Bytes| async move {
                    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    received.lock().expect("lock").push(Received {
                        delivery: header("x-anomaly-delivery"),
                        signature: header("x-anomaly-signature"),
                        body,
                    });
                    let status = answers.lock().expect("lock").pop_front().unwrap_or(200);
                    AxumStatus::from_u16(status).expect("status")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, received, _server: server }
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

//! The bare baseline served on a port (default 9001): see [`perf::baseline`].

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(9001);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!("baseline listening on http://{}", listener.local_addr()?);
    axum::serve(listener, perf::baseline::router()).await
}

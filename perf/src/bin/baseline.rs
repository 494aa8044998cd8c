//! The bare baseline served on a port (default 9001): see [`perf::baseline`].
//! With `--our-server`, the same router is served by the platform's own
//! server (`anomaly_http::Server`: body limit and timeout, header-read
//! timeout, connection cap, JSON 404) instead of `axum::serve`, to measure
//! what that layer costs a request.

use clap::Parser;

#[derive(Parser)]
struct Cli {
    /// Port to listen on.
    #[arg(default_value_t = 9001)]
    port: u16,
    /// Serve through the platform's server instead of `axum::serve`.
    #[arg(long)]
    our_server: bool,
    #[command(flatten)]
    http: anomaly_http::HttpArgs,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    if cli.our_server {
        let server = anomaly_http::Server::bind("127.0.0.1", cli.port, perf::baseline::router(), &cli.http).await?;
        eprintln!("baseline (our server) listening on {}", server.url()?);
        return server.run(std::future::pending()).await;
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cli.port)).await?;
    eprintln!("baseline listening on http://{}", listener.local_addr()?);
    axum::serve(listener, perf::baseline::router()).await
}

# One image for every service: the binaries train, infer, monitor and
# platform (all three in one process). Pick one with the container command.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p train -p infer -p monitor -p platform

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* && useradd --system --uid 10001 --create-home anomaly
COPY --from=build /src/target/release/train /src/target/release/infer \
    /src/target/release/monitor /src/target/release/platform /usr/local/bin/
USER anomaly
WORKDIR /home/anomaly
ENV HOST=0.0.0.0 LOG_FORMAT=json
EXPOSE 8000 8001 8002
CMD ["platform"]

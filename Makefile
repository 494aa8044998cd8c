# The two commands a new user needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run test bench lint fmt compose-check k8s-check ci

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: ## Run train, infer and monitor in one process on the embedded default (no setup)
	cargo run --release -p platform

# The tests run under cargo-nextest: one process per test, so the metrics
# test sees only its own requests in the process-wide registry.
test: ## Run the whole test suite (starts PostgreSQL, Redis and Chromium for it when needed)
	cargo nextest --version >/dev/null 2>&1 || cargo install cargo-nextest --locked
	cargo build -p platform  # the crash test runs the platform binary as a process of its own
	eval "$$(scripts/test-services.sh)" && cargo nextest run --workspace

bench: ## Benchmark predict against a bare axum baseline, then fits and the other scenarios (perf/README.md)
	perf/bench.sh

lint: ## Check formatting and clippy warnings
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

compose-check: ## Validate docker-compose.yml (installs docker-compose when missing)
	command -v docker-compose >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose; }
	docker-compose -f docker-compose.yml config -q
	docker-compose -f docker-compose.yml -f docker-compose.kafka.yml config -q

k8s-check: ## Validate deploy/k8s offline against the Kubernetes schemas (installs the validator once)
	scripts/k8s-check.sh

ci: lint compose-check k8s-check test ## What CI runs

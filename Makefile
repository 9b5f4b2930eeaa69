# lakeloader: `make demo` runs the product end to end on the local stack; `make test` runs every test.
SHELL := /bin/bash
STACK := scripts/stack/stack.sh
NODE_TEST := node --import tsx --test --test-reporter=spec

.PHONY: all install build up down stack-status lint typecheck test test-unit test-integration demo bench-bulk bench-cdc bench-soak clean

all: build

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

install: node_modules/.package-lock.json

build: install
	npm run build --silent

# The local lakehouse stack: PostgreSQL, MinIO, Iceberg REST catalogs, Kafka, Kafka Connect + Debezium,
# DuckDB extensions, pyiceberg. Installs what is missing (cached), starts what is stopped.
up: install
	$(STACK) up

down:
	$(STACK) down

stack-status:
	$(STACK) status

typecheck: install
	npx tsc -p tsconfig.json --noEmit

lint: typecheck
	npx eslint .

test-unit: install
	$(NODE_TEST) test/unit/*.test.ts

# Integration tests run against the real stack; `up` is idempotent and fast when it already runs.
test-integration: build up
	$(NODE_TEST) --test-concurrency=1 test/integration/*.test.ts

test: lint test-unit test-integration

demo: build up
	scripts/demo.sh

# Bulk-load benchmark: 5M-row table, loader vs `COPY … TO STDOUT` (docs/benchmarks.md). Starts only the
# services it needs; BENCH_* variables are described in bench/bulk/run.sh.
bench-bulk: build
	bench/bulk/run.sh

# CDC benchmark: 500k Debezium changes on a 1M-row table, apply vs a read-and-parse kafkajs baseline, latency
# at 2,000 changes/s, read time after 100 and 1,000 micro-batches. BENCH_* variables: bench/cdc/run.sh.
bench-cdc: build
	bench/cdc/run.sh

# Soak: 3,000 small micro-batches on a 1M-row table with automatic maintenance on; apply and read times,
# files and bytes every 100 batches (docs/benchmarks.md). BENCH_* variables: bench/soak/run.sh.
bench-soak: build
	bench/soak/run.sh

clean:
	rm -rf dist

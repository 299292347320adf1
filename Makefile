# Borderless: `make dev` serves the demo store through the worker on
# http://127.0.0.1:8787; `make test` runs every test. Both install what is missing.

SHELL := /bin/bash
# The machine's Node (full ICU): source of currency formats and the Intl oracle.
# Read before PATH below puts node_modules/.bin (Node 22, for wrangler) first.
SYSTEM_NODE := $(shell command -v node)
export BORDERLESS_NODE ?= $(SYSTEM_NODE)
export ORACLE_NODE ?= $(SYSTEM_NODE)
CARGO_BIN := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
export PATH := $(CARGO_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
# worker-build would download these from GitHub; use the local ones.
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild

ORIGIN_PORT ?= 8790
WORKER_PORT ?= 8787
RUST_SRC := $(shell find src -name '*.rs') Cargo.toml Cargo.lock

.PHONY: setup worker dist dist-test seed demo-bundle dev test test-native test-e2e fmt lint clean bench bench-profiles deploy-check

setup:
	@scripts/setup.sh

# wasm-opt for the worker, run here rather than by worker-build: worker-build
# 0.8 always adds `--debuginfo`, which keeps the names section (165 KB raw,
# 43 KB gzip) in the upload. The features are worker-build's explicit list
# (no encodings newer than workerd's); SIMD comes from the module's own
# target_features section.
WASM_OPT_FLAGS := -O3 --strip-debug \
  $(addprefix --enable-,mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue reference-types exception-handling)

# The Wasm worker (build/index.js + build/index_bg.wasm); rebuilt only when sources change.
worker: build/index.js
build/index.js: $(RUST_SRC) Makefile
	worker-build --release --no-opt
	wasm-opt $(WASM_OPT_FLAGS) build/index_bg.wasm -o build/index_bg.wasm
	@touch build/index.js

# The exact bundle wrangler would upload, for the end-to-end tests.
dist: dist/entry.js
dist/entry.js: build/index.js worker/entry.mjs wrangler.toml
	rm -rf dist
	wrangler deploy --dry-run --outdir dist --env dev >/dev/null
	@touch dist/entry.js

# What `wrangler deploy --env <env>` would upload, for every environment
# (no account needed), checked for size and completeness, and the demo's KV
# bundle validated (scripts/deploy-check.sh).
DEPLOY_ENVS ?= dev staging production
deploy-check: worker precompute demo-bundle
	@scripts/deploy-check.sh $(DEPLOY_ENVS)

# The worker with the test-only panic trigger (`--features test-panic`) and
# the same entry, for tests/e2e/panic.test.mjs; never deployed.
dist-test: dist-test/entry.js
build-test/index.js: $(RUST_SRC)
	CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	  worker-build --release --no-opt --out-dir build-test -- --features test-panic
	@touch build-test/index.js
dist-test/entry.js: build-test/index.js worker/entry.mjs wrangler.toml
	sed 's#"../build/index.js"#"./index.js"#' worker/entry.mjs > build-test/entry.mjs
	# wrangler.toml without its [build] step (that builds the release worker).
	sed '/^\[build\]/,/^$$/d' wrangler.toml > build-test/wrangler.toml
	rm -rf dist-test
	wrangler deploy build-test/entry.mjs --config build-test/wrangler.toml --dry-run --outdir dist-test --env dev >/dev/null
	@touch dist-test/entry.js

# Local KV for `wrangler dev --env dev`.
seed: setup precompute
	node scripts/seed.mjs

dev: export BORDERLESS_NO_BROWSER := 1
dev: setup worker seed
	@scripts/dev.sh $(ORIGIN_PORT) $(WORKER_PORT)

test: setup test-native test-duckdb dist test-e2e

test-native:
	cargo test --all-targets

# The demo's KV bundle (target/kv/bundle.json), also used by the e2e tests.
demo-bundle: precompute
	node scripts/seed.mjs --build-only

test-e2e: dist dist-test demo-bundle
	node --test --test-concurrency=1 'tests/e2e/*.test.mjs'

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings

clean:
	rm -rf build dist build-test dist-test .wrangler target/wasm32-unknown-unknown

# ---- Precompute: the native `borderless` CLI (src/precompute, src/bin/borderless.rs) ----
# `make seed` builds the demo's KV bundle from the real log with it (cached in
# target/kv/ by scripts/seed.mjs) and publishes it to local KV; `make eval`
# prints the evaluation table; `make test-duckdb` checks the README's warehouse
# SQL against the tool's own aggregation on the real log.

RETAIL_LOG ?= ../shared/data/online-retail/online_retail.csv.gz
DUCKDB_VERSION := 2.0.0

.PHONY: precompute eval test-duckdb

precompute: target/release/borderless
target/release/borderless: $(RUST_SRC)
	cargo build --release --bin borderless
	@touch $@

eval: precompute
	target/release/borderless eval --retail $(RETAIL_LOG)

# DuckDB from PyPI in a local venv, installed once.
.venv/.duckdb-$(DUCKDB_VERSION):
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check duckdb==$(DUCKDB_VERSION)
	@touch $@

test-duckdb: .venv/.duckdb-$(DUCKDB_VERSION) precompute
	BORDERLESS_BIN=target/release/borderless BORDERLESS_RETAIL_CSV=$(RETAIL_LOG) .venv/bin/python tests/duckdb/test_equivalence.py

# ---- Benchmarks ----
# The benchmarks (BENCHMARKS.md, bench/results.json): the worker against a
# passthrough and a reference JS worker in workerd, its native build, streaming,
# memory, bundle, KV and the precompute against DuckDB.
bench: export BORDERLESS_NO_BROWSER := 1
# When make started (before the builds): run.mjs reports the whole wall time.
bench: export BENCH_MAKE_STARTED := $(shell date +%s)
# The builds run side by side (separate cargo target dirs; a single-codegen-unit
# LTO link keeps one core busy, so two builds at once fill both).
bench: setup
	$(MAKE) -j3 --no-print-directory dist demo-bundle .venv/.duckdb-$(DUCKDB_VERSION) bench-native-build
	node bench/run.mjs

# The native pipeline benchmark, built ahead (bench/run.mjs runs it last).
.PHONY: bench-native-build
bench-native-build:
	cargo bench --profile native-bench --bench pipeline --no-run

# Release-profile experiments (bench/profiles.json, read by `make bench`).
bench-profiles: export BORDERLESS_NO_BROWSER := 1
bench-profiles: setup dist demo-bundle
	node bench/profiles.mjs

# The precompute part alone (bench/out/precompute.json).
.PHONY: bench-precompute
bench-precompute: .venv/.duckdb-$(DUCKDB_VERSION) precompute
	.venv/bin/python bench/precompute.py

# ---- Load ----
# `make load`: wrk (from apt, installed once) against the built worker with
# the demo bundle on loopback, fixed connections and duration; requests/s,
# errors, latency percentiles, workerd RSS over time (bench/out/load.json).
.PHONY: load
load: export BORDERLESS_NO_BROWSER := 1
load: setup dist demo-bundle
	@command -v wrk >/dev/null || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y wrk || { $(if $(filter 0,$(shell id -u)),,sudo) apt-get update && $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y wrk; }; }
	node bench/load.mjs

# ---- Fuzzing (cargo-fuzz on nightly; fuzz/ is its own workspace) ----
# `make fuzz` runs every target FUZZ_SECONDS each (seed corpora from the demo
# and the real storefront pages: scripts/fuzz-seeds.mjs); `make fuzz-smoke`
# runs each for 10 s (about a minute in all; CI). No sanitizer: the code is
# safe Rust, and throughput matters more.
FUZZ_TARGETS := pipeline switch request config values format
FUZZ_SECONDS ?= 600
.PHONY: fuzz fuzz-smoke fuzz-tools fuzz-build fuzz-seeds

fuzz-tools:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@test -x $(CARGO_BIN)/cargo-fuzz || cargo install cargo-fuzz --locked

fuzz-build: fuzz-tools
	cd fuzz && cargo +nightly fuzz build -O --sanitizer none

fuzz-seeds: demo-bundle
	node scripts/fuzz-seeds.mjs

fuzz: fuzz-build fuzz-seeds
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	scripts/fuzz.sh 10 $(FUZZ_TARGETS)

# threeds-bridge: every command a developer or CI needs. `make test` is what .ci/run runs.
# Each recipe sources target/toolchain.env, which `make setup` writes (it picks the
# wasm32 route this machine supports; see docs/toolchain.md).
# Every cargo build, test, clippy and tree runs with --locked: Cargo.lock is committed and
# is the truth, so a build that would change it fails here instead of rewriting it.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := . target/toolchain.env &&
# The native binary `make native` builds (cargo honours CARGO_TARGET_DIR when it is set).
BIN := $${CARGO_TARGET_DIR:-target}/native/threeds-bridge
WASM := --target wasm32-unknown-unknown $$BUILD_STD
BROWSER := --no-default-features --features browser
# The edge worker's build: its own features and its own target dir, so it never rebuilds
# over (or grows) the browser's wasm. EDGE_PROVIDERS: the provider adapters compiled in
# (Cargo features; all four by default, as pkg/edge ships in the npm package):
# `make edge EDGE_PROVIDERS=paysafe` (or `paysafe,bambora`) builds a smaller worker, which
# refuses at its start a configuration naming a provider it lacks (docs/edge.md). EDGE_OUT:
# where wasm-bindgen writes the worker's wasm and glue (pkg/edge by default).
ALL_PROVIDERS := payroc,dlocal,paysafe,bambora
EDGE_PROVIDERS ?= $(ALL_PROVIDERS)
EDGE_OUT ?= pkg/edge
# EDGE_NAMES=1 keeps the functions' names in the wasm (wasm-opt -g instead of --strip-debug),
# for a profile that names them (make profile-edge PROFILE_EDGE_PKG=<its EDGE_OUT>;
# docs/edge.md). Never for a worker that ships: the names are about half the file.
EDGE_STRIP = $(if $(EDGE_NAMES),-g,--strip-debug)
EDGE = --no-default-features --features edge,$(EDGE_PROVIDERS) --target-dir target/edge
# make lint's one-provider edge build: the gating of the other three cannot rot.
EDGE_ONE := --no-default-features --features edge,paysafe --target-dir target/edge
WASM_OPT_FEATURES := --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
	--enable-mutable-globals --enable-reference-types --enable-multivalue
SIZE_BUDGET := 24576

.PHONY: setup build native pkg edge edge-sizes size lint test test-native test-chaos test-api test-wasm test-pkg test-e2e test-edge bench-edge profile-edge bench-browser bench-backend demo clean

setup:
	@scripts/setup.sh

## build: the native binary and the whole npm package: the browser module (pkg), the edge
## worker with all four providers (edge) and each one-provider worker (edge-sizes)
build: native pkg edge edge-sizes

native: setup
	@$(ENV) $$CARGO build --locked --profile native --bin threeds-bridge

## pkg: the browser module, compiled to wasm32, bound and shrunk into pkg/
# Size levers where the standard library is built from source (BUILD_STD set): panics
# abort without formatting or locations, std tuned for size, JS values passed through the
# glue's slab rather than an externref table (smaller wasm: every value-returning import
# needs no table-slot shim). Its own target dir, so these
# flags do not thrash the wasm test builds. strip stays off for wasm-bindgen (it reads the
# target_features section); wasm-opt strips afterwards (a second -Oz round after
# --flatten --rereloop rebuilds the control flow of the async state machines: -150 B gzip;
# --low-memory-unused: Rust never
# uses the first 1 KB of memory; the module defines its memory, zero-filled). The stack is
# 64 KiB, not Rust's default 1 MiB: the module's memory after init is 128 KiB instead of
# 1.1 MiB (its deepest use, a whole pay(), fits: tests/pkg_memory.test.mjs). short-imports.mjs gives the
# wasm<->glue names (hashed, incompressible, written in both files) short ones. esbuild
# bundles src/browser/dom.js (wasm-bindgen's snippet) into the JS glue and minifies it
# (the documentation lives in the .d.ts).
PKG_TARGET_DIR := target/pkg
PKG_RUSTFLAGS := -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none \
	-Ctarget-feature=-reference-types -Clink-arg=-zstack-size=65536
pkg: setup
	@$(ENV) if [ -n "$$BUILD_STD" ]; then export RUSTFLAGS="$(PKG_RUSTFLAGS)"; \
		std_features=-Zbuild-std-features=optimize_for_size; else std_features=; fi; \
		CARGO_PROFILE_RELEASE_STRIP=false $$CARGO build --locked --release --lib $(WASM) $$std_features $(BROWSER) \
		--target-dir $(PKG_TARGET_DIR)
	@$(ENV) wasm-bindgen --target web --out-dir pkg --out-name threeds_bridge \
		$(PKG_TARGET_DIR)/wasm32-unknown-unknown/release/threeds_bridge.wasm
	@$(ENV) wasm-opt -Oz --converge --flatten --rereloop -Oz --converge --low-memory-unused --zero-filled-memory \
		--strip-debug --strip-producers --strip-target-features --enable-bulk-memory \
		--enable-nontrapping-float-to-int --enable-sign-ext \
		--enable-mutable-globals --enable-reference-types --enable-multivalue \
		pkg/threeds_bridge_bg.wasm -o pkg/threeds_bridge_bg.wasm
	@node scripts/short-imports.mjs pkg/threeds_bridge_bg.wasm pkg/threeds_bridge.js
	@$(ENV) esbuild pkg/threeds_bridge.js --bundle --minify --format=esm --log-level=warning \
		--outfile=pkg/threeds_bridge.js --allow-overwrite
	@rm -rf pkg/snippets
	@echo "pkg: built pkg/"

## edge: the backend as a Cloudflare worker, its own wasm, bound and shrunk into pkg/edge/
## (npm: threeds-bridge/edge; pkg/edge/index.js, sessions.js and package.json are sources)
## As pkg: strip stays off for wasm-bindgen, wasm-opt strips afterwards. Its own cargo
## profile ([profile.edge]) and, where std is built from source, pkg's panic levers
## (not -Zfmt-debug=none: the log lines' fields are written with {:?}); docs/edge/measurements.md
## has the measured figures of each lever. wasm-opt does not inline a function into its one
## caller: V8 compiles each wasm function on its first call, and those inlinings had merged
## every route into one 89 KB function that each isolate's first request compiled (10 ms);
## kept apart, the module is also 60 KB smaller gzipped. Functions are then sorted by name,
## so that the copies of one generic function sit together where gzip finds their likeness:
## 1.9 KB gzip less (Paysafe only). short-imports.mjs gives the wasm<->glue names short ones,
## as pkg's (2.2-2.6 KB gzip of the wasm, 1.4 KB of the glue); not in an EDGE_NAMES=1 build,
## whose profile names the glue's functions by them.
EDGE_RUSTFLAGS := -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none
edge: setup
	@for p in $$(tr , ' ' <<<"$(EDGE_PROVIDERS)"); do case ",$(ALL_PROVIDERS)," in *",$$p,"*) ;; \
		*) echo "edge: EDGE_PROVIDERS: unknown provider '$$p' (one or more of $(ALL_PROVIDERS))" >&2; exit 2;; esac; done; \
		[ -n "$$(tr -d ', ' <<<"$(EDGE_PROVIDERS)")" ] || { echo "edge: EDGE_PROVIDERS names no provider" >&2; exit 2; }
	@$(ENV) if [ -n "$$BUILD_STD" ]; then export RUSTFLAGS="$(EDGE_RUSTFLAGS)"; \
		std_features=-Zbuild-std-features=optimize_for_size; else std_features=; fi; \
		CARGO_PROFILE_EDGE_STRIP=false $$CARGO build --locked --profile edge --lib $(WASM) $$std_features $(EDGE)
	@$(ENV) wasm-bindgen --target web --out-dir $(EDGE_OUT) --out-name threeds_bridge_edge \
		target/edge/wasm32-unknown-unknown/edge/threeds_bridge.wasm
	@$(ENV) wasm-opt -Oz --one-caller-inline-max-function-size=0 --reorder-functions-by-name \
		$(EDGE_STRIP) --strip-producers --strip-target-features \
		$(WASM_OPT_FEATURES) $(EDGE_OUT)/threeds_bridge_edge_bg.wasm -o $(EDGE_OUT)/threeds_bridge_edge_bg.wasm
	@$(if $(EDGE_NAMES),true,node scripts/short-imports.mjs $(EDGE_OUT)/threeds_bridge_edge_bg.wasm \
		$(EDGE_OUT)/threeds_bridge_edge.js)
	@echo "edge: built $(EDGE_OUT)/ (providers: $(EDGE_PROVIDERS))"

## edge-sizes: each one-provider worker (make edge EDGE_PROVIDERS=<name>) into pkg/edge/<name>/,
## which the npm package ships as threeds-bridge/edge/<name>: its wasm and glue, and copies of
## pkg/edge's index.js, index.d.ts and sessions.js, whose relative imports then load that
## wasm (the worker and its Durable Object alike); then each wasm's size, gzipped, beside
## pkg/edge's (bench-edge's size row reads them too). pkg/edge's own files are left as they
## are; the last build stays in target/edge's cache.
edge-sizes: setup
	@for p in $$(tr , ' ' <<<"$(ALL_PROVIDERS)"); do \
		$(MAKE) -s edge EDGE_PROVIDERS=$$p EDGE_OUT=pkg/edge/$$p >/dev/null || exit 1; \
		cp pkg/edge/index.js pkg/edge/index.d.ts pkg/edge/sessions.js pkg/edge/$$p/ || exit 1; done
	@for w in pkg/edge $$(tr , ' ' <<<"$(ALL_PROVIDERS)" | sed 's|[^ ]*|pkg/edge/&|g'); do \
		[ -f $$w/threeds_bridge_edge_bg.wasm ] && node -e \
		'const b = require("fs").readFileSync(process.argv[1]); console.log(`$${process.argv[2].padEnd(28)} $${(require("zlib").gzipSync(b, { level: 9 }).length / 1024).toFixed(1)} KB gzip, $${(b.length / 1024).toFixed(1)} KB raw`)' \
		$$w/threeds_bridge_edge_bg.wasm $$w; done

## size: the one hard performance gate, the browser bundle (wasm + JS glue + the
## completion page's script), gzipped
size: pkg
	@scripts/size.sh $(SIZE_BUDGET) pkg/threeds_bridge_bg.wasm pkg/threeds_bridge.js $(wildcard pkg/complete.js)

## lint: fmt, clippy over the three builds (the edge one also with one provider), and check-deps: the sans-IO core names no IO
## (its self-test first proves that check fails on an injected `use tokio::`), the hosts'
## dependency graphs stay apart
lint: setup
	@$(ENV) $$CARGO fmt --check
	@$(ENV) $$CARGO clippy --locked --all-targets -q -- -D warnings
	@$(ENV) $$CARGO clippy --locked --lib -q $(WASM) $(BROWSER) -- -D warnings
	@$(ENV) $$CARGO clippy --locked --lib -q $(WASM) $(EDGE) -- -D warnings
	@$(ENV) $$CARGO clippy --locked --lib -q $(WASM) $(EDGE_ONE) -- -D warnings
	@$(ENV) scripts/check-deps.sh --self-test
	@$(ENV) scripts/check-deps.sh

## test-native: the unit tests, tests/native/ (every native integration test, one binary with a
## module per file: `$CARGO test --locked --test native backend_faults::` runs one) and
## tests/emv_vectors.rs, beside a throwaway PostgreSQL (scripts/pg-test.sh: a new cluster on a
## Unix socket, its URL in TB_TEST_DATABASE_URL, removed afterwards). The chaos run is left
## to test-chaos. Then the configuration's tests in a Paysafe-only build (the edge worker's
## `make edge EDGE_PROVIDERS=paysafe`): another provider's section is refused by name.
test-native: setup
	@$(ENV) scripts/pg-test.sh $$CARGO test --locked -q -- --skip chaos::
	@$(ENV) $$CARGO test --locked -q --lib --no-default-features --features json,paysafe backend::providers_built::

## test-chaos: the bounded chaos run (tests/native/chaos.rs): 2,000 payments across the four
## providers with faults and three kill -9 restarts of `serve`, then the sandbox's ledger
## reconciled against the sessions. Prints its figures. TB_CHAOS_FLOWS=N for another size.
test-chaos: setup
	@$(ENV) $$CARGO test --locked -q --test native chaos:: -- --nocapture

## test-api: schemathesis against the real backend (`serve`, every provider on the sandbox),
## checked by docs/openapi.yaml: scripts/test-api.sh (installs a pinned schemathesis into
## target/api-venv once; tests/api/ holds its config and hooks; docs/backend/api-tests.md).
## The debug binary, as test-native built it.
test-api: setup
	@$(ENV) $$CARGO build -q --bin threeds-bridge
	@$(ENV) THREEDS_BRIDGE_BIN=$${CARGO_TARGET_DIR:-target}/debug/threeds-bridge scripts/test-api.sh

## test-wasm: tests/wasm_*.rs in headless Chromium (wasm-bindgen-test-runner)
test-wasm: setup
	@$(ENV) $$CARGO test --locked $(WASM) $(BROWSER) --test emv_vectors --test 'wasm_*'

## test-pkg: node's test runner over tests/*.test.mjs (the npm package as a merchant imports
## it; the README's server and page halves against a real backend: `serve` + `sandbox`, the
## debug binary, as test-e2e)
test-pkg: size
	@$(ENV) $$CARGO build --locked -q --bin threeds-bridge
	@shopt -s nullglob; files=(tests/*.test.mjs); [ $${#files[@]} = 0 ] || \
		THREEDS_BRIDGE_BIN=target/debug/threeds-bridge node --test "$${files[@]}"

## test-edge: examples/edge-worker in miniflare (the real workerd) against the native sandbox
## (the debug binary: test-native has built it already; the sandbox need not be fast here),
## and the checkout page module (pkg/) in Chromium paying through that worker; and the worker
## over each one-provider package (edge-sizes: pkg/edge/<provider>/, their sizes printed)
test-edge: edge pkg edge-sizes
	@$(ENV) $$CARGO build --locked -q --bin threeds-bridge
	@$(ENV) THREEDS_BRIDGE_BIN=target/debug/threeds-bridge node --test tests/edge/

## bench-edge: the edge worker against a plain-JS worker of the same Paysafe frictionless flow
## (bench/edge-baseline/: the same Durable Object and sandbox calls) in the same miniflare:
## cold first request, warm payments (median, p90, ratio; and workerd's CPU for the start, the
## first request and a payment, steadier than wall times on a shared machine), edge wasm gzip; five
## runs (BENCH_EDGE_REPEATS), one table printed: medians over the runs, the ratio's range;
## never asserted; the workers' logs in target/bench-edge.log (docs/edge.md has a run)
bench-edge: native edge
	@$(ENV) THREEDS_BRIDGE_BIN=target/native/threeds-bridge node scripts/bench-edge.mjs

## profile-edge: where a warm payment's CPU goes in the edge worker, wasm included. bench-edge's
## two workers in plain Node.js, whose V8 runs the wasm at full speed (workerd's inspector
## makes it debug code): CPU per payment of each, then a profile of the wasm worker's payments
## by part (wasm, glue, Durable Object, Node) and by wasm function. Names need a names-kept
## build: make edge EDGE_NAMES=1 EDGE_OUT=target/edge-names, then
## make profile-edge PROFILE_EDGE_PKG=target/edge-names (printed, not asserted; docs/edge.md)
profile-edge: native edge
	@$(ENV) THREEDS_BRIDGE_BIN=target/native/threeds-bridge PROFILE_EDGE_PKG=$(PROFILE_EDGE_PKG) \
		node scripts/profile-edge.mjs

## bench-browser: a fresh page → its browser details, the module against a plain-JS collector
## with the same EMV rules (bench/baseline-details.js, held to tests/vectors by
## tests/bench_baseline.test.mjs), 40 cold loads each in one headless Chromium, cache
## disabled, files from 127.0.0.1, the module also with its wasm preloaded: gzip bytes,
## median and p90 ms, ratio (printed, not asserted; docs/browser.md has a run)
bench-browser: pkg
	@$(ENV) node scripts/bench-browser.mjs

## bench-backend: the native backend's frictionless flows (every provider whose flow ends at
## the page's confirm) on the memory, SQLite and PostgreSQL stores at concurrency 1, 16, 64:
## flows/s, p50/p99, serve's CPU per flow (the sandbox's and the client's beside it),
## medians of runs (printed, not asserted; not in make test). PostgreSQL: a throwaway
## cluster with fsync on (PG_TEST_DURABLE=1). Knobs:
## BENCH_SECONDS, BENCH_RUNS, BENCH_CONCURRENCY, BENCH_STORES, BENCH_PROVIDERS, BENCH_HTTP,
## BENCH_PG_POOL (scripts/bench-backend.mjs); BENCH_SECONDS=1 BENCH_RUNS=1 runs in about a minute.
bench-backend: native
	@$(ENV) PG_TEST_DURABLE=1 THREEDS_BRIDGE_BIN=target/native/threeds-bridge \
		scripts/pg-test.sh node scripts/bench-backend.mjs

## test-e2e: tests/e2e/*.test.mjs: the demo (`threeds-bridge demo` on free ports) paid
## through every provider, display mode and contract card in headless Chromium
## (playwright-core); screenshots of failures land in target/e2e/. The debug binary, as
## test-native built it: the suite measures behaviour, not speed
test-e2e: pkg
	@$(ENV) $$CARGO build --locked -q --bin threeds-bridge
	@$(ENV) THREEDS_BRIDGE_BIN=target/debug/threeds-bridge node --test tests/e2e/*.test.mjs

test: lint test-native test-chaos test-api test-wasm test-pkg test-e2e test-edge
	@echo "make test: every suite passed"

## demo: the demo checkout page and backend on http://127.0.0.1:8080, the provider
## sandbox on http://127.0.0.1:8081 (ports: make demo DEMO_ARGS="--port 9080 --sandbox-port 9081")
demo: native pkg
	@$(ENV) $(BIN) demo $(DEMO_ARGS)

clean:
	rm -rf target pkg/threeds_bridge* pkg/snippets pkg/edge/threeds_bridge_edge* pkg/edge/{payroc,dlocal,paysafe,bambora}

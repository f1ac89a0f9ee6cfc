#!/usr/bin/env bash
# make test-api: schemathesis drives the real backend (`threeds-bridge serve`, all four
# providers against `threeds-bridge sandbox`) from docs/openapi.yaml, and checks every
# answer against it: no 5xx, only documented statuses and content types, bodies and
# headers that validate, schema-valid input accepted and schema-invalid input refused,
# undocumented methods 405, credentials enforced. Exits non-zero on any failure.
#
# Installs schemathesis $SCHEMATHESIS_VERSION into target/api-venv (once; reused after).
# Knobs (environment): TEST_API_MERCHANT_KEY (default: a fresh random key per run),
# TEST_API_MAX_EXAMPLES (cases per operation, default 25), TEST_API_SEED (default 1),
# TEST_API_TIME_LIMIT (seconds for the schemathesis run, default 150),
# THREEDS_BRIDGE_BIN (default target/debug/threeds-bridge). Extra arguments go to
# `schemathesis run` (e.g. --include-operation-id createPayment). What it leaves behind:
# target/api/ (config, logs of both processes, junit.xml, schemathesis.log).
# docs/backend/api-tests.md says how it authenticates.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
venv=target/api-venv
bin=${THREEDS_BRIDGE_BIN:-target/debug/threeds-bridge}
work=target/api
max_examples=${TEST_API_MAX_EXAMPLES:-25}
seed=${TEST_API_SEED:-1}
time_limit=${TEST_API_TIME_LIMIT:-150}

say() { printf 'test-api: %s\n' "$*"; }
die() { printf 'test-api: %s\n' "$*" >&2; exit 1; }

[ -x "$bin" ] || die "no $bin: build it first (cargo build --bin threeds-bridge)"

# --- schemathesis, pinned, in its own venv -----------------------------------------
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
    command -v python3 >/dev/null || die "python3 is missing (Debian: apt-get install python3 python3-venv)"
    say "installing schemathesis $SCHEMATHESIS_VERSION into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" \
        || die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
fi

rm -rf "$work"
mkdir -p "$work"

# --- the sandbox and the backend, on free ports, stopped whatever happens -----------
pids=()
stop() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The first line of file $1 that matches $2, once process $3 has written it (20 s).
first_line() {
    local line
    for _ in $(seq 200); do
        line=$(grep -m1 -- "$2" "$1" 2>/dev/null || true)
        [ -n "$line" ] && { printf '%s\n' "$line"; return; }
        kill -0 "$3" 2>/dev/null || { cat "$1.err" >&2 2>/dev/null || true; die "$1: the process stopped"; }
        sleep 0.1
    done
    die "no '$2' line in $1 after 20 s"
}

"$bin" sandbox --port 0 >"$work/sandbox" 2>"$work/sandbox.err" &
pids+=($!)
sandbox=$(first_line "$work/sandbox" 'serving ' "${pids[-1]}" | sed -n 's/.*serving \([^ ]*\) .*/\1/p')

# serve needs its public URL (return URLs are made from it) before it listens: a port that
# is free now, as tests/native/backend_serve.rs does.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
origin="http://127.0.0.1:$port"
# Every provider against the sandbox, with its built-in credentials
# (../shared/contract.md); the merchant's key from the environment. No per-IP confirm
# limit: every request comes from 127.0.0.1, and the limit is tests/native/backend_trust.rs's.
cat >"$work/backend.json" <<EOF
{
  "listen": "127.0.0.1:$port",
  "public_url": "$origin",
  "checkout_origins": ["$origin"],
  "merchant_api_keys": [{"env": "TEST_API_MERCHANT_KEY"}],
  "confirm_rate_limit": {"per_minute": 0},
  "calls": {"timeout_ms": 5000, "attempts": 2, "backoff_ms": 50},
  "providers": {
    "payroc": {
      "identity_url": "$sandbox/payroc/identity",
      "api_url": "$sandbox/payroc/api/v1",
      "payments_url": "$sandbox/payroc/payments",
      "api_key": "sandbox-payroc-api-key",
      "processing_terminal_id": "4479001"
    },
    "dlocal": {
      "base_url": "$sandbox/dlocal",
      "x_login": "sak223k2wdksdl2",
      "x_trans_key": "fm12O7G9",
      "secret_key": "sandbox-dlocal-secret"
    },
    "paysafe": {
      "base_url": "$sandbox/paysafe",
      "api_user": "sandbox-paysafe-user",
      "api_password": "sandbox-paysafe-password",
      "account_id": "89987201"
    },
    "bambora": {
      "base_url": "$sandbox/bambora",
      "merchant_id": "300200578",
      "api_passcode": "4BaD82D9197b4cc4b70a221911eE9f70",
      "currency": "CAD"
    }
  }
}
EOF
# The key: the caller's, or a fresh one for this run only (never printed).
TEST_API_MERCHANT_KEY=${TEST_API_MERCHANT_KEY:-test-api-$(python3 -c 'import secrets; print(secrets.token_hex(16))')}
export TEST_API_MERCHANT_KEY TEST_API_CHECKOUT_ORIGIN=$origin
"$bin" serve --config "$work/backend.json" >"$work/serve" 2>"$work/serve.err" &
pids+=($!)
serve_pid=${pids[-1]}
url=$(first_line "$work/serve" 'listening on ' "$serve_pid" | sed -n 's/.*listening on \([^)]*\)).*/\1/p')
say "backend $url, sandbox $sandbox; $max_examples examples per operation, seed $seed"

# --- schemathesis ----------------------------------------------------------------------
# tests/api/schemathesis.toml: the key on the merchantKey operations, the page's Origin,
# the sandbox's cards, stateful chains from the create; tests/api/hooks.py: what no schema
# can say (see there). All checks, a fixed seed, one worker (the same cases every run).
started=$(date +%s)
status=0
timeout --foreground "$time_limit" \
    "$venv/bin/schemathesis" --config-file tests/api/schemathesis.toml run docs/openapi.yaml \
    --url "$url" --checks all --seed "$seed" --max-examples "$max_examples" --workers 1 \
    --request-timeout 30 --no-color \
    --report junit --report-junit-path "$work/junit.xml" "$@" 2>&1 | tee "$work/schemathesis.log" || status=$?
elapsed=$(( $(date +%s) - started ))

if ! kill -0 "$serve_pid" 2>/dev/null; then
    say "the backend stopped during the run; its last log lines:"
    tail -20 "$work/serve.err" >&2
    status=1
fi
if [ "$status" = 124 ]; then
    say "schemathesis did not finish within ${time_limit} s (TEST_API_TIME_LIMIT)"
fi
if grep -Eq ' ERROR |panicked' "$work/serve.err" 2>/dev/null; then
    say "the backend logged errors or a panic (target/api/serve.err):"
    grep -E ' ERROR |panicked' "$work/serve.err" | head -5 >&2
    status=1
fi

# --- the figures -------------------------------------------------------------------------
figures=$(python3 - "$work/junit.xml" 2>/dev/null <<'EOF' || true
import sys, xml.etree.ElementTree as ET
suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
print(*(int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")))
EOF
)
if [ -n "$figures" ]; then
    read -r tests failures errors skipped <<<"$figures"
    cases=$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$work/schemathesis.log" | tail -1)
    passed=$(( tests - failures - errors - skipped ))
    say "$passed passed, $(( failures + errors )) failed ($tests = each operation and the stateful run; ${cases:-?} generated cases; ${elapsed} s)"
else
    say "no report: schemathesis did not run to its end (${elapsed} s)"
    [ "$status" != 0 ] || status=1
fi
exit "$status"

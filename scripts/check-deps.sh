#!/usr/bin/env bash
# Proves the layers stay apart, in two checks:
#
# 1. The sans-IO core names no IO. src/emv, src/order.rs, src/payment.rs, src/provider, src/session and
#    src/store (the SessionStore trait and the memory store; the real stores live with
#    their hosts) must not mention a runtime, a server or HTTP client, a browser or worker
#    binding, a database, the file system, the environment, a clock or randomness (the
#    names in $io_names, matched as whole words in *.rs files). Lines whose first non-blank
#    characters are `//` (comments, doc comments) are skipped: docs may say what the hosts
#    use. Not skipped: a comment after code on the same line, and /* block */ comments, so
#    those count as mentions. A path that no longer exists is an error, not a pass.
# 2. The hosts' dependency graphs stay apart: the browser build must carry no server,
#    database, HTTP client or HTML-parsing crate, the edge worker no server, database or
#    native HTTP client, and the native build no web-sys (cargo tree --locked).
#
# Usage: scripts/check-deps.sh               both checks (uses $CARGO, default cargo)
#        scripts/check-deps.sh --self-test   proves check 1 fails on an injected IO line
#                                            (a temporary copy of the core; no cargo)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}

core_paths=(src/emv src/order.rs src/payment.rs src/provider src/session src/store)
io_names=(tokio axum reqwest hyper hyper_util web_sys js_sys wasm_bindgen wasm_bindgen_futures
    gloo_net rusqlite tokio_postgres deadpool_postgres 'std::fs' 'std::env' SystemTime Instant UNIX_EPOCH new_v4)
io_pattern="\\b($(IFS='|'; echo "${io_names[*]}"))\\b"

# core_names_no_io ROOT: check 1 against the core under ROOT; prints what it checked.
core_names_no_io() {
    local root=$1 path missing=() files found
    for path in "${core_paths[@]}"; do
        [ -e "$root/$path" ] || missing+=("$path")
    done
    if [ ${#missing[@]} != 0 ]; then
        echo "check-deps: core paths missing (moved? update core_paths in $0): ${missing[*]}" >&2
        return 1
    fi
    files=$(cd "$root" && find "${core_paths[@]}" -name '*.rs' | wc -l)
    # grep -n gives path:line:text; drop the lines whose text starts with `//`.
    found=$(cd "$root" && grep -rnE --include='*.rs' "$io_pattern" "${core_paths[@]}" |
        grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
    if [ -n "$found" ]; then
        echo "check-deps: the sans-IO core names IO (it belongs in a host, src/backend/native or src/backend/edge):" >&2
        echo "$found" | sed 's/^/  /' >&2
        return 1
    fi
    echo "check-deps: core names no IO: $files files in ${core_paths[*]}; names: ${io_names[*]} (whole words; lines starting with // skipped)"
}

# copy_core DEST: the core paths, copied under DEST with their layout.
copy_core() {
    local path
    for path in "${core_paths[@]}"; do
        mkdir -p "$1/$(dirname "$path")"
        cp -R "$path" "$1/$path"
    done
}

# Check 1 must fail on a core that names IO, for every name, spread over every core path,
# and must not fail on comments or on longer words. Runs against temporary copies of the
# core; the tree is not touched.
self_test() {
    local failures=0 i=0 name path target copy
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    expect() { # expect pass|fail WHAT ROOT
        local got=pass
        core_names_no_io "$3" >/dev/null 2>&1 || got=fail
        if [ "$got" != "$1" ]; then
            echo "check-deps self-test: expected $1, got $got: $2" >&2
            failures=$((failures + 1))
        fi
    }
    # case_copy NAME: a fresh copy of the core at $scratch/NAME, its path in $copy.
    case_copy() { copy=$scratch/$1; copy_core "$copy"; }

    case_copy clean
    expect pass "the core as it is" "$copy"
    for name in "${io_names[@]}"; do
        path=${core_paths[$((i % ${#core_paths[@]}))]}
        target=$(find "$path" -name '*.rs' | sort | head -1)
        case_copy "name$i"
        printf '\nuse %s::x;\n' "$name" >>"$copy/$target"
        expect fail "'use $name::x;' in $target" "$copy"
        i=$((i + 1))
    done
    case_copy indented
    printf '\n    let started = tokio::time::Instant::now();\n' >>"$copy/src/store/mod.rs"
    expect fail "an indented tokio call in src/store/mod.rs" "$copy"
    case_copy trailing
    printf '\nfn f() {} // reads std::fs\n' >>"$copy/src/provider/mod.rs"
    expect fail "an IO name in a comment after code" "$copy"
    case_copy comments
    printf '\n// tokio runs this natively\n    /// with reqwest\n//! and std::fs\n' >>"$copy/src/session/mod.rs"
    expect pass "IO names in // comments only" "$copy"
    case_copy words
    printf '\nfn tokionic(instantly: u8) -> u8 { instantly }\n' >>"$copy/src/session/mod.rs"
    expect pass "names that only contain an IO name (tokionic)" "$copy"
    case_copy moved
    rm -r "$copy/src/session"
    expect fail "a core path that no longer exists" "$copy"
    if [ "$failures" != 0 ]; then
        echo "check-deps self-test: $failures case(s) wrong" >&2
        return 1
    fi
    echo "check-deps self-test: the core check fails on each of ${#io_names[@]} IO names injected into a copy of the core (spread over all ${#core_paths[@]} core paths), on an indented call, on a trailing comment and on a missing path; passes on the core itself, on // comments and on longer words"
}

if [ "${1:-}" = --self-test ]; then
    self_test
    exit
fi

failed=0
core_names_no_io . || failed=1

browser_forbidden='^(tokio|axum|hyper|rusqlite|libsqlite3-sys|tokio-postgres|postgres-protocol|deadpool|deadpool-postgres|reqwest|miniz_oxide|form_urlencoded|time|scraper|html5ever|tl|lol_html) '
edge_forbidden='^(tokio|axum|hyper|rusqlite|libsqlite3-sys|tokio-postgres|postgres-protocol|deadpool|deadpool-postgres|reqwest|scraper|html5ever|tl|lol_html) '
native_forbidden='^(web-sys|js-sys|wasm-bindgen|gloo-net|serde-wasm-bindgen) '

crates() {
    "$cargo" tree --locked --edges normal --prefix none --format '{p}' "$@" | sed 's/ (.*//' | sort -u
}

browser=$(crates --target wasm32-unknown-unknown --no-default-features --features browser)
if bad=$(grep -E "$browser_forbidden" <<<"$browser"); then
    echo "check-deps: the browser build pulls in server-side crates:" >&2
    echo "$bad" | sed 's/^/  /' >&2
    failed=1
fi
edge=$(crates --target wasm32-unknown-unknown --no-default-features --features edge)
if bad=$(grep -E "$edge_forbidden" <<<"$edge"); then
    echo "check-deps: the edge worker build pulls in native-only crates:" >&2
    echo "$bad" | sed 's/^/  /' >&2
    failed=1
fi
native=$(crates)
if bad=$(grep -E "$native_forbidden" <<<"$native"); then
    echo "check-deps: the native build pulls in browser crates:" >&2
    echo "$bad" | sed 's/^/  /' >&2
    failed=1
fi
[ "$failed" = 0 ] && echo "check-deps: browser build $(wc -l <<<"$browser") crates, edge build $(wc -l <<<"$edge") crates, native build $(wc -l <<<"$native") crates; hosts kept apart"
exit "$failed"

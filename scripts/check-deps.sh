#!/usr/bin/env bash
# Proves the hosts' dependency graphs stay apart: the browser build must carry no server,
# database, HTTP client or HTML-parsing crate, the edge worker no server, database or
# native HTTP client, and the native build no web-sys.
# Usage: scripts/check-deps.sh   (uses $CARGO, default cargo)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}

browser_forbidden='^(tokio|axum|hyper|rusqlite|libsqlite3-sys|reqwest|miniz_oxide|form_urlencoded|time|scraper|html5ever|tl|lol_html) '
edge_forbidden='^(tokio|axum|hyper|rusqlite|libsqlite3-sys|reqwest|scraper|html5ever|tl|lol_html) '
native_forbidden='^(web-sys|js-sys|wasm-bindgen|gloo-net|serde-wasm-bindgen) '

crates() {
    "$cargo" tree --edges normal --prefix none --format '{p}' "$@" | sed 's/ (.*//' | sort -u
}

failed=0
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

#!/usr/bin/env bash
# Installs what is missing to build and test threeds-bridge, and nothing else; safe to
# run again. Writes target/toolchain.env, which every Makefile recipe sources.
#
# wasm32 routes, first that works (see docs/toolchain.md):
#   1. rustup: a Rust >= MSRV whose sysroot has the wasm32-unknown-unknown standard library;
#   2. Debian's rustc-web (Rust 1.96 with the standard library's source) + -Zbuild-std.
# When something cannot be installed it stops with one line naming it and how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: cannot continue: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@";
    elif command -v sudo >/dev/null; then sudo "$@";
    else die "need root to run '$*' (install it by hand, or run make setup as root)"; fi
}

apt_updated=
apt_install() {
    command -v apt-get >/dev/null || die "missing $*; this machine has no apt-get: install them by hand (see docs/toolchain.md)"
    say "installing $* (apt)"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq >/dev/null; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
        || die "apt-get install $* failed"
}

version_at_least() { # $1 >= $2, dotted versions
    [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]
}

# --- Rust for host and wasm32 -------------------------------------------------------
route=
if command -v rustc >/dev/null; then
    v=$(rustc --version | awk '{print $2}')
    if version_at_least "$v" "$msrv" && [ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown" ]; then
        route=rustup
        rustc_bin=$(command -v rustc); rustdoc_bin=$(command -v rustdoc); cargo_bin=$(command -v cargo)
        build_std=
        rust_path=
    fi
fi
if [ -z "$route" ]; then
    route=debian
    missing=()
    [ -x /usr/bin/rustc ] && version_at_least "$(/usr/bin/rustc --version | awk '{print $2}')" "$msrv" || missing+=(rustc-web)
    [ -x /usr/bin/cargo ] || missing+=(cargo-web)
    [ -d /usr/lib/rustlib/src/rust/library ] || missing+=(rust-web-src)
    [ -e /usr/bin/rust-lld ] || missing+=(rust-web-llvm)
    [ -x /usr/bin/cargo-clippy ] || missing+=(rust-web-clippy)
    [ -x /usr/bin/cargo-fmt ] || missing+=(rustfmt-web)
    [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
    # rust-lld is a link to Debian's lld-NN, which the package does not pull in.
    if ! /usr/bin/rust-lld -flavor wasm --version >/dev/null 2>&1; then
        lld=$(basename "$(readlink /usr/bin/rust-lld)")
        apt_install "$lld"
    fi
    rustc_bin=/usr/bin/rustc; rustdoc_bin=/usr/bin/rustdoc; cargo_bin=/usr/bin/cargo
    build_std=-Zbuild-std=std,panic_abort
    # Debian's cargo-clippy, cargo-fmt and rustfmt before rustup's proxies (which are 1.95).
    rust_path=/usr/bin:
fi

# --- Chromium and ChromeDriver (wasm tests and end-to-end tests) ----------------------
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
[ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"

# --- PostgreSQL server programs (make test-native runs a throwaway cluster: pg-test.sh) -----
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
fi

# --- wasm-bindgen CLI, exactly the version in Cargo.lock -----------------------------
cargo_home=${CARGO_HOME:-$HOME/.cargo}
bindgen_bin=$cargo_home/bin/wasm-bindgen
if [ "$("$bindgen_bin" --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
    say "installing wasm-bindgen-cli $bindgen_version (cargo install, a few minutes)"
    RUSTC=$rustc_bin "$cargo_bin" install -q wasm-bindgen-cli --version "=$bindgen_version" --force \
        || die "cargo install wasm-bindgen-cli $bindgen_version failed (needs the crates.io registry)"
fi

# --- npm dev dependencies (package-lock.json) ----------------------------------------
command -v npm >/dev/null || die "npm is missing: install Node.js 20 and npm"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm dev dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null || die "npm ci failed (needs the npm registry)"
fi

mkdir -p target
cat > target/toolchain.env <<ENV
# written by scripts/setup.sh (route: $route)
export RUSTC=$rustc_bin RUSTDOC=$rustdoc_bin RUSTC_BOOTSTRAP=1
export CARGO=$cargo_bin
export BUILD_STD="$build_std"
export PATH="$rust_path$cargo_home/bin:$PWD/node_modules/.bin:\$PATH"
export CHROMEDRIVER=$(command -v chromedriver)
ENV
say "ready (wasm32 route: $route, rustc $("$rustc_bin" --version | awk '{print $2}'), wasm-bindgen $bindgen_version)"

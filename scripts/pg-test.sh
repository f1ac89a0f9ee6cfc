#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL server: a new cluster (initdb) in a temporary
# directory, listening on a Unix socket in that directory only (no TCP port), trust
# authentication for its one user `tb_test`, a database `tb_test`; the command gets its
# URL in TB_TEST_DATABASE_URL, the server's (postmaster's) process id in TB_TEST_PG_PID and
# the directory of its programs (psql among them) in TB_TEST_PG_BIN. The server is stopped
# and the directory removed whatever happens (trap). Exits with the command's status.
#
# Usage: scripts/pg-test.sh COMMAND [ARGS...]      (make test-native runs cargo under it;
#        PG_TEST_DURABLE=1: fsync and synchronous commit on, as make bench-backend wants;
#        PG_TEST_OPTIONS: more server options, e.g. "-c shared_buffers=256MB")
#
# Finds initdb, pg_ctl, postgres and createdb on PATH, else in the newest
# /usr/lib/postgresql/*/bin (Debian's postgresql package; `make setup` installs it), or in
# $PG_BIN. Missing ones are an error, never a skip: the tests that need the server fail
# without it. PostgreSQL refuses to run as root, so under root the server runs as the user
# $PG_TEST_OS_USER (default: postgres if it exists, else nobody), through runuser.
set -euo pipefail

say() { printf 'pg-test: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ $# -gt 0 ] || die "usage: $0 COMMAND [ARGS...]"

# --- the server's programs --------------------------------------------------------------
pg_bin=${PG_BIN:-}
if [ -z "$pg_bin" ]; then
    if initdb=$(command -v initdb); then
        pg_bin=$(dirname "$(readlink -f "$initdb")")
    else
        pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    fi
fi
missing=()
for program in initdb pg_ctl postgres createdb; do
    [ -n "$pg_bin" ] && [ -x "$pg_bin/$program" ] || missing+=("$program")
done
[ ${#missing[@]} = 0 ] || die "PostgreSQL server programs not found: ${missing[*]} \
(looked on PATH, in /usr/lib/postgresql/*/bin and \$PG_BIN). Install Debian's postgresql \
package (make setup does) or set PG_BIN to their directory. Tests need a real server."

# --- who runs the server ----------------------------------------------------------------
as_owner() { "$@"; }
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
    owner=${PG_TEST_OS_USER:-}
    if [ -z "$owner" ]; then
        if id postgres >/dev/null 2>&1; then owner=postgres; else owner=nobody; fi
    fi
    id "$owner" >/dev/null 2>&1 || die "user $owner does not exist (set PG_TEST_OS_USER)"
    runuser=$(PATH=$PATH:/usr/sbin:/sbin command -v runuser) ||
        die "running as root needs runuser (util-linux) to start PostgreSQL as $owner"
    as_owner() { "$runuser" -u "$owner" -- "$@"; }
fi

# --- the cluster ------------------------------------------------------------------------
# Short path: the socket's path must fit in 107 bytes.
dir=$(mktemp -d /tmp/tb-pg.XXXXXX)
data=$dir/data
started=
cleanup() {
    local status=$?
    if [ -n "$started" ]; then
        (cd "$dir" && as_owner "$pg_bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1) ||
            say "could not stop the server in $dir"
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

chmod 700 "$dir"
[ "$(id -u)" != 0 ] || chown "$owner" "$dir"
# From inside $dir: the server's user may not be allowed into the caller's directory.
cd "$dir"
as_owner "$pg_bin/initdb" -D "$data" -U tb_test --auth=trust --encoding=UTF8 --no-locale \
    --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
# Throwaway: no durability (fsync off), no TCP; enough connections for tests in parallel.
# PG_TEST_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous commit): what
# make bench-backend measures, to compare with SQLite's fsynced writes.
options="-c listen_addresses= -k $dir -c max_connections=300"
[ "${PG_TEST_DURABLE:-}" = 1 ] ||
    options="$options -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
# PG_TEST_OPTIONS: more server options, last (so they win), e.g. "-c commit_delay=50".
options="$options ${PG_TEST_OPTIONS:-}"
started=1
as_owner "$pg_bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 -o "$options" start \
    >/dev/null || { tail -n 30 "$dir/server.log" >&2 || true; die "the server did not start"; }
as_owner "$pg_bin/createdb" -h "$dir" -U tb_test tb_test || die "createdb failed"
cd - >/dev/null

export TB_TEST_DATABASE_URL="postgresql://tb_test@/tb_test?host=$dir"
# For make bench-backend: the server's own CPU (its processes are this one's children) and
# its statistics (psql).
TB_TEST_PG_PID=$(head -n 1 "$data/postmaster.pid")
export TB_TEST_PG_PID TB_TEST_PG_BIN=$pg_bin
say "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on $dir (TB_TEST_DATABASE_URL)"
set +e
"$@"

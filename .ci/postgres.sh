#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store's tests and benchmark, from Debian's packages.
#
#   .ci/postgres.sh run [--no-install] -- COMMAND...   start a server, run COMMAND with TEST_POSTGRES_URL set,
#                                                      stop the server; exits with COMMAND's status
#   eval "$(.ci/postgres.sh start [--no-install] [--durable])"
#                                                      start one and export TEST_POSTGRES_URL and TEST_POSTGRES_DIR
#   .ci/postgres.sh stop [DIR]                         stop it and delete its files (DIR: $TEST_POSTGRES_DIR)
#
# The cluster lives in a temporary directory (initdb + pg_ctl), listens on 127.0.0.1 at a free port and on a
# socket in that directory, trusts local connections, and runs as the `postgres` user when started by root
# (PostgreSQL refuses to run as root). It skips fsync for speed, unless --durable (for benchmarks). Without
# PostgreSQL's binaries it runs `apt-get install -y postgresql` (unless --no-install). When no server can be
# started, `run` still runs COMMAND, with TEST_POSTGRES_UNAVAILABLE set to the reason, so the PostgreSQL tests
# are skipped with that reason printed, never silently.
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && { echo "$dir"; return 0; }
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
    return 1
}

install_postgres() {
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        say "PostgreSQL is not installed, and apt-get cannot be used here (not root, or no apt-get)"
        return 1
    fi
    say "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q postgresql >&2 || { apt-get update -q >&2 && apt-get install -y -q postgresql >&2; }
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# as_server_user COMMAND...: run COMMAND as the user that owns the cluster.
as_server_user() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local install=1 fsync="-c fsync=off"
    local option
    for option in "$@"; do
        case "$option" in
        --no-install) install=0 ;;
        --durable) fsync="" ;;
        *) say "unknown option $option"; return 2 ;;
        esac
    done
    local bindir
    if ! bindir=$(find_bindir); then
        if [[ $install -eq 1 ]] && install_postgres && bindir=$(find_bindir); then
            :
        else
            say "no PostgreSQL binaries (initdb, pg_ctl) found"
            return 1
        fi
    fi
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    fi
    local dir port
    dir=$(mktemp -d /tmp/ci-orchestrator-pg.XXXXXX)
    chmod 700 "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    port=$(free_port)
    as_server_user "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1 || { say "initdb failed:"; cat "$dir/initdb.log" >&2; rm -rf "$dir"; return 1; }
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir $fsync \
            -c max_connections=200 -c max_locks_per_transaction=256" start >&2 \
        || { say "the server did not start:"; cat "$dir/server.log" >&2; rm -rf "$dir"; return 1; }
    echo "export TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:$port/postgres"
    echo "export TEST_POSTGRES_DIR=$dir"
    say "$("$bindir/pg_ctl" --version) on 127.0.0.1:$port (files in $dir)"
}

stop() {
    local dir="${1:-${TEST_POSTGRES_DIR:-}}"
    [[ -n "$dir" && -d "$dir/data" ]] || { say "nothing to stop (no cluster directory given)"; return 0; }
    local bindir
    bindir=$(find_bindir) || { say "pg_ctl not found"; return 1; }
    as_server_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
start)
    shift
    start "$@"
    ;;
stop)
    shift
    stop "$@"
    ;;
run)
    shift
    options=()
    while [[ $# -gt 0 && "$1" != "--" ]]; do options+=("$1"); shift; done
    [[ "${1:-}" == "--" ]] && shift
    [[ $# -gt 0 ]] || { say "usage: $0 run [--no-install] -- COMMAND..."; exit 2; }
    if exports=$(start "${options[@]}"); then
        eval "$exports"
        trap 'stop "$TEST_POSTGRES_DIR"' EXIT
    else
        export TEST_POSTGRES_UNAVAILABLE="no PostgreSQL server could be started by .ci/postgres.sh (see its messages above)"
        say "$TEST_POSTGRES_UNAVAILABLE; running the command anyway"
    fi
    status=0
    "$@" || status=$?
    exit "$status"
    ;;
*)
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
    exit 2
    ;;
esac

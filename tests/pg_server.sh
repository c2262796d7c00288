#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (tests/test_postgres.py), the same
# way CI starts it (.ci/run). It listens on 127.0.0.1 only, on a free port, with
# its data, socket and log in a temporary folder, and a random password.
#
#   eval "$(tests/pg_server.sh start)"     # exports ATOMISTICS_TEST_PG_URL and ATOMISTICS_TEST_PG_DIR
#   .venv/bin/python -m pytest tests/test_postgres.py
#   tests/pg_server.sh stop "$ATOMISTICS_TEST_PG_DIR"
#
# Needs the PostgreSQL server binaries (Debian: apt-get install postgresql). As
# root the cluster belongs to the 'postgres' user (initdb refuses to run as root).
# Only the two `export` lines go to stdout; progress and errors go to stderr.
set -euo pipefail

find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    return 1
}

as_owner() {
    # Run a command as the cluster's owner: 'postgres' when we are root, else ourselves.
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'EOF'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

start() {
    local bindir dir port password user=atomistics db=atomistics_test
    bindir=$(find_bindir) || {
        echo "pg_server.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
        exit 3
    }
    dir=$(mktemp -d "${TMPDIR:-/tmp}/atomistics-pg.XXXXXX")
    chmod 755 "$dir"
    if [ "$(id -u)" = 0 ]; then
        getent passwd postgres >/dev/null || {
            echo "pg_server.sh: running as root but there is no 'postgres' user" >&2
            exit 3
        }
        chown postgres "$dir"
    fi
    password=$(python3 -c 'import secrets; print("pw" + secrets.token_hex(12))')
    # The password file is readable by the owner only and removed once initdb has read it.
    as_owner bash -c "umask 077; printf '%s\n' '$password' > '$dir/pwfile'"
    as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --pwfile="$dir/pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --no-locale \
        >"$dir/initdb.log" 2>&1 || {
        echo "pg_server.sh: initdb failed, see $dir/initdb.log" >&2
        exit 3
    }
    rm -f "$dir/pwfile"
    for attempt in 1 2 3; do
        port=$(free_port)
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off -c max_connections=50" \
            start >&2; then
            break
        fi
        [ "$attempt" = 3 ] && {
            echo "pg_server.sh: the server did not start, see $dir/server.log" >&2
            exit 3
        }
    done
    PGPASSWORD="$password" "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U "$user" -d postgres \
        -c "CREATE DATABASE $db" >&2
    echo "export ATOMISTICS_TEST_PG_URL=postgresql://$user:$password@127.0.0.1:$port/$db"
    echo "export ATOMISTICS_TEST_PG_DIR=$dir"
}

stop() {
    local dir=${1:-}
    [ -n "$dir" ] && [ -d "$dir/data" ] || {
        echo "usage: pg_server.sh stop DIR   (DIR: the ATOMISTICS_TEST_PG_DIR that start printed)" >&2
        exit 2
    }
    local bindir
    bindir=$(find_bindir) || exit 3
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: pg_server.sh start | stop DIR" >&2
    exit 2
    ;;
esac

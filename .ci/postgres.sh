#!/usr/bin/env bash
# Start a throw-away local PostgreSQL for the storage tests and export its URL.
#
#   source .ci/postgres.sh        # then: pytest tests/serving  (PostgreSQL tests no longer skip)
#
# Installs the server with apt-get when it is missing (CI runs as root), creates a cluster under
# ${XSCREEN_PG_DIR:-/tmp/xscreen-postgres} owned by the 'postgres' user, listening on
# 127.0.0.1:${XSCREEN_PG_PORT:-55432}, and exports
# XSCREEN_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/xscreen_test.
# Safe to run again: an already running cluster is reused. Works sourced or executed (executed,
# it prints the export line for eval).

xscreen_start_postgres() {
    local dir="${XSCREEN_PG_DIR:-/tmp/xscreen-postgres}" port="${XSCREEN_PG_PORT:-55432}" bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$bin" ]; then
        echo "postgres.sh: installing postgresql with apt-get" >&2
        apt-get update -qq >&2 || return 1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || return 1
        bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    local as_postgres=(su postgres -s /bin/sh -c)
    if [ "$(id -un)" = postgres ]; then as_postgres=(sh -c); fi
    mkdir -p "$dir" && chown postgres "$dir" 2>/dev/null
    if [ ! -f "$dir/PG_VERSION" ]; then
        "${as_postgres[@]}" "'$bin/initdb' -D '$dir' -U postgres -A trust" >/dev/null || return 1
    fi
    if ! "${as_postgres[@]}" "'$bin/pg_ctl' -D '$dir' status" >/dev/null 2>&1; then
        "${as_postgres[@]}" "'$bin/pg_ctl' -D '$dir' -l '$dir/server.log' -w -o \
            \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null \
            || { cat "$dir/server.log" >&2; return 1; }
    fi
    "${as_postgres[@]}" "'$bin/psql' -h 127.0.0.1 -p $port -U postgres -tAc \
        \"SELECT 1 FROM pg_database WHERE datname = 'xscreen_test'\" | grep -q 1 || \
        '$bin/createdb' -h 127.0.0.1 -p $port -U postgres xscreen_test" || return 1
    export XSCREEN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/xscreen_test"
    echo "postgres.sh: XSCREEN_TEST_POSTGRES_URL=$XSCREEN_TEST_POSTGRES_URL" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    xscreen_start_postgres
    echo "export XSCREEN_TEST_POSTGRES_URL=$XSCREEN_TEST_POSTGRES_URL"
else
    xscreen_start_postgres
fi

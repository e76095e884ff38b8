#!/bin/sh
# A throw-away PostgreSQL for the tests: tests/pg.sh start|stop|url DIR
#
#   start  initdb's a cluster in DIR/data and runs it with its Unix socket in DIR and no TCP
#          listener; prints the URL. A cluster left by an earlier run is removed first.
#   stop   stops it and removes DIR entirely.
#   url    prints the URL (postgresql:///postgres?host=DIR&user=postgres).
#
# postgres refuses to run as root: as root (CI), initdb and pg_ctl run as the `postgres`
# system user in a DIR it owns. The server binaries are looked up in $ESEAL_PG_BINDIR, the
# newest /usr/lib/postgresql/N/bin, then PATH.
#
# With no server installed, start fails when CI is set (CI must test PostgreSQL), and
# otherwise prints why and exits 0, the tests then skip PostgreSQL with a message.
set -u

cmd=${1:?usage: pg.sh start|stop|url DIR}
DIR=${2:?usage: pg.sh start|stop|url DIR}
URL="postgresql:///postgres?host=$DIR&user=postgres"

bindir() {
    if [ -n "${ESEAL_PG_BINDIR:-}" ]; then
        echo "$ESEAL_PG_BINDIR"
        return
    fi
    b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -n 1)
    if [ -n "$b" ] && [ -x "$b/initdb" ]; then
        echo "$b"
        return
    fi
    p=$(command -v initdb 2>/dev/null) && dirname "$p"
}

BIN=$(bindir)
AS=""
if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then
        AS="runuser -u postgres --"
    else
        AS="su postgres -s /bin/sh -c"
    fi
fi

# as CMD...: runs a server command as the cluster's owner.
as() {
    if [ -z "$AS" ]; then
        "$@"
    elif [ "${AS#runuser}" != "$AS" ]; then
        $AS "$@"
    else
        $AS "$*"
    fi
}

stop_cluster() {
    if [ -n "$BIN" ] && [ -f "$DIR/data/postmaster.pid" ]; then
        as "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
    rm -rf "$DIR"
}

case $cmd in
url)
    echo "$URL"
    ;;
start)
    if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ] || [ ! -x "$BIN/pg_ctl" ]; then
        if [ -n "${CI:-}" ]; then
            echo "pg.sh: no PostgreSQL server found (initdb, pg_ctl): CI must test PostgreSQL;" \
                "install it with scripts/deps.sh" >&2
            exit 1
        fi
        echo "pg.sh: SKIP: no PostgreSQL server installed (scripts/deps.sh installs it);" \
            "the PostgreSQL half of the store tests will be skipped"
        exit 0
    fi
    if [ -n "$AS" ] && ! id postgres >/dev/null 2>&1; then
        echo "pg.sh: running as root and there is no 'postgres' user to run the server as" >&2
        exit 1
    fi
    stop_cluster
    mkdir -p "$DIR" || exit 1
    chmod 700 "$DIR"
    if [ -n "$AS" ]; then chown postgres "$DIR" || exit 1; fi
    # -N: no fsync by initdb; the cluster lives for one test run. The tests run it with
    # fsync=off (nothing they check needs the disk); benchmarks set ESEAL_PG_FSYNC=on, so that
    # a figure counts durable commits.
    if ! as "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-locale -N \
        >"$DIR/initdb.log" 2>&1; then
        echo "pg.sh: initdb failed:" >&2
        cat "$DIR/initdb.log" >&2
        stop_cluster
        exit 1
    fi
    if ! as "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-c listen_addresses= -k $DIR -c fsync=${ESEAL_PG_FSYNC:-off} -c max_connections=200" start \
        >/dev/null 2>&1; then
        echo "pg.sh: the server did not start:" >&2
        tail -n 20 "$DIR/server.log" >&2
        stop_cluster
        exit 1
    fi
    echo "pg.sh: PostgreSQL ($("$BIN/postgres" --version)) at $URL"
    ;;
stop)
    stop_cluster
    echo "pg.sh: stopped, $DIR removed"
    ;;
*)
    echo "usage: pg.sh start|stop|url DIR" >&2
    exit 2
    ;;
esac

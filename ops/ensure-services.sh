#!/usr/bin/env bash
# ensure-services.sh — make sure PostgreSQL, Redis and RabbitMQ answer locally.
#
# Used by `make test` and CI. For each service: probe it; if it does not
# answer and the server is installed, start it with the command this machine
# uses, then poll (bounded) until it answers. If a server is not installed or
# does not come up in time, print one line to stderr naming it and exit
# non-zero: never skip silently.
#
# Overrides (all optional; defaults shown):
#   DC_TEST_PG_HOST=127.0.0.1     DC_TEST_PG_PORT=5432
#   DC_TEST_REDIS_HOST=127.0.0.1  DC_TEST_REDIS_PORT=6379
#   DC_TEST_AMQP_HOST=127.0.0.1   DC_TEST_AMQP_PORT=5672
#   DC_TEST_PG_WAIT=20  DC_TEST_REDIS_WAIT=20  DC_TEST_AMQP_WAIT=60  (seconds)
# A service on a non-local host is only probed, never started.
set -euo pipefail

PG_HOST="${DC_TEST_PG_HOST:-127.0.0.1}"
PG_PORT="${DC_TEST_PG_PORT:-5432}"
REDIS_HOST="${DC_TEST_REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${DC_TEST_REDIS_PORT:-6379}"
AMQP_HOST="${DC_TEST_AMQP_HOST:-127.0.0.1}"
AMQP_PORT="${DC_TEST_AMQP_PORT:-5672}"
PG_WAIT="${DC_TEST_PG_WAIT:-20}"
REDIS_WAIT="${DC_TEST_REDIS_WAIT:-20}"
AMQP_WAIT="${DC_TEST_AMQP_WAIT:-60}"

# Debian puts rabbitmq-server in /usr/sbin, which is not on a normal user's PATH.
PATH="${PATH}:/usr/sbin:/sbin"

LOG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ensure-services.XXXXXX")"
trap 'rm -rf "$LOG_DIR"' EXIT

die() {
    echo "ensure-services: $*" >&2
    exit 1
}

is_local() {
    case "$1" in
        127.*|localhost|::1|"[::1]") return 0 ;;
        *) return 1 ;;
    esac
}

# tcp_open HOST PORT — true if a TCP connection succeeds within 2 s.
tcp_open() {
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# ---- probes -----------------------------------------------------------------

pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -t 2 -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1
    else
        tcp_open "$PG_HOST" "$PG_PORT"
    fi
}

redis_up() {
    local reply
    if command -v redis-cli >/dev/null 2>&1; then
        reply="$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)"
    else
        # Speak the inline protocol directly when redis-tools is missing.
        reply="$(timeout 3 bash -c '
            exec 3<>"/dev/tcp/$1/$2" || exit 1
            printf "PING\r\n" >&3
            IFS= read -r -t 2 line <&3 && printf "%s" "${line#+}"
        ' _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null || true)"
    fi
    [[ "${reply%$'\r'}" == "PONG" ]]
}

amqp_up() {
    # RabbitMQ opens its AMQP listener at the very end of boot, so an open
    # port means the broker is ready to take connections.
    tcp_open "$AMQP_HOST" "$AMQP_PORT"
}

# wait_for NAME PROBE SECONDS LOGFILE — poll PROBE every second.
wait_for() {
    local name="$1" probe="$2" limit="$3" log="$4" waited=0
    while ! "$probe"; do
        if (( waited >= limit )); then
            if [[ -s "$log" ]]; then
                echo "ensure-services: last output of the $name start command:" >&2
                tail -n 15 "$log" | sed 's/^/    /' >&2
            fi
            die "$name did not answer within ${limit}s after starting it"
        fi
        sleep 1
        waited=$(( waited + 1 ))
    done
    echo "$name: started (${waited}s)"
}

# ---- services ---------------------------------------------------------------

ensure_postgresql() {
    if pg_up; then
        echo "postgresql: up"
        return
    fi
    is_local "$PG_HOST" || die "PostgreSQL at ${PG_HOST}:${PG_PORT} does not answer (not local, not starting it)"
    local versions
    versions="$(ls /etc/postgresql 2>/dev/null || true)"
    if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$versions" ]]; then
        die "PostgreSQL is not installed (no pg_ctlcluster or no cluster in /etc/postgresql); install Debian's postgresql"
    fi
    echo "postgresql: not answering on ${PG_HOST}:${PG_PORT}, starting it"
    local log="$LOG_DIR/postgresql.log"
    # shellcheck disable=SC2046  # one cluster version per line, as the machine uses it
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start \
        </dev/null >"$log" 2>&1 || true
    wait_for postgresql pg_up "$PG_WAIT" "$log"
}

ensure_redis() {
    if redis_up; then
        echo "redis: up"
        return
    fi
    is_local "$REDIS_HOST" || die "Redis at ${REDIS_HOST}:${REDIS_PORT} does not answer (not local, not starting it)"
    command -v redis-server >/dev/null 2>&1 \
        || die "Redis is not installed (no redis-server); install Debian's redis-server"
    echo "redis: not answering on ${REDIS_HOST}:${REDIS_PORT}, starting it"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    local log="$LOG_DIR/redis.log"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
        </dev/null >"$log" 2>&1 || true
    wait_for redis redis_up "$REDIS_WAIT" "$log"
}

ensure_rabbitmq() {
    if amqp_up; then
        echo "rabbitmq: up"
        return
    fi
    is_local "$AMQP_HOST" || die "RabbitMQ at ${AMQP_HOST}:${AMQP_PORT} does not answer (not local, not starting it)"
    command -v rabbitmq-server >/dev/null 2>&1 \
        || die "RabbitMQ is not installed (no rabbitmq-server); install Debian's rabbitmq-server"
    echo "rabbitmq: not answering on ${AMQP_HOST}:${AMQP_PORT}, starting it (can take ~10-30s)"
    local log="$LOG_DIR/rabbitmq.log"
    rabbitmq-server -detached </dev/null >"$log" 2>&1 || true
    wait_for rabbitmq amqp_up "$AMQP_WAIT" "$log"
}

ensure_postgresql
ensure_redis
ensure_rabbitmq

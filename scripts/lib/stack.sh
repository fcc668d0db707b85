# The demo stack on loopback, for scripts/demo, bench/run and bench/soak (source it):
# a private PostgreSQL 15 with ssl=on and pg_stat_statements, Redis (the cache), RabbitMQ
# (the Celery broker), a memcached, a Celery worker and Celery Beat running the e2e Django project's
# tasks, and Gunicorn serving that project with statsd to vitals. Every server runs in
# $STACK_DIR, on the ports below (not the standard ones, so nothing of yours is touched),
# and is recorded in $STACK_DIR/pids for stack_stop. Ports stay below the ephemeral range
# (32768 and up), where an outgoing connection could hold one.
# Redis also listens with TLS, and pgBouncer (transaction pooling) stands in front of
# PostgreSQL; the Django environment points at them when asked, nothing else changes:
#   STACK_REDIS_TLS=1   REDIS_URL=rediss://…?ssl_ca_certs=<the stack's CA> (the cache)
#   STACK_PGBOUNCER=1   DATABASE_URL through pgBouncer
#   STACK_DIR       state directory (required)
#   STACK_PG_PORT, STACK_PGBOUNCER_PORT, STACK_REDIS_PORT, STACK_REDIS_TLS_PORT,
#   STACK_MEMCACHED_PORT, STACK_AMQP_PORT, STACK_APP_PORT, STACK_STATSD_PORT
#   STACK_APP_WORKERS   Gunicorn sync workers (default 2)
#   STACK_HEARTBEAT_URL where Beat's tick task pings (empty: no ping)

STACK_PG_PORT="${STACK_PG_PORT:-25432}"
STACK_REDIS_PORT="${STACK_REDIS_PORT:-26379}"
STACK_REDIS_TLS_PORT="${STACK_REDIS_TLS_PORT:-26380}"
STACK_MEMCACHED_PORT="${STACK_MEMCACHED_PORT:-26211}"
STACK_PGBOUNCER_PORT="${STACK_PGBOUNCER_PORT:-26432}"
STACK_REDIS_TLS="${STACK_REDIS_TLS:-}"
STACK_PGBOUNCER="${STACK_PGBOUNCER:-}"
STACK_AMQP_PORT="${STACK_AMQP_PORT:-25672}"
STACK_APP_PORT="${STACK_APP_PORT:-8000}"
STACK_STATSD_PORT="${STACK_STATSD_PORT:-8125}"
STACK_APP_WORKERS="${STACK_APP_WORKERS:-2}"
STACK_HEARTBEAT_URL="${STACK_HEARTBEAT_URL:-}"
STACK_APP="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/e2e/django_app" && pwd)"
STACK_PASSWORD="demo-secret"  # the redaction in every output and log is part of the demo

stack_as() {  # <user> <command...>: as that system user when root, else as ourselves
    local user="$1"
    shift
    if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

stack_as_prefix() {  # <user>: the words stack_as puts first, for commands run by setsid
    if [ "$(id -u)" -eq 0 ]; then echo "runuser -u $1 --"; fi
}

stack_wait() {  # <seconds> <what> <command...>: until the command succeeds
    local seconds="$1" what="$2"
    shift 2
    local until=$((SECONDS + seconds))
    while [ "$SECONDS" -lt "$until" ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "stack: $what did not come up; logs in $STACK_DIR" >&2
    return 1
}

stack_env() {  # the variables a Django container has
    STACK_DIRECT_DATABASE_URL="postgres://shop:$STACK_PASSWORD@127.0.0.1:$STACK_PG_PORT/shop"
    export DATABASE_URL="$STACK_DIRECT_DATABASE_URL"
    if [ -n "$STACK_PGBOUNCER" ]; then
        export DATABASE_URL="postgres://shop:$STACK_PASSWORD@127.0.0.1:$STACK_PGBOUNCER_PORT/shop"
    fi
    export REDIS_URL="redis://127.0.0.1:$STACK_REDIS_PORT/0"
    if [ -n "$STACK_REDIS_TLS" ]; then
        export REDIS_URL="rediss://127.0.0.1:$STACK_REDIS_TLS_PORT/0?ssl_cert_reqs=required&ssl_ca_certs=$STACK_DIR/tls/server.crt"
    fi
    export CELERY_BROKER_URL="amqp://shop:$STACK_PASSWORD@127.0.0.1:$STACK_AMQP_PORT//"
    export STATIC_ROOT="$STACK_DIR/static"
}

stack_spawn() {  # <name> <command...>: in the background, in its own session, logged
    local name="$1"
    shift
    setsid "$@" >"$STACK_DIR/$name.log" 2>&1 </dev/null &
    echo "$! $name" >>"$STACK_DIR/pids"
    disown "$!"  # stack_stop ends it; no job notices from this shell
}

stack_postgres() {
    local pg=/usr/lib/postgresql/15/bin
    echo "$STACK_PASSWORD" >"$STACK_DIR/pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$STACK_DIR/pwfile"
    stack_as postgres "$pg/initdb" -D "$STACK_DIR/pg" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --pwfile="$STACK_DIR/pwfile" >/dev/null
    rm -f "$STACK_DIR/pwfile"
    # A certificate for the tls check (protocol postgres), valid 60 days: it warns at 30.
    openssl req -x509 -newkey rsa:2048 -nodes -days 60 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$STACK_DIR/pg/server.key" -out "$STACK_DIR/pg/server.crt" 2>/dev/null
    chmod 600 "$STACK_DIR/pg/server.key"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$STACK_DIR/pg/server.key" "$STACK_DIR/pg/server.crt"
    stack_as postgres "$pg/pg_ctl" -D "$STACK_DIR/pg" -l "$STACK_DIR/postgres.log" -w -o \
        "-p $STACK_PG_PORT -k $STACK_DIR -c listen_addresses=127.0.0.1 -c ssl=on \
         -c shared_preload_libraries=pg_stat_statements -c max_connections=100" start >/dev/null
    stack_as postgres psql -qX -h "$STACK_DIR" -p "$STACK_PG_PORT" -U postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE shop LOGIN PASSWORD '$STACK_PASSWORD'" -c "CREATE DATABASE shop OWNER shop" \
        -c "GRANT pg_monitor TO shop" >/dev/null
    stack_as postgres psql -qX -h "$STACK_DIR" -p "$STACK_PG_PORT" -U postgres -d shop \
        -c "CREATE EXTENSION pg_stat_statements" >/dev/null
}

stack_pgbouncer() {  # transaction pooling in front of PostgreSQL; shop may read its console
    local dir="$STACK_DIR/pgbouncer"
    mkdir -p "$dir"
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
shop = host=127.0.0.1 port=$STACK_PG_PORT dbname=shop
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $STACK_PGBOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/users.txt
stats_users = shop
pool_mode = transaction
default_pool_size = 10
max_client_conn = 200
INI
    echo "\"shop\" \"$STACK_PASSWORD\"" >"$dir/users.txt"
    chmod 600 "$dir/users.txt"
    [ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"  # pgBouncer will not run as root
    # shellcheck disable=SC2046
    stack_spawn pgbouncer $(stack_as_prefix postgres) /usr/sbin/pgbouncer "$dir/pgbouncer.ini"
    stack_wait 10 pgBouncer bash -c "exec 3<>/dev/tcp/127.0.0.1/$STACK_PGBOUNCER_PORT"
}

stack_redis() {  # plaintext and TLS ports, the certificate for 127.0.0.1 and localhost
    local tls="$STACK_DIR/tls"
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 60 -subj "/CN=localhost" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$tls/server.key" -out "$tls/server.crt" 2>/dev/null
    chmod 644 "$tls/server.crt"
    stack_spawn redis redis-server --bind 127.0.0.1 --port "$STACK_REDIS_PORT" \
        --tls-port "$STACK_REDIS_TLS_PORT" --tls-cert-file "$tls/server.crt" \
        --tls-key-file "$tls/server.key" --tls-ca-cert-file "$tls/server.crt" \
        --tls-auth-clients no --save '' --appendonly no
    stack_wait 10 Redis redis-cli -p "$STACK_REDIS_PORT" ping
}

stack_memcached() {  # 64 MiB; it will not run as root
    local user=()
    [ "$(id -u)" -eq 0 ] && user=(-u nobody)
    stack_spawn memcached memcached -l 127.0.0.1 -p "$STACK_MEMCACHED_PORT" -U 0 -m 64 "${user[@]}"
    stack_wait 10 memcached bash -c "exec 3<>/dev/tcp/127.0.0.1/$STACK_MEMCACHED_PORT"
}

stack_rabbitmq() {
    local home="$STACK_DIR/rabbitmq" node="demo$STACK_AMQP_PORT@localhost"
    mkdir -p "$home"
    if [ "$(id -u)" -eq 0 ]; then
        chown rabbitmq: "$home"
        home_env=/var/lib/rabbitmq  # the Erlang cookie lives there
    else
        home_env="$home"
    fi
    local env=(env HOME="$home_env" RABBITMQ_NODENAME="$node" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
        RABBITMQ_NODE_PORT="$STACK_AMQP_PORT" RABBITMQ_DIST_PORT=$((STACK_AMQP_PORT - 10000))
        ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_MNESIA_BASE="$home/mnesia" RABBITMQ_LOG_BASE="$home/log"
        RABBITMQ_ENABLED_PLUGINS_FILE="$home/plugins" RABBITMQ_CONFIG_FILE="$home/rabbitmq.conf")
    # STACK_AMQP_METRICS_PORT (bench/fleet): RabbitMQ's own Prometheus endpoint, whose global
    # counters say how many messages the broker received, whoever sent them.
    if [ -n "${STACK_AMQP_METRICS_PORT:-}" ]; then
        echo "[rabbitmq_prometheus]." >"$home/plugins"
        printf 'prometheus.tcp.ip = 127.0.0.1\nprometheus.tcp.port = %s\n' \
            "$STACK_AMQP_METRICS_PORT" >"$home/rabbitmq.conf"
    fi
    # shellcheck disable=SC2046
    stack_spawn rabbitmq $(stack_as_prefix rabbitmq) "${env[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server
    stack_wait 90 RabbitMQ stack_as rabbitmq "${env[@]}" rabbitmqctl -n "$node" await_startup --timeout 10
    stack_as rabbitmq "${env[@]}" rabbitmqctl -n "$node" add_user shop "$STACK_PASSWORD" >/dev/null
    stack_as rabbitmq "${env[@]}" rabbitmqctl -n "$node" set_permissions shop '.*' '.*' '.*' >/dev/null
    # Recorded for stack_stop: rabbitmq-server's Erlang VM outlives a signal to its wrapper.
    echo "$node" >"$STACK_DIR/rabbitmq.node"
}

stack_django() {  # migrate, collectstatic, and a periodic task every 30 s for Beat
    (cd "$STACK_APP" &&
        DATABASE_URL="$STACK_DIRECT_DATABASE_URL" /usr/bin/python3 manage.py migrate --noinput -v0 &&
        /usr/bin/python3 manage.py collectstatic --noinput -v0 &&
        /usr/bin/python3 manage.py shell -c "
from django_celery_beat.models import IntervalSchedule, PeriodicTask
every = IntervalSchedule.objects.get_or_create(every=30, period='seconds')[0]
PeriodicTask.objects.update_or_create(name='tick', defaults={'task': 'shop.tick', 'interval': every})")
}

stack_start() {  # everything, in dependency order
    mkdir -p "$STACK_DIR"
    chmod 755 "$STACK_DIR"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$STACK_DIR"
    : >"$STACK_DIR/pids"
    stack_env
    stack_postgres
    stack_pgbouncer
    stack_redis
    stack_memcached
    stack_rabbitmq
    stack_django
    (cd "$STACK_APP" && VITALS_HEARTBEAT_URL="$STACK_HEARTBEAT_URL" stack_spawn celery-worker \
        /usr/bin/python3 -m celery -A shop worker -E -n "shop@%h" -c 2 -l warning)
    (cd "$STACK_APP" && CELERY_BEAT_SYNC_EVERY=1 stack_spawn celery-beat /usr/bin/python3 -m celery \
        -A shop beat -l warning -S django_celery_beat.schedulers:DatabaseScheduler --pidfile=)
}

stack_gunicorn() {  # separately: vitals' statsd listener should be up first
    stack_spawn gunicorn /usr/bin/python3 -m gunicorn --chdir "$STACK_APP" \
        --workers "$STACK_APP_WORKERS" --bind "127.0.0.1:$STACK_APP_PORT" \
        --statsd-host "127.0.0.1:$STACK_STATSD_PORT" --log-level warning shop.wsgi:application
    stack_wait 30 Gunicorn curl -fsS -o /dev/null -H "Host: localhost" "http://127.0.0.1:$STACK_APP_PORT/"
}

stack_stop() {  # every process started, then PostgreSQL and RabbitMQ's VM; the directory
    [ -d "$STACK_DIR" ] || return 0
    if [ -f "$STACK_DIR/pids" ]; then
        while read -r pid _; do kill -TERM -- "-$pid" 2>/dev/null || true; done <"$STACK_DIR/pids"
    fi
    if [ -f "$STACK_DIR/rabbitmq.node" ]; then
        local home_env="$STACK_DIR/rabbitmq"
        [ "$(id -u)" -eq 0 ] && home_env=/var/lib/rabbitmq
        stack_as rabbitmq env HOME="$home_env" ERL_EPMD_ADDRESS=127.0.0.1 \
            rabbitmqctl -n "$(cat "$STACK_DIR/rabbitmq.node")" stop >/dev/null 2>&1 || true
    fi
    if [ -f "$STACK_DIR/pg/postmaster.pid" ]; then
        stack_as postgres /usr/lib/postgresql/15/bin/pg_ctl -D "$STACK_DIR/pg" -m fast -w stop \
            >/dev/null 2>&1 || true
    fi
    sleep 0.5
    if [ -f "$STACK_DIR/pids" ]; then
        while read -r pid _; do kill -KILL -- "-$pid" 2>/dev/null || true; done <"$STACK_DIR/pids"
    fi
    rm -rf "$STACK_DIR"
}

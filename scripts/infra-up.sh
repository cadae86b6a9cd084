#!/usr/bin/env bash
# Prepares the local infrastructure of the platform (DESIGN.md §7): PostgreSQL 15, Redis and
# RabbitMQ answering on 127.0.0.1 at their default ports (and Debian's chromium for the browser
# tests), plus per service one database
# (consorcio_<service>) and two login roles, password = role name, for local use only:
# consorcio_<service>_migrator owns the database and its tables (migrations run as it), and
# consorcio_<service> is the service's own role (it may connect; the platform grants it DML).
#
# Idempotent, for root on a machine without systemd (CI, dev containers):
#   - a server that already answers is left alone;
#   - an installed but stopped server is started;
#   - a missing server is installed with apt-get (one `apt-get update` at most per run).
# Each wait has a timeout (INFRA_TIMEOUT seconds, default 120) and says what it waited for.
#
# Usage: bash scripts/infra-up.sh     (npm run infra:up)
# It runs before `npm ci` in .ci/run, so it needs nothing but bash and Debian's tools.
set -euo pipefail

readonly TIMEOUT="${INFRA_TIMEOUT:-120}"
readonly HOST=127.0.0.1
readonly PG_VERSION=15
# Overridable only to try the script against a scratch cluster (e.g. INFRA_PG_CLUSTER=scratch INFRA_PG_PORT=5433).
readonly PG_CLUSTER="${INFRA_PG_CLUSTER:-main}"
readonly PG_PORT="${INFRA_PG_PORT:-5432}"
readonly REDIS_PORT=6379
readonly AMQP_PORT=5672
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly CREATE_DATABASES_SQL="$SCRIPT_DIR/sql/create-databases.sql"
readonly MARK="# added by consorcio scripts/infra-up.sh"

START_SECONDS=$SECONDS
APT_UPDATED=0

log() { printf '[infra-up %3ss] %s\n' "$((SECONDS - START_SECONDS))" "$*"; }
die() {
  printf '[infra-up %3ss] ERROR: %s\n' "$((SECONDS - START_SECONDS))" "$*" >&2
  exit 1
}

# True when something accepts TCP connections on 127.0.0.1:<port>.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# wait_for <what> <command...>: retries the command once a second until it succeeds or TIMEOUT.
wait_for() {
  local what=$1
  shift
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      die "$what did not become ready within ${TIMEOUT}s (command: $*)"
    fi
    sleep 1
  done
}

apt_install() {
  if [[ $(id -u) -ne 0 ]]; then die "installing $* needs root (apt-get); run as root or install it by hand"; fi
  export DEBIAN_FRONTEND=noninteractive
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    apt-get update -q >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  apt-get install -y -q "$@" >/dev/null || die "apt-get install -y $* failed"
}

# ---------------------------------------------------------------- PostgreSQL
pg_ready() { pg_isready -q -h "$HOST" -p "$PG_PORT" -t 2; }
pg_psql() { psql -h "$HOST" -p "$PG_PORT" -U postgres -w -X -v ON_ERROR_STOP=1 "$@"; }

# The host of this project needs trust for TCP on 127.0.0.1 (a dev/CI box: tests connect as
# postgres and as the per-service roles without passwords). A fresh Debian cluster uses
# scram-sha-256 there, so put a trust line first in pg_hba.conf and reload.
pg_ensure_trust() {
  if pg_psql -qAtc 'select 1' >/dev/null 2>&1; then return 0; fi
  log "PostgreSQL: postgres cannot log in over $HOST without a password; configuring trust for $HOST"
  local hba
  hba=$(runuser -u postgres -- psql -X -p "$PG_PORT" -qAtc 'show hba_file' 2>/dev/null) ||
    hba="/etc/postgresql/$PG_VERSION/$PG_CLUSTER/pg_hba.conf"
  [[ -f $hba ]] || die "cannot find pg_hba.conf (looked at $hba)"
  if ! grep -qF "$MARK" "$hba"; then
    local tmp
    tmp=$(mktemp)
    {
      echo "$MARK (local development and CI only)"
      echo "host    all             all             127.0.0.1/32            trust"
      cat "$hba"
    } >"$tmp"
    cat "$tmp" >"$hba" # keep owner and mode of the original file
    rm -f "$tmp"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" reload ||
    runuser -u postgres -- psql -X -p "$PG_PORT" -qAtc 'select pg_reload_conf()' >/dev/null
  wait_for "PostgreSQL login as postgres over $HOST" pg_psql -qAtc 'select 1'
}

ensure_postgres() {
  local t0=$SECONDS
  if command -v pg_isready >/dev/null && pg_ready; then
    log "PostgreSQL: already answering on $HOST:$PG_PORT"
  elif ! command -v pg_isready >/dev/null && port_open "$PG_PORT"; then
    # Something (a container?) holds the port but the client tools are missing: install them only.
    log "PostgreSQL: port $PG_PORT is open but the client tools are missing"
    apt_install postgresql-client
  else
    if [[ ! -x /usr/lib/postgresql/$PG_VERSION/bin/postgres ]]; then
      log "PostgreSQL $PG_VERSION: not installed"
      apt_install "postgresql-$PG_VERSION" postgresql-client
    fi
    if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$PG_VERSION $PG_CLUSTER"; then
      log "PostgreSQL: creating cluster $PG_VERSION/$PG_CLUSTER"
      pg_createcluster -p "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null
    fi
    if pg_ready; then
      log "PostgreSQL: answering after install"
    else
      log "PostgreSQL: starting cluster $PG_VERSION/$PG_CLUSTER"
      # "already running" (exit 2) is fine: it may still be starting up.
      pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" start ||
        pg_lsclusters -h | grep -q "^$PG_VERSION *$PG_CLUSTER .*online" ||
        die "pg_ctlcluster could not start $PG_VERSION/$PG_CLUSTER (see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)"
      wait_for "PostgreSQL on $HOST:$PG_PORT (log: /var/log/postgresql/)" pg_ready
    fi
  fi
  pg_ensure_trust
  log "PostgreSQL: ready ($((SECONDS - t0))s)"
}

create_databases() {
  local t0=$SECONDS
  [[ -f $CREATE_DATABASES_SQL ]] || die "missing $CREATE_DATABASES_SQL"
  pg_psql -q -d postgres -f "$CREATE_DATABASES_SQL" >/dev/null ||
    die "creating the service roles and databases failed ($CREATE_DATABASES_SQL)"
  local n
  n=$(pg_psql -qAtc "select count(*) from pg_database d join pg_roles r on r.oid = d.datdba
                     join pg_roles s on s.rolname = d.datname
                     where d.datname like 'consorcio\_%' and r.rolname = d.datname || '_migrator'
                       and r.rolcanlogin and s.rolcanlogin and has_database_privilege(s.oid, d.oid, 'CONNECT')")
  log "PostgreSQL: $n service databases, each owned by its migrator role, with a service role ($((SECONDS - t0))s)"
}

# ---------------------------------------------------------------- Redis
redis_ready() {
  local reply
  reply=$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
  [[ $reply == PONG || $reply == NOAUTH* ]]
}

ensure_redis() {
  local t0=$SECONDS
  if command -v redis-cli >/dev/null && redis_ready; then
    log "Redis: already answering on $HOST:$REDIS_PORT"
  elif ! command -v redis-cli >/dev/null && port_open "$REDIS_PORT"; then
    log "Redis: port $REDIS_PORT is open but redis-cli is missing"
    apt_install redis-tools
  else
    if ! command -v redis-server >/dev/null; then
      log "Redis: not installed"
      apt_install redis-server
    fi
    if redis_ready; then
      log "Redis: answering after install"
    else
      log "Redis: starting redis-server on $HOST:$REDIS_PORT"
      redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" --save "" --appendonly no >/dev/null ||
        die "redis-server did not start"
      wait_for "Redis on $HOST:$REDIS_PORT" redis_ready
    fi
  fi
  log "Redis: ready ($((SECONDS - t0))s)"
}

# ---------------------------------------------------------------- RabbitMQ
rabbit_ready() { rabbitmq-diagnostics -q ping; }

# The pid file the broker writes: $RABBITMQ_PID_FILE, else <mnesia base>/<node name>.pid, read
# from rabbitmq-env.conf the way rabbitmq-server does.
rabbit_pid_file() {
  (
    set +eu
    # shellcheck disable=SC1091
    [[ -f /etc/rabbitmq/rabbitmq-env.conf ]] && . /etc/rabbitmq/rabbitmq-env.conf >/dev/null 2>&1
    local node=${RABBITMQ_NODENAME:-${NODENAME:-rabbit}}
    [[ $node == *@* ]] || node="$node@$(hostname -s)"
    echo "${RABBITMQ_PID_FILE:-${PID_FILE:-${RABBITMQ_MNESIA_BASE:-${MNESIA_BASE:-/var/lib/rabbitmq/mnesia}}/$node.pid}}"
  )
}

# A fresh install gets a node name that does not depend on the machine's hostname resolving,
# and listeners bound to 127.0.0.1. An existing configuration is respected.
rabbit_configure() {
  mkdir -p /etc/rabbitmq
  local env=/etc/rabbitmq/rabbitmq-env.conf conf=/etc/rabbitmq/rabbitmq.conf
  if ! grep -qsE '^[[:space:]]*(export[[:space:]]+)?(RABBITMQ_)?NODENAME=' "$env"; then
    log "RabbitMQ: writing node name and 127.0.0.1 bindings to $env"
    {
      echo "$MARK"
      echo "NODENAME=rabbit@localhost"
      echo "ERL_EPMD_ADDRESS=$HOST"
      echo 'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"'
    } >>"$env"
  fi
  if [[ ! -s $conf ]]; then
    log "RabbitMQ: writing listener $HOST:$AMQP_PORT to $conf"
    {
      echo "$MARK"
      echo "listeners.tcp.local = $HOST:$AMQP_PORT"
    } >"$conf"
  fi
}

ensure_rabbitmq() {
  local t0=$SECONDS
  if command -v rabbitmq-diagnostics >/dev/null && rabbit_ready >/dev/null 2>&1; then
    log "RabbitMQ: already answering (rabbitmq-diagnostics ping)"
  elif ! command -v rabbitmq-server >/dev/null && port_open "$AMQP_PORT"; then
    # A broker we do not manage (a container?) holds the AMQP port: leave it.
    log "RabbitMQ: a broker already listens on $HOST:$AMQP_PORT (not managed here)"
  else
    if ! command -v rabbitmq-server >/dev/null; then
      log "RabbitMQ: not installed"
      apt_install rabbitmq-server
    fi
    local pid_file pid=""
    pid_file=$(rabbit_pid_file)
    [[ -s $pid_file ]] && pid=$(tr -dc '0-9' <"$pid_file")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      log "RabbitMQ: node process $pid is running but does not answer yet; waiting for it"
    else
      rabbit_configure
      pid_file=$(rabbit_pid_file)
      rm -f "$pid_file" # stale (the process is gone): `rabbitmqctl wait` would read it
      log "RabbitMQ: starting (rabbitmq-server -detached)"
      rabbitmq-server -detached || die "rabbitmq-server -detached failed (see /var/log/rabbitmq/)"
    fi
    # `wait` first (it follows the pid file while the node boots), then the ping that counts.
    # The management plugin is not needed: readiness never uses the HTTP API.
    log "RabbitMQ: waiting for the node ($pid_file)"
    rabbitmqctl -q wait --timeout "$TIMEOUT" "$pid_file" >/dev/null 2>&1 ||
      log "RabbitMQ: rabbitmqctl wait did not confirm the node; checking with ping"
    wait_for "RabbitMQ (rabbitmq-diagnostics ping; logs in /var/log/rabbitmq/)" rabbit_ready
  fi
  wait_for "RabbitMQ AMQP listener on $HOST:$AMQP_PORT" port_open "$AMQP_PORT"
  log "RabbitMQ: ready ($((SECONDS - t0))s)"
}

# ---------------------------------------------------------------- Chromium
# The browser tests (CORS, connect-web) drive Debian's chromium through playwright-core.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    log "Chromium: installed ($(command -v chromium))"
    return
  fi
  log "Chromium: not installed"
  apt_install chromium
  log "Chromium: installed"
}

# ---------------------------------------------------------------- main
log "preparing PostgreSQL $PG_VERSION, Redis and RabbitMQ on $HOST (timeout ${TIMEOUT}s per wait)"
ensure_postgres
create_databases
ensure_redis
ensure_rabbitmq
ensure_chromium
log "all infrastructure ready in $((SECONDS - START_SECONDS))s:" \
  "postgres://$HOST:$PG_PORT redis://$HOST:$REDIS_PORT amqp://$HOST:$AMQP_PORT"

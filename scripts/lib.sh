# Shared by scripts/run, scripts/test and scripts/bench: make sure the local RabbitMQ (with its
# management UI) and PostgreSQL answer, starting them when they are installed here but stopped.
# Never stops or wipes anything.

AMQP_PORT=${AMQP_PORT:-5672}
RABBITMQ_MANAGEMENT_PORT=${RABBITMQ_MANAGEMENT_PORT:-15672}
PG_PORT=${PG_PORT:-5432}

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() { # port seconds
  local deadline=$((SECONDS + $2))
  until port_open "$1"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

ensure_rabbitmq() {
  if ! port_open "$AMQP_PORT"; then
    local patience=3
    if command -v rabbitmq-server >/dev/null; then
      say "RabbitMQ is not answering on $AMQP_PORT; starting it (rabbitmq-server -detached)"
      rabbitmq-server -detached >/dev/null 2>&1 || true
      patience=90
    fi
    wait_for_port "$AMQP_PORT" "$patience" || {
      say "RabbitMQ is not reachable on 127.0.0.1:$AMQP_PORT."
      say "Start it with: rabbitmq-server -detached   (or: docker run -p 5672:5672 -p 15672:15672 rabbitmq:3-management)"
      exit 1
    }
  fi
  if ! port_open "$RABBITMQ_MANAGEMENT_PORT"; then
    local patience=3
    if command -v rabbitmq-plugins >/dev/null; then
      say "enabling the RabbitMQ management plugin (UI and HTTP API on $RABBITMQ_MANAGEMENT_PORT)"
      rabbitmq-plugins enable rabbitmq_management >/dev/null 2>&1 || true
      patience=60
    fi
    wait_for_port "$RABBITMQ_MANAGEMENT_PORT" "$patience" || {
      say "The RabbitMQ management API is not reachable on 127.0.0.1:$RABBITMQ_MANAGEMENT_PORT."
      say "Enable it with: rabbitmq-plugins enable rabbitmq_management"
      return 1
    }
  fi
}

ensure_postgres() {
  if ! port_open "$PG_PORT"; then
    local patience=3
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      say "PostgreSQL is not answering on $PG_PORT; starting it"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start >/dev/null 2>&1 || true
      patience=60
    fi
    wait_for_port "$PG_PORT" "$patience" || {
      say "PostgreSQL is not reachable on 127.0.0.1:$PG_PORT."
      say "Start it with: pg_ctlcluster \$(ls /etc/postgresql) main start   (or: docker run -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16)"
      exit 1
    }
  fi
}

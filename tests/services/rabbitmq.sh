#!/usr/bin/env bash
# RabbitMQ as a plain process (not the Debian wrapper): own HOME/cookie, private epmd port, everything on 127.0.0.1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$HPCC_SERVICES_DIR/rabbitmq"
NAME=hpcc$$
rmq_env() {
  export HOME="$D/home" RABBITMQ_NODENAME="$(cat "$D/nodename")@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$(cat "$D/port")" RABBITMQ_DIST_PORT="$(cat "$D/distport")" ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT="$(cat "$D/epmdport")" RABBITMQ_MNESIA_BASE="$D/mnesia" RABBITMQ_LOG_BASE="$D/log"
  export RABBITMQ_PID_FILE="$D/pid" RABBITMQ_CONFIG_FILE="$D/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$D/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$D/enabled_plugins" RABBITMQ_CONF_ENV_FILE="$D/rabbitmq-env.conf"
  # +sbwt none: Erlang schedulers otherwise busy-wait for work, which on a 2-core test machine takes CPU from the
  # processes under test (RabbitMQ's own advice for hosts shared with other work)
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none"
}
ctl() { rmq_env; timeout 60 /usr/lib/rabbitmq/bin/rabbitmqctl -n "$RABBITMQ_NODENAME" "$@"; }
launch() {
  rmq_env
  setsid /usr/lib/rabbitmq/bin/rabbitmq-server >> "$D/stdout.log" 2>&1 < /dev/null &
  record_pid rabbitmq $!
  wait_for 600 port_open "$RABBITMQ_NODE_PORT" || { tail -30 "$D/stdout.log" >&2; exit 1; }
}
case "${1:-start}" in
start)
  rm -rf "$D"; mkdir -p "$D/home" "$D/mnesia" "$D/log"
  head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 > "$D/home/.erlang.cookie"; chmod 400 "$D/home/.erlang.cookie"
  echo "$NAME" > "$D/nodename"; free_port > "$D/port"; free_port > "$D/distport"; free_port > "$D/epmdport"
  launch
  ctl add_vhost hpcc >/dev/null; ctl add_user hpcc hpccpw >/dev/null; ctl set_permissions -p hpcc hpcc '.*' '.*' '.*' >/dev/null
  write_env rabbitmq HPCC_TEST_AMQP_URL="amqp://hpcc:hpccpw@127.0.0.1:$(cat "$D/port")/hpcc" HPCC_TEST_RABBITMQ_CTL="$SERVICES_SRC/rabbitmq.sh"
  log "rabbitmq on 127.0.0.1:$(cat "$D/port")"
  ;;
# used by outage tests: stop the broker and start it again on the same port and data
pause) stop_recorded rabbitmq ;;
resume) launch ;;
stop)
  stop_recorded rabbitmq
  # the broker's epmd runs on our private port; stop it by that port only
  if [ -f "$D/epmdport" ]; then
    pid=$(ss -ltnpH "sport = :$(cat "$D/epmdport")" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  fi
  ;;
esac

#!/usr/bin/env bash
# fauxqs (npm): an S3-compatible server that works with AWSSDK.S3 defaults. It binds 0.0.0.0 (hard-coded);
# tests only ever talk to 127.0.0.1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$HPCC_SERVICES_DIR/s3"
case "${1:-start}" in
start)
  mkdir -p "$D"
  PORT=$(free_port)
  FAUXQS_PORT=$PORT setsid node "$SERVICES_SRC/node_modules/fauxqs/dist/cli.js" > "$D/s3.log" 2>&1 < /dev/null &
  record_pid s3 $!
  wait_for 200 port_open "$PORT" || { cat "$D/s3.log" >&2; exit 1; }
  write_env s3 HPCC_TEST_S3_URL="http://127.0.0.1:$PORT"
  log "s3 (fauxqs) on 127.0.0.1:$PORT"
  ;;
stop) stop_recorded s3 ;;
esac

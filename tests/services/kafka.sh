#!/usr/bin/env bash
# librdkafka's mock Kafka cluster, hosted by a long-running kcat; the broker address is read from its log.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$HPCC_SERVICES_DIR/kafka"
case "${1:-start}" in
start)
  rm -rf "$D"; mkdir -p "$D"
  setsid kcat -C -b 127.0.0.1:1 -X test.mock.num.brokers=1 -t hpcc.keepalive -o end -q > "$D/kcat.out" 2> "$D/kcat.err" < /dev/null &
  record_pid kafka $!
  wait_for 100 grep -q 'replaced with' "$D/kcat.err" || { cat "$D/kcat.err" >&2; exit 1; }
  BS=$(grep -o 'replaced with [0-9.:,]*' "$D/kcat.err" | head -1 | awk '{print $3}')
  write_env kafka HPCC_TEST_KAFKA_BOOTSTRAP="$BS"
  log "kafka (mock) on $BS"
  ;;
stop) stop_recorded kafka ;;
esac

#!/usr/bin/env bash
# Starts every test server and writes $HPCC_SERVICES_DIR/services.env (source it to reach them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# a second start-all in the same folder would overwrite the recorded PIDs and orphan the first servers: stop them first
bash "$SERVICES_SRC/stop-all.sh"
for s in sshd postgres s3 kafka smtp smtp-tls rabbitmq; do
  bash "$SERVICES_SRC/$s.sh" start
done
cat "$HPCC_SERVICES_DIR"/{sshd,postgres,s3,kafka,smtp,smtp-tls,rabbitmq}.env > "$HPCC_SERVICES_DIR/services.env"
echo "export HPCC_SERVICES_DIR=$(printf %q "$HPCC_SERVICES_DIR")" >> "$HPCC_SERVICES_DIR/services.env"
log "all servers up; env in $HPCC_SERVICES_DIR/services.env"

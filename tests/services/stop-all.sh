#!/usr/bin/env bash
# Stops every test server this harness started (by recorded PID only).
. "$(dirname "$0")/lib.sh"
for s in rabbitmq smtp-tls smtp kafka s3 postgres sshd; do bash "$SERVICES_SRC/$s.sh" stop || true; done

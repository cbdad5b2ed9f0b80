#!/usr/bin/env bash
# SMTP sink: aiosmtpd (Debian) writing every message into a Maildir.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$HPCC_SERVICES_DIR/smtp"
case "${1:-start}" in
start)
  rm -rf "$D"; mkdir -p "$D/maildir/new" "$D/maildir/cur" "$D/maildir/tmp"
  PORT=$(free_port)
  setsid /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$PORT" -c aiosmtpd.handlers.Mailbox "$D/maildir" > "$D/smtp.log" 2>&1 < /dev/null &
  record_pid smtp $!
  wait_for 100 port_open "$PORT" || { cat "$D/smtp.log" >&2; exit 1; }
  write_env smtp HPCC_TEST_SMTP_HOST=127.0.0.1 HPCC_TEST_SMTP_PORT=$PORT HPCC_TEST_SMTP_MAILDIR="$D/maildir"
  log "smtp sink on 127.0.0.1:$PORT"
  ;;
stop) stop_recorded smtp ;;
esac

#!/usr/bin/env bash
# SMTP sink with STARTTLS and AUTH: aiosmtpd (Debian) through its Python API, a self-signed certificate made by
# openssl, an authenticator that accepts one test user, every message written into a Maildir.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$HPCC_SERVICES_DIR/smtp-tls"
case "${1:-start}" in
start)
  rm -rf "$D"; mkdir -p "$D/maildir/new" "$D/maildir/cur" "$D/maildir/tmp"
  openssl req -x509 -newkey rsa:2048 -nodes -days 7 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$D/key.pem" -out "$D/cert.pem" > "$D/openssl.log" 2>&1
  PORT=$(free_port)
  USER_NAME=hpcc-mailer
  PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
  cat > "$D/sink.py" <<'PY'
import asyncio, ssl, sys, signal
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

host, port, maildir, cert, key, user, password = sys.argv[1:8]

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Mailbox(maildir), hostname=host, port=int(port), tls_context=context, require_starttls=True,
                        auth_required=True, auth_require_tls=True, authenticator=authenticator)
controller.start()
print(f"listening on {host}:{port}", flush=True)
stop = asyncio.Event()
loop = asyncio.new_event_loop()
loop.add_signal_handler(signal.SIGTERM, stop.set)
loop.add_signal_handler(signal.SIGINT, stop.set)
loop.run_until_complete(stop.wait())
controller.stop()
PY
  setsid /usr/bin/python3 "$D/sink.py" 127.0.0.1 "$PORT" "$D/maildir" "$D/cert.pem" "$D/key.pem" "$USER_NAME" "$PASSWORD" \
    > "$D/smtp-tls.log" 2>&1 < /dev/null &
  record_pid smtp-tls $!
  wait_for 100 port_open "$PORT" || { cat "$D/smtp-tls.log" >&2; exit 1; }
  write_env smtp-tls HPCC_TEST_SMTPS_HOST=127.0.0.1 HPCC_TEST_SMTPS_PORT=$PORT HPCC_TEST_SMTPS_MAILDIR="$D/maildir" \
    HPCC_TEST_SMTPS_USER=$USER_NAME HPCC_TEST_SMTPS_PASSWORD="$PASSWORD" HPCC_TEST_SMTPS_CERT="$D/cert.pem"
  log "smtp sink with STARTTLS+AUTH on 127.0.0.1:$PORT"
  ;;
stop) stop_recorded smtp-tls ;;
esac

#!/usr/bin/env bash
# Installs what the test servers need, only what is missing: Debian packages and the npm S3 server.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need=()
command -v /usr/sbin/sshd >/dev/null 2>&1 || need+=(openssh-server)
[ -x /usr/lib/openssh/sftp-server ] || need+=(openssh-sftp-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v scp >/dev/null 2>&1 || need+=(openssh-client)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || need+=(python3-aiosmtpd)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)

if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -f "$SERVICES_SRC/node_modules/fauxqs/dist/cli.js" ]; then
  log "npm install (fauxqs S3 server)"
  (cd "$SERVICES_SRC" && npm install --no-audit --no-fund --silent >/dev/null)
fi

# the SSH test account (password-less; key login only)
if ! id hpcctest >/dev/null 2>&1; then
  useradd -m -s /bin/bash hpcctest
  usermod -p '*' hpcctest
fi
log "install: ok"

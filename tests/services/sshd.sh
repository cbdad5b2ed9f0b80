#!/usr/bin/env bash
# OpenSSH sshd on 127.0.0.1:<free port> with SFTP and rsync; user hpcctest, ed25519 client key, known_hosts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
D="$HPCC_SERVICES_DIR/sshd"
case "${1:-start}" in
start)
  mkdir -p "$D" /run/sshd && chmod 755 /run/sshd
  [ -f "$D/hostkey" ] || ssh-keygen -q -t ed25519 -f "$D/hostkey" -N '' -C hpcc-test-host
  [ -f "$D/client_key" ] || ssh-keygen -q -t ed25519 -f "$D/client_key" -N '' -C hpcc-test-client
  # a second key that the server does not accept, for authentication-failure tests
  [ -f "$D/wrong_key" ] || ssh-keygen -q -t ed25519 -f "$D/wrong_key" -N '' -C hpcc-test-wrong
  mkdir -p "$D/authkeys" && cp "$D/client_key.pub" "$D/authkeys/hpcctest" && cp "$D/client_key.pub" "$D/authkeys/root" && chmod 644 "$D"/authkeys/*
  PORT=$(free_port)
  cat > "$D/sshd_config" <<CFG
Port $PORT
ListenAddress 127.0.0.1
HostKey $D/hostkey
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authkeys/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
AllowTcpForwarding yes
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp internal-sftp
LogLevel VERBOSE
CFG
  /usr/sbin/sshd -t -f "$D/sshd_config"
  /usr/sbin/sshd -D -e -f "$D/sshd_config" > "$D/sshd.log" 2>&1 < /dev/null &
  record_pid sshd $!
  wait_for 100 grep -q 'Server listening' "$D/sshd.log" || { cat "$D/sshd.log" >&2; exit 1; }
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$D/hostkey.pub")" > "$D/known_hosts"
  # a known_hosts with a different key for the same host, for host-key mismatch tests
  ssh-keygen -q -t ed25519 -f "$D/other_hostkey" -N '' -C other <<< y >/dev/null 2>&1 || true
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$D/other_hostkey.pub")" > "$D/known_hosts_mismatch"
  HOME_DIR=$(getent passwd hpcctest | cut -d: -f6)
  write_env sshd HPCC_TEST_SSH_HOST=127.0.0.1 HPCC_TEST_SSH_PORT=$PORT HPCC_TEST_SSH_USER=hpcctest \
    HPCC_TEST_SSH_KEY="$D/client_key" HPCC_TEST_SSH_WRONG_KEY="$D/wrong_key" HPCC_TEST_SSH_KNOWN_HOSTS="$D/known_hosts" \
    HPCC_TEST_SSH_KNOWN_HOSTS_MISMATCH="$D/known_hosts_mismatch" HPCC_TEST_SSH_HOME="$HOME_DIR" \
    HPCC_TEST_SSH_OPTS="-p $PORT -o IdentityFile=$D/client_key -o UserKnownHostsFile=$D/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes"
  log "sshd on 127.0.0.1:$PORT"
  ;;
stop) stop_recorded sshd ;;
esac

#!/usr/bin/env bash
# Synchrotron benchmark: starts its own sshd on loopback, builds and runs bench/Synchrotron, writes
# bench/results/synchrotron.md, stops the sshd. Usage: bash bench/synchrotron.sh [runs]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export HPCC_SERVICES_DIR="$ROOT/bench/.work/services"
command -v rsync >/dev/null && [ -x /usr/sbin/sshd ] || { echo "needs rsync and openssh-server (bash tests/services/install.sh)"; exit 1; }
trap 'bash tests/services/sshd.sh stop' EXIT
bash tests/services/sshd.sh start
# shellcheck disable=SC1091
. "$HPCC_SERVICES_DIR/sshd.env"
dotnet build bench/Synchrotron -c Release -nologo -v q
mkdir -p bench/results
dotnet bench/Synchrotron/bin/Release/net10.0/Synchrotron.Bench.dll "$ROOT/bench/.work/synchrotron" "$ROOT/bench/results/synchrotron.md" "${1:-5}"

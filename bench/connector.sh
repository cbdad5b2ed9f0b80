#!/usr/bin/env bash
# Campaign connector benchmark: starts the test sshd, runs bench/Connector (tunnel throughput vs OpenSSH ssh -L and
# direct; get_key rate vs a sequential server shaped like the original), writes bench/results/connector.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export HPCC_SERVICES_DIR="$ROOT/bench/.work/services"
mkdir -p "$HPCC_SERVICES_DIR"
trap 'bash tests/services/sshd.sh stop >/dev/null 2>&1 || true' EXIT
bash tests/services/sshd.sh start
# shellcheck disable=SC1091
. "$HPCC_SERVICES_DIR/sshd.env"
dotnet build bench/Connector/Connector.Bench.csproj -c Release -nologo -v q -o bench/.work/connector-bin
cp bench/Connector/sequential_baseline.py bench/.work/connector-bin/
timeout 900 dotnet bench/.work/connector-bin/Connector.Bench.dll bench/results/connector.md

#!/usr/bin/env bash
# Hot directory benchmark: 1000 x 1 KiB files and one large file through the full hot-directory path (embedded queue
# and RabbitMQ), side by side with rsync -e ssh and scp of the same files, in the same run.
# Writes bench/results/hotdirectory.md. Usage: bash bench/hotdirectory.sh [runs (3)] [largeMiB (1024)]; takes about 10 minutes
# with the defaults, because every run of every tool starts after a 10 s rest (HPCC_BENCH_PAUSE).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ENV="$ROOT/tests/.work/services/services.env"
STARTED=()
if [ -z "${HPCC_TEST_SSH_PORT:-}" ]; then
  if [ ! -f "$ENV" ] || ! grep -q HPCC_TEST_SSH_PORT "$ENV"; then
    bash "$ROOT/tests/services/sshd.sh" start
    bash "$ROOT/tests/services/rabbitmq.sh" start
    STARTED=(sshd rabbitmq)
    cat "$ROOT/tests/.work/services/sshd.env" "$ROOT/tests/.work/services/rabbitmq.env" > "$ENV"
  fi
  . "$ENV"
fi
# the env file written here names servers this run stops: remove it, or the next run would send to dead ports and hang
cleanup() { for s in "${STARTED[@]}"; do bash "$ROOT/tests/services/$s.sh" stop || true; done; [ ${#STARTED[@]} -eq 0 ] || rm -f "$ENV"; }
trap cleanup EXIT
dotnet build -c Release "$ROOT/bench/HotDirectory/HotDirectoryBench.csproj" -o "$ROOT/bench/.work/hotdirectory" >/dev/null
mkdir -p "$ROOT/bench/results"
dotnet "$ROOT/bench/.work/hotdirectory/HotDirectoryBench.dll" "$ROOT/bench/results/hotdirectory.md" "${1:-3}" "${2:-1024}"

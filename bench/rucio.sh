#!/usr/bin/env bash
# Rucio benchmark: starts its own S3 server (tests/services/s3.sh, fauxqs) on a free 127.0.0.1 port, runs
# bench/Rucio (Send-RucioBatch native transport vs a bare AWSSDK upload of the same files, same run) and writes
# bench/results/rucio.md. Stops only the server it started.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export HPCC_SERVICES_DIR="$ROOT/bench/.work/rucio-services"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
mkdir -p "$HPCC_SERVICES_DIR" bench/results
[ -f tests/services/node_modules/fauxqs/dist/cli.js ] || bash tests/services/install.sh
bash tests/services/s3.sh start
trap 'bash tests/services/s3.sh stop' EXIT
. "$HPCC_SERVICES_DIR/s3.env"
dotnet build bench/Rucio -c Release -nologo -v q
dotnet bench/Rucio/bin/Release/net10.0/Rucio.Bench.dll --s3 "$HPCC_TEST_S3_URL" --data bench/.work/rucio-data \
  --out bench/results/rucio.md "$@"
# the notes are kept by hand below the generated table
{ cat bench/results/rucio.md.table; [ -f bench/Rucio/NOTES.md ] && { echo; cat bench/Rucio/NOTES.md; }; } > bench/results/rucio.md
rm -f bench/results/rucio.md.table
echo "wrote bench/results/rucio.md"

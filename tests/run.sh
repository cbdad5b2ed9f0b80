#!/usr/bin/env bash
# The one test entry (README and .ci/run call it): installs what is missing, starts the real servers on
# 127.0.0.1, builds, runs every xunit project, stops the servers, and prints "N passed, N failed" last.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/tests/.work"
RESULTS="$WORK/results"
export HPCC_SERVICES_DIR="$WORK/services"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
rm -rf "$RESULTS" "$WORK/tmp"; mkdir -p "$RESULTS"

summary() { echo "$1 passed, $2 failed"; }

if ! bash tests/services/install.sh; then echo "installing the test servers failed"; summary 0 1; exit 1; fi
trap 'bash tests/services/stop-all.sh >/dev/null 2>&1' EXIT
if ! bash tests/services/start-all.sh; then echo "starting the test servers failed"; summary 0 1; exit 1; fi
# shellcheck disable=SC1091
. "$HPCC_SERVICES_DIR/services.env"

if ! dotnet build HpcCampaign.sln -nologo -v q 2>&1 | tail -20; then :; fi
if [ "${PIPESTATUS[0]}" != 0 ] || [ ! -f module/HpcCampaign.dll ]; then
  echo "build failed"; summary 0 1; exit 1
fi

rc=0
for proj in tests/*/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  echo "== $name"
  timeout 1500 dotnet test "$proj" --no-build -nologo -v q --blame-hang-timeout 8m \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" --results-directory "$RESULTS" || rc=1
done

passed=0; failed=0
for trx in "$RESULTS"/*.trx; do
  [ -f "$trx" ] || continue
  c=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(echo "$c" | grep -o ' passed="[0-9]*"' | grep -o '[0-9]*'); f=$(echo "$c" | grep -o ' failed="[0-9]*"' | grep -o '[0-9]*')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
n_trx=$(ls "$RESULTS"/*.trx 2>/dev/null | wc -l)
n_proj=$(ls tests/*/*.Tests.csproj | wc -l)
if [ "$n_trx" -lt "$n_proj" ]; then echo "a test project produced no results (crash or hang)"; failed=$((failed + 1)); fi
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
summary "$passed" "$failed"
[ "$failed" = 0 ]

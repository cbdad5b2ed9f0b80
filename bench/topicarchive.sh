#!/usr/bin/env bash
# Topic archive benchmark: N x 1 KiB messages over T topics through the full path (Kafka -> BSON -> store + index),
# side by side in one run with kcat's raw consume of the same topics and a bare loop writing the same objects and
# rows without Kafka; then the full path with S3 + PostgreSQL. Writes bench/results/topicarchive.md.
# usage: bash bench/topicarchive.sh [messages=100000] [topics=20] [bytes=1024]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N=${1:-100000}; T=${2:-20}; B=${3:-1024}
export HPCC_SERVICES_DIR="$ROOT/bench/.work/services"
WORK="$ROOT/bench/.work/topicarchive"
rm -rf "$WORK"; mkdir -p "$WORK" "$HPCC_SERVICES_DIR" "$ROOT/bench/results"
cleanup() { for s in kafka s3 postgres; do bash "$ROOT/tests/services/$s.sh" stop >/dev/null 2>&1 || true; done; }
trap cleanup EXIT
for s in kafka s3 postgres; do bash "$ROOT/tests/services/$s.sh" start; done
# shellcheck disable=SC1091
for s in kafka s3 postgres; do . "$HPCC_SERVICES_DIR/$s.env"; done
dotnet build "$ROOT/bench/TopicArchive" -c Release -nologo -v q >/dev/null
OUT="$WORK/numbers.txt"
dotnet "$ROOT/bench/TopicArchive/bin/Release/net10.0/TopicArchiveBench.dll" "$HPCC_TEST_KAFKA_BOOTSTRAP" "$WORK" "$N" "$T" "$B" \
  "$HPCC_TEST_S3_URL" "$HPCC_TEST_PG" | tee "$OUT"
val() { awk -v n="$1" '$1==n {print $2}' "$OUT"; }
cnt() { awk -v n="$1" '$1==n {print $3}' "$OUT"; }
rate() { awk -v s="$(val "$1")" -v c="$(cnt "$1")" 'BEGIN { if (s > 0) printf "%.0f", c / s; else print "n/a" }'; }
ratio() { awk -v a="$(rate "$1")" -v b="$(rate "$2")" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
{
  echo "# Topic archive benchmark"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, shared with other jobs"
  echo "- workload: $N messages x $B bytes over $T topics (hop-like: _id and _format headers), librdkafka mock broker (kcat -X test.mock.num.brokers=1) on loopback"
  echo "- command: \`bash bench/topicarchive.sh $N $T $B\`"
  echo
  echo "| run | seconds | messages | msg/s | rate vs kcat |"
  echo "|---|---|---|---|---|"
  for r in kcat bare full-sqlite-folder full-s3-postgres; do
    [ -n "$(val $r)" ] && echo "| $r | $(val $r) | $(cnt $r) | $(rate $r) | $(ratio $r kcat) |"
  done
  echo
  echo "- kcat: \`kcat -G <group> -X auto.offset.reset=earliest -e -q -f '%o\\n' <topics>\` (raw consume, output discarded): the Kafka floor."
  echo "- bare: the same BSON encoding, object writes (8 in parallel, temp file + rename, one syncfs per batch) and SQLite batch inserts (500 per transaction), no Kafka: the storage floor."
  echo "- full-sqlite-folder: Start-TopicArchive's engine, embedded default (folder + SQLite), consumer group join included, -UntilEndOfStream."
  echo "- full-s3-postgres: the same with fauxqs (S3, a single-threaded Node server) and PostgreSQL 15 on loopback; the first 20,000 messages only (-MaxMessages), to keep the run short."
  echo "- full / bare rate = $(ratio full-sqlite-folder bare): what Kafka, dedupe lookups and offset bookkeeping cost on top of storage."
  echo "- kcat and the full runs include a consumer-group join (about 3 s on the mock broker)."
  echo "- Durability is the cost: every batch's objects are made durable (one syncfs per batch on Linux) before the rows are"
  echo "  committed, and rows before offsets. syncfs also flushes other processes' dirty data on the same file system, so on a"
  echo "  shared machine the bare and full numbers vary by up to 2x between runs; compare them within one run."
  echo "- Before syncfs (an fsync per object, 8 in parallel) the same run measured bare 45.8 s and full 46.9 s (2,131 msg/s)."
} > "$ROOT/bench/results/topicarchive.md"
cat "$ROOT/bench/results/topicarchive.md"

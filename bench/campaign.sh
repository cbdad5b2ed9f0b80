#!/usr/bin/env bash
# Campaign archive benchmark: engine per-item cost vs a bare Microsoft.Data.Sqlite bulk insert of the same rows,
# in the same run, plus hpcc's whole-process time for 10,000 text references. Writes bench/results/campaign.md.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${CAMPAIGN_BENCH_DIR:-$(mktemp -d /tmp/campaign-bench.XXXXXX)}"
out="$here/bench/results/campaign.md"
mkdir -p "$work"
cd "$here"
dotnet build -c Release bench/Campaign -v q -nologo >/dev/null
dotnet run -c Release --no-build --project bench/Campaign -- "$work" | tee "$work/console.txt"

# whole hpcc process for 10,000 references (module import, path globbing, one transaction)
dotnet build src/HpcCampaign.Host -v q -nologo >/dev/null
hpcc_dll="$(ls -t src/HpcCampaign.Host/bin/*/net10.0/hpcc.dll | head -1)"
rm -f "$work/hpcc.aca"
TIMEFORMAT='%R %U %S'
{ time HPCCAMPAIGN_CONFIG_PATH="$work/config" dotnet "$hpcc_dll" -Command "\$ExecutionContext.SessionState.Path.SetLocation('$work/texts') | Out-Null; Add-CampaignText '$work/hpcc.aca' *.txt" ; } 2> "$work/hpcc-time.txt"
read -r hpcc_real hpcc_user hpcc_sys < <(tail -1 "$work/hpcc-time.txt")
count=$(sqlite3 "$work/hpcc.aca" 'select count(*) from dataset' 2>/dev/null || echo '?')
{
  echo "# Campaign archive benchmark"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB,"
  echo "$(uname -sr), .NET $(dotnet --version). Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Best of 3 runs per workload."
  echo
  echo "Ours = CampaignAdd (what Add-CampaignText/-Dataset run): read sources, UUIDv3, zlib, SHA-1, HDF5 stripping,"
  echo "BP metadata blob, then one transaction with reused prepared statements. Baseline = the same dataset/replica/"
  echo "file/repfiles rows and blobs, computed beforehand, inserted with prepared statements in one transaction."
  echo
  cat "$work/table.md"
  echo
  echo "hpcc whole process, \`Add-CampaignText x.aca *.txt\` for $count references: ${hpcc_real} s wall, ${hpcc_user} s user + ${hpcc_sys} s system CPU."
  echo
  echo "Load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg) (other jobs share the 2 cores)."
} > "$out"
echo "wrote $out"

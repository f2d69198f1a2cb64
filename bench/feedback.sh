#!/usr/bin/env bash
# The feedback loop at scale on PostgreSQL (issue #14), in process against Tandem's own code (Release):
#  (a) the lead-quality scorecard by campaign over 500 campaigns, 1M leads and 200k dispositions (target < 1 s), next to the
#      raw ceiling: one hand-written SQL statement computing the same per-campaign counts, measured in the same run;
#  (b) the campaign guard's evaluation added to a disposition (target p99 < 5 ms), next to one primary-key read round trip;
#  (c) what the rollup triggers (decision 021) add to writing one disposition: the same INSERT with the triggers on and off.
# Data is generated once (INSERT … SELECT generate_series) in the database and reused while it exists; KEEP_DB=1 keeps it.
# Usage: bench/feedback.sh [campaigns=500] [leads=1000000] [dispositions=200000] [runs=20]      Results: artifacts/bench/feedback.md
# BENCH_PG="Host=…;Port=…;Username=…" uses an existing PostgreSQL server (database bench_feedback) instead of a throwaway one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
campaigns=${1:-500}
leads=${2:-1000000}
dispositions=${3:-200000}
runs=${4:-20}
out="$root/artifacts/bench"
mkdir -p "$out"
. scripts/postgres.sh
db="bench_feedback"
cleanup() {
  if [ -n "${BENCH_PG:-}" ]; then
    [ "${KEEP_DB:-0}" = 1 ] || dotnet "$out/driver/Tandem.Bench.dll" drop-db --pg "$BENCH_PG" --name "$db" >/dev/null 2>&1 || true
  else stop_postgres; fi
}
trap cleanup EXIT

echo "==> Building the driver (Release)"
dotnet build bench/Tandem.Bench -c Release -o "$out/driver" -v q -nologo >/dev/null
driver="dotnet $out/driver/Tandem.Bench.dll"
if [ -n "${BENCH_PG:-}" ]; then
  server="$BENCH_PG"
  $driver create-db --pg "$server" --name "$db" 2>/dev/null || true
  pg_version=$($driver pg-version --pg "$server")
else
  start_postgres
  server="$PG_SERVER"
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $db" >/dev/null
  pg_version=$("$PG_BIN/postgres" --version | awk '{print $3}')
fi
$driver feedback --pg "$server;Database=$db;Command Timeout=0" --campaigns "$campaigns" --leads "$leads" --dispositions "$dispositions" --runs "$runs" \
  | tee "$out/feedback.txt" || true
{
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $pg_version; $(date -u +%Y-%m-%d)"
  echo "Command: bench/feedback.sh $campaigns $leads $dispositions $runs"
  grep '^data:' "$out/feedback.txt" || true
  echo
  echo "| run | runs | p50 ms | p95 / p99 ms | ratio to the ceiling (p50) |"
  echo "|---|---:|---:|---:|---:|"
  grep '^|' "$out/feedback.txt"
} > "$out/feedback.md"
echo; cat "$out/feedback.md"

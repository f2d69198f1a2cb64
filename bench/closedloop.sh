#!/usr/bin/env bash
# The closed-loop reports (#15) at scale on PostgreSQL: 1M leads over 12 months across 500 campaigns, 10M activities (marketing
# touches, sales touches), ~50k opportunities in EUR/USD/GBP with dated exchange rates, stage changes, customers and churn, sales
# costs, goals and ratings, generated in SQL (bench/closedloop.sql) into a database the app migrated. A Release Tandem server
# answers GET /api/v1/reports/kpis, /attribution and /dashboard (one request at a time); the raw SQL of the same figures runs in
# the same loop (bench/Tandem.Bench ClosedLoopBench), p50/p95 over 20 runs each.
# Usage: bench/closedloop.sh [runs=20] [leads=1000000]      Results: artifacts/bench/closedloop.md
# BENCH_PG="Host=…;Port=…;Username=…" uses an existing PostgreSQL server (database bench_closedloop, dropped at the end) instead of
# a throwaway one. BENCH_KEEP=1 keeps the database (and reuses it on the next run: no regeneration).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
runs=${1:-20}
leads=${2:-1000000}
db=bench_closedloop
out="$root/artifacts/bench"
mkdir -p "$out"
. scripts/postgres.sh
. bench/common.sh
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  if [ -n "${BENCH_PG:-}" ]; then
    [ -n "${BENCH_KEEP:-}" ] || dotnet "$out/driver/Tandem.Bench.dll" drop-db --pg "$BENCH_PG" --name "$db" >/dev/null 2>&1 || true
  else stop_postgres; fi
}
trap cleanup EXIT

echo "==> Building (Release)"
dotnet publish src/Tandem -c Release -o "$out/app" -v q -nologo >/dev/null
dotnet build bench/Tandem.Bench -c Release -o "$out/driver" -v q -nologo >/dev/null
driver="dotnet $out/driver/Tandem.Bench.dll"

if [ -n "${BENCH_PG:-}" ]; then server="$BENCH_PG"; else start_postgres; server="$PG_SERVER"; fi
cs="$server;Database=$db"
# psql connection from the Npgsql connection string (Host, Port, Username).
field() { echo "$server" | tr ';' '\n' | sed -n "s/^$1=//Ip" | head -1; }
export PGHOST=$(field Host) PGPORT=$(field Port) PGUSER=$(field Username) PGDATABASE=$db
export Tandem__Database__Provider=Postgres ConnectionStrings__Tandem="$cs" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
gen="(reused)"
if [ -z "${BENCH_KEEP:-}" ] || ! psql -qAtc 'SELECT 1 FROM "Leads" LIMIT 1' >/dev/null 2>&1; then
  $driver drop-db --pg "$server" --name "$db" >/dev/null 2>&1 || true
  $driver create-db --pg "$server" --name "$db"
  dotnet "$out/app/Tandem.dll" admin migrate >/dev/null
  echo "==> Generating the dataset ($leads leads × 10 activities) in SQL"
  t0=$(date +%s)
  psql -q -v leads="$leads" -v per=10 -v campaigns=500 -f bench/closedloop.sql
  gen="$(( $(date +%s) - t0 )) s"
else
  dotnet "$out/app/Tandem.dll" admin migrate >/dev/null
fi
sizes=$(psql -qAtc "SELECT format('%s leads, %s activities, %s opportunities (%s won, %s lost), %s stage transitions, %s campaigns, %s customers', \
  (SELECT count(*) FROM \"Leads\"), (SELECT count(*) FROM \"Activities\"), (SELECT count(*) FROM \"Deals\"), (SELECT count(*) FROM \"Deals\" WHERE \"Status\" = 'Won'), \
  (SELECT count(*) FROM \"Deals\" WHERE \"Status\" = 'Lost'), (SELECT count(*) FROM \"StageTransitions\"), (SELECT count(*) FROM \"Campaigns\"), \
  (SELECT count(*) FROM \"Accounts\" WHERE \"CustomerSince\" IS NOT NULL))")
key=$(dotnet "$out/app/Tandem.dll" admin create-api-key --name "bench-$(date +%s)" --scopes read | sed -n 's/^Key (shown once, store it now): //p')
[ -n "$key" ] || { echo "could not create an API key" >&2; exit 1; }

port=$(free_port)
(cd "$out/app" && exec dotnet Tandem.dll --urls "http://127.0.0.1:$port") >"$out/closedloop-server.log" 2>&1 &
pid=$!
wait_http "http://127.0.0.1:$port"
echo "==> Measuring ($runs runs per query, Tandem over HTTP and the raw SQL alternately)"
table=$($driver closedloop --url "http://127.0.0.1:$port" --key "$key" --pg "$cs" --runs "$runs" --budget "${BENCH_BUDGET:-120}")
{
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $(psql -qAtc 'SHOW server_version'); $(date -u +%Y-%m-%d)"
  echo "Command: bench/closedloop.sh $runs $leads  (dataset generated in SQL: $gen)"
  echo "Dataset: $sizes"
  echo
  echo "$table"
} > "$out/closedloop.md"
echo; cat "$out/closedloop.md"

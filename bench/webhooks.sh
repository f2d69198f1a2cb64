#!/usr/bin/env bash
# Outbound webhook deliveries per second through the outbox on PostgreSQL: Tandem (Release) with its dispatcher, a local
# receiver in the load driver answering 204, N outbox rows written at once, timed until every one is Delivered (and each
# webhook-id received exactly once). Target (issue #14): 1,000 deliveries/s.
# Usage: bench/webhooks.sh [count=20000] [warm-up count=2000]      Results: artifacts/bench/webhooks.md
# BENCH_PG="Host=…;Port=…;Username=…" uses an existing PostgreSQL server (a database is created on it) instead of a throwaway one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
count=${1:-20000}
warmup=${2:-2000}
out="$root/artifacts/bench"
mkdir -p "$out"
. scripts/postgres.sh
. bench/common.sh
pids=()
db="tandem_bench_webhooks_$$"
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -n "${BENCH_PG:-}" ]; then dotnet "$out/driver/Tandem.Bench.dll" drop-db --pg "$BENCH_PG" --name "$db" >/dev/null 2>&1 || true; else stop_postgres; fi
}
trap cleanup EXIT

echo "==> Building (Release)"
dotnet publish src/Tandem -c Release -o "$out/app" -v q -nologo >/dev/null
dotnet build bench/Tandem.Bench -c Release -o "$out/driver" -v q -nologo >/dev/null
driver="dotnet $out/driver/Tandem.Bench.dll"

if [ -n "${BENCH_PG:-}" ]; then
  server="$BENCH_PG"
  $driver create-db --pg "$server" --name "$db"
  pg_version=$($driver pg-version --pg "$server")
else
  start_postgres
  server="$PG_SERVER"
  psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $db" >/dev/null
  pg_version=$("$PG_BIN/postgres" --version | awk '{print $3}')
fi
tandem_cs="$server;Database=$db"

export Tandem__Database__Provider=Postgres ConnectionStrings__Tandem="$tandem_cs" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
export Tandem__Webhooks__AllowPrivateTargets=true
dotnet "$out/app/Tandem.dll" admin migrate >/dev/null
key=$(dotnet "$out/app/Tandem.dll" admin create-api-key --name bench --scopes admin | sed -n 's/^Key (shown once, store it now): //p')
[ -n "$key" ] || { echo "could not create an API key" >&2; exit 1; }
port=$(free_port)
(cd "$out/app" && exec dotnet Tandem.dll --urls "http://127.0.0.1:$port") >"$out/webhooks-server.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$port"
$driver webhooks --url "http://127.0.0.1:$port" --key "$key" --pg "$tandem_cs" --count "$count" --warmup-count "$warmup" | tee "$out/webhooks.txt"

{
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $pg_version; $(date -u +%Y-%m-%d)"
  echo "Command: bench/webhooks.sh $count $warmup"
  echo
  echo "| run | deliveries | seconds | deliveries/s | duplicates |"
  echo "|---|---|---|---|---|"
  grep '^|' "$out/webhooks.txt"
} > "$out/webhooks.md"
echo; cat "$out/webhooks.md"

#!/usr/bin/env bash
# Speed to lead under load on PostgreSQL: leads are POSTed to the API at a fixed rate (open loop); each meets the MQL rule
# on capture, is routed round-robin to one of 10 reps, and the rep's notification is written to the outbox. The latency is
# the client's send time to the commit time of that notification row (PostgreSQL track_commit_timestamp), for every lead.
# The raw ceiling is an HTTP POST + one committed INSERT at the same rate, measured in the same run.
# Usage: bench/handoff.sh [rate=50] [seconds=60] [warm-up seconds=15]      Results: artifacts/bench/handoff.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rate=${1:-50}
seconds=${2:-60}
warmup=${3:-15}
out="$root/artifacts/bench"
mkdir -p "$out"
. scripts/postgres.sh
. bench/common.sh
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; stop_postgres; }
trap cleanup EXIT

echo "==> Building (Release)"
dotnet publish src/Tandem -c Release -o "$out/app" -v q -nologo >/dev/null
dotnet build bench/Tandem.Bench -c Release -o "$out/driver" -v q -nologo >/dev/null
driver="dotnet $out/driver/Tandem.Bench.dll"

echo "==> PostgreSQL (default durability, commit timestamps on)"
start_postgres -c track_commit_timestamp=on
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE ceiling" -c "CREATE DATABASE tandem" >/dev/null
tandem_cs="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=tandem"

echo "==> Ceiling: HTTP POST + 1 INSERT at $rate req/s"
port=$(free_port)
$driver serve-ceiling --pg "$PG_SERVER;Database=ceiling;Max Auto Prepare=20" --port "$port" >"$out/ceiling-server.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$port"
$driver ceiling-rate --url "http://127.0.0.1:$port" --rate "$rate" --seconds "$seconds" --warmup "$warmup" | tee "$out/handoff-ceiling.txt"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

echo "==> Tandem (Release, PostgreSQL): 10 reps, submit → notification"
export Tandem__Database__Provider=Postgres ConnectionStrings__Tandem="$tandem_cs" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
dotnet "$out/app/Tandem.dll" admin migrate >/dev/null
for i in $(seq 1 10); do dotnet "$out/app/Tandem.dll" admin create-user --email "rep$i@bench.example" --role Sales --name "Rep $i" >/dev/null; done
key=$(dotnet "$out/app/Tandem.dll" admin create-api-key --name bench --scopes admin,ingest,read | sed -n 's/^Key (shown once, store it now): //p')
[ -n "$key" ] || { echo "could not create an API key" >&2; exit 1; }
port=$(free_port)
(cd "$out/app" && exec dotnet Tandem.dll --urls "http://127.0.0.1:$port") >"$out/handoff-server.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$port"
$driver handoff --url "http://127.0.0.1:$port" --key "$key" --pg "$tandem_cs" --rate "$rate" --seconds "$seconds" --warmup "$warmup" | tee "$out/handoff.txt"

{
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); $(date -u +%Y-%m-%d)"
  echo "Command: bench/handoff.sh $rate $seconds $warmup"
  echo
  echo "| run | leads | missing / errors | p50 ms | p99 ms | max ms |"
  echo "|---|---|---|---|---|---|"
  grep '^|' "$out/handoff-ceiling.txt"
  grep '^|' "$out/handoff.txt"
} > "$out/handoff.md"
echo; cat "$out/handoff.md"

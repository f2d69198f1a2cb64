#!/usr/bin/env bash
# Full benchmark run on this machine: a throwaway PostgreSQL, a Release build of Tandem, the raw ceilings
# (HTTP POST + one INSERT; COPY) and Tandem's capture API, all measured in the same run.
# Usage: bench/run.sh [seconds-per-run] [concurrency] [warm-up seconds]      Results: artifacts/bench/results.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-20}
concurrency=${2:-32}
warmup=${3:-15}   # long enough for tiered JIT compilation to settle on 2 cores
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

echo "==> PostgreSQL (default durability settings)"
start_postgres
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE ceiling" -c "CREATE DATABASE tandem" >/dev/null
ceiling_cs="$PG_SERVER;Database=ceiling;Max Auto Prepare=20"
tandem_cs="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=tandem"

{
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); $(dotnet --version) SDK; $(date -u +%Y-%m-%d)"
  echo "Command: bench/run.sh $seconds $concurrency (each run: $warmup s warm-up, then $seconds s measured, $concurrency concurrent clients on loopback)"
  echo
} > "$out/results.md"

echo "==> Ceiling: HTTP POST + 1 INSERT"
port=$(free_port)
$driver serve-ceiling --pg "$ceiling_cs" --port "$port" >"$out/ceiling-server.log" 2>&1 & pids+=($!)
wait_http "http://127.0.0.1:$port"
$driver ceiling-http --url "http://127.0.0.1:$port" --seconds "$seconds" --warmup "$warmup" --concurrency "$concurrency" | tee "$out/ceiling-http.txt"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

echo "==> Tandem (Release, PostgreSQL)"
export Tandem__Database__Provider=Postgres ConnectionStrings__Tandem="$tandem_cs" ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning
key=$(dotnet "$out/app/Tandem.dll" admin create-api-key --name bench --scopes ingest,read | sed -n 's/^Key (shown once, store it now): //p')
[ -n "$key" ] || { echo "could not create an API key" >&2; exit 1; }
port=$(free_port)
(cd "$out/app" && exec dotnet Tandem.dll --urls "http://127.0.0.1:$port") >"$out/tandem.log" 2>&1 & pids+=($!)
tandem_pid=${pids[-1]}
wait_http "http://127.0.0.1:$port"
url="http://127.0.0.1:$port"
$driver leads --url "$url" --key "$key" --mode new --seconds "$seconds" --warmup "$warmup" --concurrency "$concurrency" | tee "$out/leads-new.txt"
$driver leads --url "$url" --key "$key" --mode repeat --seconds "$seconds" --warmup "$warmup" --concurrency "$concurrency" | tee "$out/leads-repeat.txt"
$driver batch --url "$url" --key "$key" --seconds "$seconds" --warmup "$warmup" --concurrency 4 | tee "$out/batch.txt"
rss=$(awk '/VmHWM/{print $2}' "/proc/$tandem_pid/status" 2>/dev/null || echo 0)
kill "$tandem_pid"; wait "$tandem_pid" 2>/dev/null || true

# COPY last: a million fresh rows leave PostgreSQL checkpointing and autovacuuming for a while, which would slow the next run.
echo "==> Ceiling: COPY"
$driver ceiling-copy --pg "$ceiling_cs" --rows 1000000 | tee "$out/ceiling-copy.txt"

ceiling_http=$(sed -n 's/^RESULT HTTP items_per_s=\([0-9]*\).*/\1/p' "$out/ceiling-http.txt")
ceiling_copy=$(sed -n 's/^RESULT ceiling-copy \([0-9]*\)/\1/p' "$out/ceiling-copy.txt")
{
  echo "| run | items/s | req/s | p50 ms | p99 ms | errors | ratio to ceiling |"
  echo "|---|---|---|---|---|---|---|"
  for f in ceiling-http leads-new leads-repeat batch; do
    line=$(grep '^RESULT' "$out/$f.txt")
    items=$(sed -n 's/.*items_per_s=\([0-9]*\).*/\1/p' <<<"$line"); req=$(sed -n 's/.*req_per_s=\([0-9]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50=\([0-9.]*\).*/\1/p' <<<"$line"); p99=$(sed -n 's/.* p99=\([0-9.]*\).*/\1/p' <<<"$line"); err=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")
    case $f in
      ceiling-http) name="HTTP POST + 1 INSERT (raw ceiling)"; ratio="1.00";;
      batch) name="POST /api/v1/leads/batch (1,000 per request, 4 clients)"; ratio=$(python3 -c "print(f'{$items/$ceiling_copy:.2f} of COPY')");;
      leads-new) name="POST /api/v1/leads, new identifiers"; ratio=$(python3 -c "print(f'{$items/$ceiling_http:.2f}')");;
      leads-repeat) name="POST /api/v1/leads, repeat identifiers (merge)"; ratio=$(python3 -c "print(f'{$items/$ceiling_http:.2f}')");;
    esac
    echo "| $name | $items | $req | $p50 | $p99 | $err | $ratio |"
  done
  echo "| COPY (raw ceiling for bulk) | $ceiling_copy | – | – | – | – | 1.00 |"
  echo
  echo "Tandem server peak memory (VmHWM): $((rss / 1024)) MB"
} >> "$out/results.md"
echo; cat "$out/results.md"

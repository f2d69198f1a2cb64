#!/usr/bin/env bash
# CSV import at scale: a throwaway PostgreSQL, a Release build of Tandem, a generated CSV of N rows uploaded to
# POST /api/v1/imports and followed to the end; the raw ceiling is PostgreSQL's binary COPY of 1M lead-shaped rows,
# measured in the same run (after the import). Before the measured import the server imports a smaller file of other people
# (warm-up, as run.sh warms up before measuring): a freshly started .NET process spends its first seconds compiling the code
# it runs, which is start-up cost, not import throughput. Warm-up 0 measures a cold server.
# Usage: bench/import.sh [rows] [warm-up rows, default 50000]      Results: artifacts/bench/import.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rows=${1:-1000000}
warmup=${2:-50000}
out="$root/artifacts/bench"
mkdir -p "$out"
. scripts/postgres.sh
. bench/common.sh
tandem_pid=""
cleanup() { [ -n "$tandem_pid" ] && kill "$tandem_pid" 2>/dev/null || true; stop_postgres; }
trap cleanup EXIT

echo "==> Building (Release)"
dotnet publish src/Tandem -c Release -o "$out/app" -v q -nologo >/dev/null
dotnet build bench/Tandem.Bench -c Release -o "$out/driver" -v q -nologo >/dev/null
driver="dotnet $out/driver/Tandem.Bench.dll"

echo "==> PostgreSQL (default durability settings)"
start_postgres
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE ceiling" -c "CREATE DATABASE tandem" >/dev/null

echo "==> Tandem (Release, PostgreSQL): import of $rows generated rows"
export Tandem__Database__Provider=Postgres ConnectionStrings__Tandem="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=tandem" \
  ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning Tandem__Imports__Folder="$out/imports"
key=$(dotnet "$out/app/Tandem.dll" admin create-api-key --name bench --scopes ingest,read | sed -n 's/^Key (shown once, store it now): //p')
[ -n "$key" ] || { echo "could not create an API key" >&2; exit 1; }
port=$(free_port)
(cd "$out/app" && exec dotnet Tandem.dll --urls "http://127.0.0.1:$port") >"$out/tandem-import.log" 2>&1 &
tandem_pid=$!
wait_http "http://127.0.0.1:$port"
if [ "$warmup" -gt 0 ]; then
  echo "==> Warm-up: import of $warmup other rows (not measured)"
  $driver import --url "http://127.0.0.1:$port" --key "$key" --rows "$warmup" --file "$out/import-warmup-$warmup.csv" --first-row 10000001 \
    | tee "$out/import-warmup.txt"
fi
echo "==> Measured import of $rows rows"
$driver import --url "http://127.0.0.1:$port" --key "$key" --rows "$rows" --file "$out/import-$rows.csv" | tee "$out/import.txt"
rss=$(awk '/VmHWM/{print $2}' "/proc/$tandem_pid/status" 2>/dev/null || echo 0)
leads=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d tandem -Atc 'SELECT count(*) FROM "Leads"')
kill "$tandem_pid"; wait "$tandem_pid" 2>/dev/null || true; tandem_pid=""

# COPY last, as in run.sh: a million fresh rows leave PostgreSQL checkpointing and autovacuuming for a while, which would
# slow whatever runs next.
echo "==> Ceiling: COPY"
$driver ceiling-copy --pg "$PG_SERVER;Database=ceiling" --rows 1000000 | tee "$out/import-ceiling-copy.txt"

line=$(grep '^RESULT import' "$out/import.txt")
seconds=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line"); per_s=$(sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p' <<<"$line")
copy=$(sed -n 's/^RESULT ceiling-copy \([0-9]*\)/\1/p' "$out/import-ceiling-copy.txt")
{
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); $(dotnet --version) SDK; $(date -u +%Y-%m-%d)"
  echo "Command: bench/import.sh $rows $warmup (warm-up import of $warmup other rows before the measured one)"
  echo
  echo "| run | rows | seconds | rows/s | ratio to COPY | server peak memory |"
  echo "|---|---|---|---|---|---|"
  echo "| CSV import (upload + background job), $leads leads in the table after (warm-up included) | $rows | $seconds | $per_s | $(python3 -c "print(f'{$per_s/$copy:.3f}')") | $((rss / 1024)) MB |"
  echo "| COPY of 1M lead-shaped rows (raw ceiling) | 1000000 | $(python3 -c "print(f'{1000000/$copy:.1f}')") | $copy | 1.00 | – |"
} > "$out/import.md"
echo; cat "$out/import.md"

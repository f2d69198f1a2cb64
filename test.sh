#!/usr/bin/env bash
# Runs every check of Tandem: build (warnings are errors), formatting, unit + integration tests on SQLite and
# on a throwaway PostgreSQL server, and browser tests in Debian's Chromium. Exits non-zero on any failure.
# Usage: ./test.sh [--no-browser]   (TANDEM_TEST_FILTER="ClassName" narrows the xunit run)
set -euo pipefail
cd "$(dirname "$0")"
root=$(pwd)
started=$(date +%s)
run_browser=1
[ "${1:-}" = "--no-browser" ] && run_browser=0

say() { printf '\n==> %s\n' "$*"; }
die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
command -v dotnet >/dev/null || die "dotnet SDK not found (need .NET SDK 10.0.401, see global.json)"

# ---------- PostgreSQL: a throwaway server from the machine's own binaries ----------
pg_bin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && pg_bin="$d"; done
if [ -z "$pg_bin" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "Installing PostgreSQL server (apt-get install postgresql)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || die "could not install postgresql"
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && pg_bin="$d"; done
  fi
fi
[ -n "$pg_bin" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' package"

pg_dir=$(mktemp -d /tmp/tandem-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo 55432)
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
  chown postgres "$pg_dir"
fi
cleanup() {
  as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap cleanup EXIT

say "Starting PostgreSQL ($("$pg_bin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$pg_port"
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust --no-sync -E UTF8 >"$pg_dir/initdb.log" 2>&1 \
  || { cat "$pg_dir/initdb.log"; die "initdb failed"; }
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null || { cat "$pg_dir/server.log"; die "PostgreSQL did not start"; }
export TANDEM_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=20"

# ---------- Chromium for the browser tests ----------
if [ "$run_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "Installing Debian's chromium for the browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || die "could not install chromium"
  else
    die "/usr/bin/chromium is missing: run 'sudo apt-get install -y chromium' (or ./test.sh --no-browser)"
  fi
fi

# ---------- Build and format ----------
say "Restoring tools and packages"
dotnet tool restore >/dev/null
dotnet restore Tandem.slnx -v q >/dev/null || die "restore failed"

say "Building (warnings are errors)"
dotnet build Tandem.slnx --no-restore -c Debug -v q -nologo -clp:ErrorsOnly || die "build failed"

say "Checking formatting (dotnet format --verify-no-changes)"
dotnet format Tandem.slnx --verify-no-changes --no-restore -v q || die "formatting differs: run 'dotnet format Tandem.slnx'"

# ---------- Tests ----------
results="$root/artifacts/test-results"
rm -rf "$results"; mkdir -p "$results"
filter=()
[ -n "${TANDEM_TEST_FILTER:-}" ] && filter=(--filter-class "*${TANDEM_TEST_FILTER}*")

status=0
run_tests() {
  local project=$1 name=$2 rc
  say "Running $name"
  set +e
  dotnet test --project "$project" --no-build -c Debug --results-directory "$results/$name" --no-progress \
    --report-xunit-trx --report-xunit-trx-filename "$name.trx" "${filter[@]}" 2>&1 | tee "$results/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || { echo "$name: dotnet test exited with $rc"; status=1; }
}
run_tests tests/Tandem.Tests Tandem.Tests
if [ "$run_browser" = 1 ]; then
  run_tests tests/Tandem.BrowserTests Tandem.BrowserTests
fi

# ---------- Totals ----------
passed=0; failed=0; skipped=0
for trx in $(find "$results" -name '*.trx'); do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* total="\([0-9]*\)".*/\1/p' <<<"$counters"); e=$(sed -n 's/.* executed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
echo
echo "Providers: SQLite + PostgreSQL (127.0.0.1:$pg_port); browser: $([ "$run_browser" = 1 ] && /usr/bin/chromium --version 2>/dev/null || echo skipped)"
echo "Elapsed: $(( $(date +%s) - started )) s"
[ $((passed + failed)) -gt 0 ] || { echo "0 passed, 0 failed"; die "no tests ran"; }
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" = 0 ] && [ "$failed" = 0 ] || exit 1

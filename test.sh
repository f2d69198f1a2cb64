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
. scripts/postgres.sh
trap stop_postgres EXIT
# Durability is irrelevant for a throwaway test server: skip fsync to keep the suite fast.
start_postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off || die "PostgreSQL did not start"
say "PostgreSQL ($("$PG_BIN/postgres" --version | awk '{print $3}')) is up on 127.0.0.1:$PG_PORT"
export TANDEM_TEST_POSTGRES="$PG_SERVER;Pooling=true;Maximum Pool Size=20"

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

say "Published build from another working directory, behind a TLS proxy (scripts/published-smoke.sh)"
scripts/published-smoke.sh Debug || die "the published build does not run from another folder"

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
echo "Providers: SQLite + PostgreSQL (127.0.0.1:$PG_PORT); browser: $([ "$run_browser" = 1 ] && /usr/bin/chromium --version 2>/dev/null || echo skipped)"
echo "Elapsed: $(( $(date +%s) - started )) s"
[ $((passed + failed)) -gt 0 ] || { echo "0 passed, 0 failed"; die "no tests ran"; }
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then
  # Name every failed test and the first lines of its message, so a CI log that keeps only the tail still says what broke.
  for trx in $(find "$results" -name '*.trx'); do
    python3 - "$trx" <<'PY' || grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.*testName="\([^"]*\)".*/FAILED TEST: \1/p'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") != "Failed":
        continue
    print("FAILED TEST:", r.get("testName"))
    msg = r.find(".//t:Message", ns)
    for line in ((msg.text or "") if msg is not None else "").splitlines()[:12]:
        print("    " + line[:300])
PY
  done
fi
[ "$status" = 0 ] && [ "$failed" = 0 ] || exit 1

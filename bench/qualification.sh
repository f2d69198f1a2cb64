#!/usr/bin/env bash
# Qualification at scale on PostgreSQL: N leads with M activities each (generated in SQL), then a real Tandem server
# (Release) activates a definition (full rescore job) and backtests a draft over 90 days, driven through the API.
# The raw ceiling is PostgreSQL reading the same rows in heap order (COPY of the lead and activity columns the scorer needs).
# Usage: bench/qualification.sh [leads=1000000] [activities-per-lead=10]      Results: artifacts/bench/qualification.md
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
leads=${1:-1000000}
per=${2:-10}
out="$root/artifacts/bench"
mkdir -p "$out"
. scripts/postgres.sh
. bench/common.sh
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; stop_postgres; }
trap cleanup EXIT
now() { date +%s.%N; }

echo "==> Building (Release)"
dotnet publish src/Tandem -c Release -o "$out/app" -v q -nologo >/dev/null
start_postgres
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE tandem" >/dev/null
export Tandem__Database__Provider=Postgres ConnectionStrings__Tandem="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=tandem"
export ASPNETCORE_ENVIRONMENT=Production Logging__LogLevel__Default=Warning Tandem__Qualification__DecayMinutes=0
dotnet "$out/app/Tandem.dll" admin migrate >/dev/null
key=$(dotnet "$out/app/Tandem.dll" admin create-api-key --name bench --scopes admin,ingest,read | sed -n 's/^Key (shown once, store it now): //p')
[ -n "$key" ] || { echo "could not create an API key" >&2; exit 1; }
psql_q() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d tandem -qAtc "$1"; }

echo "==> Generating $leads leads and $((leads * per)) activities in SQL"
t0=$(now)
psql_q "INSERT INTO \"Leads\" (\"Id\",\"Email\",\"FirstName\",\"LastName\",\"JobTitle\",\"Company\",\"CompanySize\",\"Country\",\"Language\",\"DoNotEmail\",\"DoNotCall\",\"ManualFields\",\"Stage\",\"WorkStatus\",\"StageChangedAt\",\"FitScore\",\"EngagementScore\",\"CreatedAt\",\"UpdatedAt\")
  SELECT gen_random_uuid(), 'p' || i || CASE WHEN i % 5 = 0 THEN '@gmail.com' ELSE '@firm' || (i % 50000) || '.example' END, 'First' || i, 'Last' || i,
    (ARRAY['CFO','Directeur financier','Operations manager','Student','Engineer','Head of finance','Intern','Sales manager','DAF','Accountant'])[1 + i % 10],
    'Firm ' || (i % 50000), 5 + (i::bigint * 7919) % 2000, (ARRAY['FR','BE','DE','GB','US'])[1 + i % 5], 'fr', false, false, '{}', 'Lead', 'None',
    now() - ((i % 90) || ' days')::interval, 0, 0, now() - ((i % 90) || ' days')::interval, now()
  FROM generate_series(1, $leads) i"
psql_q "INSERT INTO \"Activities\" (\"Id\",\"LeadId\",\"Type\",\"OccurredAt\",\"Url\",\"CreatedAt\")
  SELECT gen_random_uuid(), l.\"Id\", (ARRAY['PageView','PageView','EmailOpen','EmailClick','ContentDownload','Webinar','FormSubmission','PageView','EmailOpen','DemoRequest'])[1 + (g + abs(hashtext(l.\"Id\"::text))) % 10],
    l.\"CreatedAt\" + (g || ' hours')::interval, CASE WHEN g % 7 = 0 THEN 'https://tandem.example/pricing' ELSE 'https://tandem.example/blog/' || g END, now()
  FROM \"Leads\" l, generate_series(1, $per) g"
psql_q "VACUUM ANALYZE \"Leads\"; VACUUM ANALYZE \"Activities\";" 2>/dev/null || psql_q "ANALYZE"
t1=$(now)
gen=$(python3 -c "print(f'{$t1-$t0:.0f}')")
echo "   generated in ${gen} s"

echo "==> Raw ceiling: PostgreSQL reading the same columns (COPY to /dev/null)"
t0=$(now)
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d tandem -qc "\\copy (SELECT \"Id\",\"Email\",\"JobTitle\",\"Company\",\"CompanySize\",\"Country\",\"Language\",\"CreatedAt\",\"Stage\",\"StageChangedAt\",\"FitScore\",\"EngagementScore\",\"Grade\",\"PersonaId\",\"PersonaMatch\" FROM \"Leads\") TO '/dev/null' WITH (FORMAT binary)"
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d tandem -qc "\\copy (SELECT \"LeadId\",\"Type\",\"OccurredAt\",\"CampaignId\",\"Url\" FROM \"Activities\") TO '/dev/null' WITH (FORMAT binary)"
t1=$(now)
ceiling=$(python3 -c "print(f'{$t1-$t0:.1f}')")

port=$(free_port)
(cd "$out/app" && exec dotnet Tandem.dll --urls "http://127.0.0.1:$port" --Logging:LogLevel:Tandem.Features.Qualification=Information) >"$out/qualification-server.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
wait_http "$url"
api() { curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' "$@"; }
wait_job() { # prints the final job JSON
  while true; do
    j=$(api "$url/api/v1/qualification/jobs/$1"); s=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['status'])" "$j")
    case $s in Succeeded|Failed|Cancelled) echo "$j"; return;; esac; sleep 1
  done
}
seconds_of() { python3 -c "import json,sys; from datetime import datetime as d; j=json.loads(sys.argv[1]); f=lambda s: d.fromisoformat(s.replace('Z','+00:00')); print(f'{(f(j[\"finishedAt\"])-f(j[\"startedAt\"])).total_seconds():.1f}')" "$1"; }

echo "==> Activate the starter definition: full rescore job"
draft=$(api -X POST "$url/api/v1/qualification/versions" -d '{"summary":"bench"}' | python3 -c "import json,sys; print(json.load(sys.stdin)['version']['id'])")
api -X POST "$url/api/v1/qualification/versions/$draft/activate" >/dev/null
job=$(api "$url/api/v1/qualification/jobs" | python3 -c "import json,sys; print([j for j in json.load(sys.stdin) if j['kind']=='Rescore'][0]['id'])")
final=$(wait_job "$job")
rescore=$(seconds_of "$final")
changed=$(python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(f\"{j['status']}: {j['processed']:,} leads, {j['changed']:,} changed\")" "$final")
rss_rescore=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")

echo "==> Backtest a draft over 90 days"
draft2=$(api -X POST "$url/api/v1/qualification/versions" -d '{"summary":"bench draft"}' | python3 -c "import json,sys; print(json.load(sys.stdin)['version']['id'])")
bt=$(api -X POST "$url/api/v1/qualification/versions/$draft2/backtests" -d '{"days":90}' | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
final=$(wait_job "$bt")
backtest=$(seconds_of "$final")
bt_leads=$(python3 -c "import json,sys; j=json.loads(sys.argv[1]); print(f\"{j['status']}: {j['processed']:,} leads\")" "$final")
rss=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")

{
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'); $(date -u +%Y-%m-%d)"
  echo "Command: bench/qualification.sh $leads $per  (data generated in SQL in ${gen} s)"
  echo
  echo "| run | seconds | result | ratio to raw read ceiling |"
  echo "|---|---|---|---|"
  echo "| PostgreSQL COPY of the scorer's columns (raw read ceiling) | $ceiling | $leads leads + $((leads * per)) activities | 1.00 |"
  echo "| Full rescore on activation (job) | $rescore | $changed | $(python3 -c "print(f'{$rescore/$ceiling:.1f}× the ceiling time')") |"
  echo "| Backtest of a draft over 90 days (job) | $backtest | $bt_leads | $(python3 -c "print(f'{$backtest/$ceiling:.1f}× the ceiling time')") |"
  echo
  echo "Tandem server peak memory (VmHWM): after rescore $((rss_rescore / 1024)) MB, after backtest $((rss / 1024)) MB"
} > "$out/qualification.md"
echo; cat "$out/qualification.md"

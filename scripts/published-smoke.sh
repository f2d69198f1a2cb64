#!/usr/bin/env bash
# The published build, started as a service unit or a container starts it: from another working directory, in
# Production, behind a TLS-terminating proxy (X-Forwarded-Proto). Fails loudly when static files come back empty,
# appsettings.json is ignored, or cookies are not Secure behind TLS.
# Usage: scripts/published-smoke.sh [configuration]   (expects a build of that configuration; Debug by default)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
config=${1:-Debug}
fail() { printf 'published-smoke: FAILED: %s\n' "$*" >&2; [ -n "${log:-}" ] && tail -20 "$log" >&2; exit 1; }

publish="$root/artifacts/publish"
rm -rf "$publish"
dotnet publish src/Tandem -c "$config" --no-build -o "$publish" -v q -nologo >/dev/null || fail "dotnet publish"

elsewhere=$(mktemp -d)
log="$elsewhere/console.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$elsewhere" && ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" \
  exec dotnet "$publish/Tandem.dll" >"$log" 2>&1) &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$elsewhere"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || fail "Tandem exited at start"
  sleep 0.5
done
curl -fsS "$base/healthz" >/dev/null || fail "no /healthz within 60 s"

# Static files from the publish folder, whatever the working directory.
for asset in /app.css /_framework/blazor.web.js; do
  size=$(curl -fsS -o /dev/null -w '%{size_download}' "$base$asset") || fail "$asset did not answer 200"
  [ "$size" -gt 0 ] || fail "$asset came back empty (content root is not the application folder)"
done
# appsettings.json is read: Entity Framework's per-statement Information logs stay off.
if grep -q 'Executed DbCommand' "$log"; then fail "appsettings.json was ignored (SQL statements logged)"; fi
[ -f "$elsewhere/data/tandem.db" ] || fail "the SQLite database is not under the working directory's data/"
# Behind a TLS-terminating proxy on this host the cookies are Secure; over plain HTTP they are not.
page=/setup
secure=$(curl -sS -D - -o /dev/null -H 'X-Forwarded-Proto: https' "$base$page" | grep -i '^set-cookie:' || true)
[ -n "$secure" ] || fail "$page set no cookie"
grep -qi 'secure' <<<"$secure" || fail "cookie not Secure behind X-Forwarded-Proto: https: $secure"
plain=$(curl -sS -D - -o /dev/null "$base$page" | grep -i '^set-cookie:' || true)
if grep -qi '; secure' <<<"$plain"; then fail "cookie marked Secure over plain HTTP: $plain"; fi
echo "published-smoke: ok (from $elsewhere: static files, appsettings, data/, Secure cookies behind TLS)"

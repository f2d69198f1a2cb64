#!/usr/bin/env bash
# Sourced by the bench/*.sh scripts: a free loopback port, and waiting for a server's /healthz.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_http() { for _ in $(seq 1 240); do curl -sf "$1/healthz" >/dev/null && return 0; sleep 0.5; done; echo "server at $1 did not start" >&2; return 1; }

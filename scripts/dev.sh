#!/usr/bin/env bash
# Starts the demo origin and `wrangler dev` (the worker in local workerd).
set -euo pipefail
cd "$(dirname "$0")/.."
origin_port=${1:-8790}
worker_port=${2:-8787}

node demo/server.mjs --port "$origin_port" &
origin_pid=$!
trap 'kill $origin_pid 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$origin_port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

w="http://127.0.0.1:$worker_port"
cat <<TXT

  Demo store (origin):  http://127.0.0.1:$origin_port/
  Through Borderless:   $w/

  Try (preview headers pin the visitor; see x-borderless-context):
    curl -si $w/ -H 'x-borderless-country: DE' -H 'x-borderless-timezone: Europe/Berlin' | grep -i '^x-borderless-context'
    curl -si $w/ -H 'x-borderless-country: JP' -H 'x-borderless-timezone: Asia/Tokyo' | grep -i '^x-borderless-context'
    curl -si $w/ -H 'x-borderless-country: US' -H 'x-borderless-timezone: America/New_York' -H 'x-borderless-now: 2026-12-24T23:30:00Z' | grep -i '^x-borderless-context'
    curl -si $w/ -H 'x-borderless-country: AU' -H 'x-borderless-timezone: Australia/Sydney' -H 'x-borderless-latitude: -33.87' | grep -i '^x-borderless-context'
    curl -s  $w/ -H 'User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148' | grep -o '<html[^>]*>'

TXT
if [ -n "${ORIGIN_ONLY:-}" ]; then wait "$origin_pid"; exit; fi
# wrangler runs `make worker` itself (a no-op when the build is current).
wrangler dev --env dev --ip 127.0.0.1 --port "$worker_port" --local

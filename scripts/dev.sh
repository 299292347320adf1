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
# Without a browser User-Agent a request is a crawler's: the page in the
# shop's own language and currency.
UA='Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
cat <<TXT

  Demo store (origin):  http://127.0.0.1:$origin_port/
  Through Borderless:   $w/

  Try (a browser User-Agent, as a visitor would send; preview headers pin
  the visitor; x-borderless-context shows what was decided):
    curl -s  $w/ -H 'User-Agent: $UA' -H 'x-borderless-country: DE' -H 'x-borderless-timezone: Europe/Berlin' | grep -o '<h3 itemprop="name">[^<]*' | head -3
    curl -s  $w/p/85123A -H 'User-Agent: $UA' -H 'x-borderless-country: JP' -H 'x-borderless-timezone: Asia/Tokyo' | grep -o '<h1 itemprop="name">[^<]*'
    curl -si $w/ -H 'User-Agent: $UA' -H 'x-borderless-country: FR' -H 'x-borderless-timezone: Europe/Paris' | grep -i '^x-borderless-context'
    curl -si $w/ -H 'User-Agent: $UA' -H 'x-borderless-country: US' -H 'x-borderless-timezone: America/New_York' -H 'x-borderless-now: 2026-12-24T23:30:00Z' | grep -i '^x-borderless-context'
    curl -s  $w/ -H 'User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile/15E148' -H 'x-borderless-country: AU' | grep -o '<html[^>]*>'

TXT
if [ -n "${ORIGIN_ONLY:-}" ]; then wait "$origin_pid"; exit; fi
# wrangler runs `make worker` itself (a no-op when the build is current).
wrangler dev --env dev --ip 127.0.0.1 --port "$worker_port" --local

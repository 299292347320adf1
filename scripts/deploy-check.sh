#!/usr/bin/env bash
# `make deploy-check`: for each environment, the upload `wrangler deploy --env
# <env>` would make (a dry run: no account, nothing sent), checked for its
# modules, bindings and size; then the demo's KV bundle validated by the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
# Workers' compressed script limit on the Free plan (the paid one is 10 MiB).
limit_kib=${DEPLOY_LIMIT_KIB:-3072}
# The project's own budget for the Wasm module alone (issue 14): gzip -9
# bytes, 1 KB = 1000 bytes, as bench/run.mjs reports `wasm_gzip`.
budget_kb=${WASM_BUDGET_KB:-700}
fail=0
for env in "$@"; do
  out="target/deploy-check/$env"
  rm -rf "$out"
  if ! log=$(wrangler deploy --dry-run --env "$env" --outdir "$out" 2>&1); then
    printf '%s\n' "$log" >&2
    echo "deploy-check $env: wrangler deploy --dry-run failed" >&2
    fail=1
    continue
  fi
  wasm=$(find "$out" -name '*.wasm' | head -1)
  if [ ! -f "$out/entry.js" ] || [ -z "$wasm" ]; then
    echo "deploy-check $env: $out lacks entry.js or the .wasm module" >&2
    fail=1
    continue
  fi
  if ! grep -q 'env\.BORDERLESS' <<<"$log"; then
    echo "deploy-check $env: no BORDERLESS KV binding in the upload" >&2
    fail=1
  fi
  wasm_gz=$(gzip -9n <"$wasm" | wc -c)
  gz=$(( ( $(gzip -9n <"$out/entry.js" | wc -c) + wasm_gz ) / 1024 ))
  if [ "$gz" -gt "$limit_kib" ]; then
    echo "deploy-check $env: ${gz} KiB gzip is over the ${limit_kib} KiB limit" >&2
    fail=1
  fi
  if [ "$wasm_gz" -gt $(( budget_kb * 1000 )) ]; then
    echo "deploy-check $env: the Wasm is ${wasm_gz} bytes gzip, over the ${budget_kb} KB budget" >&2
    fail=1
  fi
  # Placeholder namespace ids are fine for the dry run, not for a deploy.
  note=""
  if [ "$env" != dev ] && awk -v env="$env" '
      $0 ~ "^\\[\\[env\\." env "\\.kv_namespaces\\]\\]" { inside = 1; next }
      /^\[/ { inside = 0 }
      inside && /^id = "0+[0-9]?"/ { found = 1 }
      END { exit !found }' wrangler.toml; then
    note=" (placeholder KV id: set yours before deploying)"
  fi
  bindings=$(grep -oE 'env\.[A-Z_]+' <<<"$log" | sort -u | tr '\n' ' ')
  echo "deploy-check $env: ok, ${gz} KiB gzip (Wasm ${wasm_gz} bytes), bindings ${bindings}${note}"
done
bundle=target/kv/bundle.json
target/release/borderless check "$bundle"
exit "$fail"

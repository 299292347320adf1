#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (libFuzzer, built by `cargo fuzz build`),
# with its dictionary of attack strings; prints the executions per target and
# fails when a target finds a crash (kept in fuzz/artifacts/<target>/).
# Usage: scripts/fuzz.sh SECONDS TARGET...
set -euo pipefail
secs=$1
shift
cd "$(dirname "$0")/../fuzz"
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p out
status=0
for t in "$@"; do
  case $t in
    pipeline) dict=html len=16384 ;;
    switch | request) dict=request len=2048 ;;
    *) dict=config len=8192 ;;
  esac
  mkdir -p "corpus/$t" "artifacts/$t"
  log="out/$t.log"
  if ! nice "$bin/$t" "corpus/$t" -dict="dict/$dict.dict" -max_total_time="$secs" -max_len="$len" \
    -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1; then
    status=1
    echo "$t: CRASH (fuzz/$log, fuzz/artifacts/$t/)"
  fi
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  printf '%-9s %12s execs in %s s\n' "$t" "$execs" "$secs"
done
exit $status

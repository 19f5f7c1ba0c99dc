#!/usr/bin/env bash
# A short fuzzing run for CTest: FUZZER SEEDS WORKDIR SECONDS. New inputs go to WORKDIR, never
# into the committed seed corpus. Fails on any crash, leak, timeout or out-of-memory.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 secs=$4
rm -rf "$work"; mkdir -p "$work"
cd "$work"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
  -print_final_stats=1 "$work" "$seeds"

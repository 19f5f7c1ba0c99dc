#!/usr/bin/env bash
# A short fuzzing run for CTest: FUZZER SEEDS WORKDIR SECONDS [RANDOM_SEED]. New inputs go to
# WORKDIR, never into the committed seed corpus. Fails on any crash, leak, timeout or
# out-of-memory. RANDOM_SEED fixes libFuzzer's mutation sequence (CTest passes 1, so a gate that
# passed keeps passing until the code changes, and a failure reruns the same way); 0 or none
# draws a new one each run, for campaigns that look for new findings.
set -euo pipefail
fuzzer=$1 seeds=$2 work=$3 secs=$4 seed=${5:-0}
rm -rf "$work"; mkdir -p "$work"
cd "$work"
exec "$fuzzer" -seed="$seed" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
  -print_final_stats=1 "$work" "$seeds"

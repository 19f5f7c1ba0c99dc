#!/usr/bin/env bash
# The stream path side by side in one run (issue 16): uploads/s through `vigil worker` (1 worker
# with 2 threads, 2 workers with 1 thread each, and 1 worker hashing in the decoder sandbox) against
# in-process hashing of the same files on the same cores (`vigil hash -j 2`) and the in-process
# upload workflow (`vigil scan -j 2`: hash, match, record); publish-to-result latency; the store's
# insert rate (tiny images, so recording is all there is to do); and the index-sync delay of bank
# changes made while a worker runs (one import every 100 ms, read from the worker's
# vigil_index_sync_seconds). Prints a markdown table.
#
#   bench/stream-bench.sh [VIGIL] [FILES]   # default build/ci/vigil, 240 1080p JPEGs
# Needs nats-server, ffmpeg, psql and a PostgreSQL server: VIGIL_TEST_POSTGRES (a libpq
# conninfo of an admin connection), or the throwaway one scripts/start-test-postgres starts.
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=$(realpath "${1:-build/ci/vigil}")
count=${2:-240}
work=$(mktemp -d /tmp/vigil-stream-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [[ -n "${db:-}" ]] && psql "$VIGIL_TEST_POSTGRES" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
if [[ -z "${VIGIL_TEST_POSTGRES:-}" ]]; then eval "$(scripts/start-test-postgres)"; fi
db="stream_bench_$$"
psql "$VIGIL_TEST_POSTGRES" -qc "CREATE DATABASE $db" >/dev/null
url="$(sed "s/dbname=[^ ]*/dbname=$db/" <<<"$VIGIL_TEST_POSTGRES")"
[[ "$url" == *dbname=* ]] || url="$VIGIL_TEST_POSTGRES dbname=$db"

# Benign 1080p JPEGs: frames of ffmpeg's moving test pattern, each one different.
mkdir -p "$work/img/u1" "$work/tiny/u1"
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1920x1080:rate=25" -frames:v "$count" -q:v 3 "$work/img/u1/f%04d.jpg"
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=64x64:rate=25" -frames:v 2000 "$work/tiny/u1/t%04d.png"
# A bank with every 20th upload's PDQ, and rules that block and hold what matches.
"$vigil" bank create planted --database-url "$url" >/dev/null
"$vigil" hash -q --format csv $(ls "$work"/img/u1/*.jpg | awk 'NR % 20 == 1') | awk -F, '{print "pdq," $1 ",x" NR ",B1"}' >"$work/bank.csv"
"$vigil" import planted "$work/bank.csv" --database-url "$url" >/dev/null
printf '[[rule]]\nname = "planted"\nbanks = ["planted"]\nactions = ["block", "hold"]\n' >"$work/rules.toml"

now_ms() { date +%s%3N; }
tick=$(getconf CLK_TCK)
cpu_ms_of() {  # PID...: user+system CPU of these processes (all their threads), ms
  local total=0 p v
  for p in "$@"; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)  # it may have exited meanwhile
    total=$((total + ${v:-0}))
  done
  echo $((total * 1000 / tick))
}
pg_cpu_ms() { cpu_ms_of $(pgrep -x postgres); }
rows=()
row() { rows+=("$(printf '| %s | %s | %s | %.2f | %.1f | %s | %s | %s |' "$@")"); }

# In-process: hashing only, then the whole upload workflow.
t0=$(now_ms); /usr/bin/time -o "$work/hash.time" -f "%U %S" "$vigil" hash -q -j 2 "$work"/img/u1/*.jpg >/dev/null; t1=$(now_ms)
hash_cpu_ms=$(awk '{printf "%.0f", ($1 + $2) * 1000}' "$work/hash.time")
hash_rate=$(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN {print n / (ms / 1000)}')
row "vigil hash -j 2 (in-process hashing)" "-" "$count" "$(awk -v ms=$((t1 - t0)) 'BEGIN {print ms / 1000}')" "$hash_rate" "1.00" "-" "-"
t0=$(now_ms)
"$vigil" scan -q -j 2 "$work/img" --user-from-parent --id-prefix scan: --rules "$work/rules.toml" \
  --database-url "$url" --no-keep-media >/dev/null 2>&1
t1=$(now_ms)
rate=$(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN {print n / (ms / 1000)}')
row "vigil scan -j 2 (in-process: hash, match, record)" "-" "$count" "$(awk -v ms=$((t1 - t0)) 'BEGIN {print ms / 1000}')" "$rate" \
  "$(awk -v a="$rate" -v b="$hash_rate" 'BEGIN {printf "%.2f", a / b}')" "-" "-"

# NATS JetStream on loopback.
port=$((20000 + RANDOM % 20000))
nats-server -js -a 127.0.0.1 -p "$port" -sd "$work/js" >"$work/nats.log" 2>&1 &
nats_pid=$!
pids+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
nats="nats://127.0.0.1:$port"

start_worker() {  # NAME THREADS SANDBOX [METRICS_PORT]
  printf 'refresh_interval_ms = 5000\n[sandbox]\nmode = "%s"\n[stream]\nurl = "%s"\nack_wait_seconds = 60\n' "$3" "$nats" >"$work/$1.toml"
  local extra=()
  [[ -n "${4:-}" ]] && extra=(--metrics-listen "127.0.0.1:$4")
  "$vigil" worker --config "$work/$1.toml" --database-url "$url" --data-dir "$work/data" --rules "$work/rules.toml" \
    -j "$2" "${extra[@]}" >"$work/$1.log" 2>&1 &
  pids+=($!)
  echo $!
}
wait_ready() { for _ in $(seq 100); do grep -q '"worker started"' "$work/$1.log" 2>/dev/null && return; sleep 0.1; done; cat "$work/$1.log" >&2; exit 1; }
# Events published first (timed apart: the publisher is the platform's), then the workers started
# and timed until every event is answered, from their own counters (GET /metrics).
publish_only() {  # PREFIX
  local t0 t1
  t0=$(now_ms)
  "$vigil" publish "$work/img" -q --nats "$nats" --subject "vigil.uploads.$1" --user-from-parent --id-prefix "$1:" >/dev/null
  t1=$(now_ms)
  nats_cpu0=$(cpu_ms_of "$nats_pid")
  pg_cpu0=$(pg_cpu_ms)
  publish_rates+=("$(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN {printf "%.0f", n / (ms / 1000)}')")
}
answered() {  # PORT...
  local total=0 p n
  for p in "$@"; do
    n=$(curl -s "http://127.0.0.1:$p/metrics" | awk '/^vigil_worker_events_total/ && /outcome="(recorded|replayed|unhashable)"/ {s += $NF} END {print s + 0}')
    total=$((total + ${n%.*}))
  done
  echo "$total"
}
descendants() {  # PID...: these processes and all their descendants
  local p
  for p in "$@"; do
    echo "$p"
    descendants $(pgrep -P "$p" || true)
  done
}
worker_tree_cpu() {  # PORT...: the workers and everything they started (decoder sandbox workers), ms
  local wpids
  wpids=$(for p in "$@"; do pgrep -f -- "--metrics-listen 127.0.0.1:$p"; done)
  cpu_ms_of $(descendants $wpids)
}
startup_cpu() {  # NAME THREADS SANDBOX PORT: what a worker spends starting (index load, modules, sandbox), ms
  local w c
  w=$(start_worker "$1" "$2" "$3" "$4"); wait_ready "$1"; sleep 1
  c=$(worker_tree_cpu "$4")
  kill -TERM "$w"; wait "$w" 2>/dev/null || true
  echo "$c"
}
drain_row() {  # LABEL WORKERS T0 START_CPU PORT...: START_CPU (all the workers' start-up) is not per upload
  local label=$1 workers=$2 t0=$3 start_cpu=$4 t1 rate worker_cpu nats_cpu pg_cpu
  shift 4
  until (($(answered "$@") >= count)); do sleep 0.02; done
  t1=$(now_ms)
  worker_cpu=$(($(worker_tree_cpu "$@") - start_cpu))
  nats_cpu=$(($(cpu_ms_of "$nats_pid") - nats_cpu0))
  pg_cpu=$(($(pg_cpu_ms) - pg_cpu0))
  cpu+=("$(printf '| %s, %s | %.2f | %.2f | %.2f | %.2f | %.2f |' "$label" "$workers" \
    "$(awk -v c="$worker_cpu" -v n="$count" 'BEGIN {print c / n}')" "$(awk -v c="$nats_cpu" -v n="$count" 'BEGIN {print c / n}')" \
    "$(awk -v c="$pg_cpu" -v n="$count" 'BEGIN {print c / n}')" "$(awk -v c="$hash_cpu_ms" -v n="$count" 'BEGIN {print c / n}')" \
    "$(awk -v h="$hash_cpu_ms" -v w="$worker_cpu" 'BEGIN {print h / w}')")")
  rate=$(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN {print n / (ms / 1000)}')
  latency=$(for p in "$@"; do curl -s "http://127.0.0.1:$p/metrics"; done | awk '
    /^vigil_worker_stage_seconds_sum/ { match($0, /stage="[^"]*"/); st = substr($0, RSTART + 7, RLENGTH - 8); sum[st] += $NF }
    /^vigil_worker_stage_seconds_count/ { match($0, /stage="[^"]*"/); st = substr($0, RSTART + 7, RLENGTH - 8); cnt[st] += $NF }
    function per(st) { return cnt[st] ? 1000 * sum[st] / cnt[st] : 0 }
    END { printf "hash+match %.1f ms, record %.2f ms, publish %.2f ms, ack %.2f ms", per("hash_match"), per("record"),
          per("publish"), per("ack") }')
  row "$label" "$workers" "$count" "$(awk -v ms=$((t1 - t0)) 'BEGIN {print ms / 1000}')" "$rate" \
    "$(awk -v a="$rate" -v b="$hash_rate" 'BEGIN {printf "%.2f", a / b}')" "-" "-"
  stages+=("$label, $workers: $latency per upload")
}
stream_row() {  # LABEL WORKERS PREFIX
  local out t0 t1 rate
  t0=$(now_ms)
  out=$("$vigil" publish "$work/img" -q --nats "$nats" --subject "vigil.uploads.$3" --user-from-parent --id-prefix "$3:" --wait --timeout 600)
  t1=$(now_ms)
  rate=$(awk -v n="$count" -v ms=$((t1 - t0)) 'BEGIN {print n / (ms / 1000)}')
  row "$1" "$2" "$count" "$(awk -v ms=$((t1 - t0)) 'BEGIN {print ms / 1000}')" "$rate" \
    "$(awk -v a="$rate" -v b="$hash_rate" 'BEGIN {printf "%.2f", a / b}')" \
    "$(python3 -c 'import json,sys; print(round(json.load(sys.stdin)["latency_p50_ms"]))' <<<"$out")" \
    "$(python3 -c 'import json,sys; print(round(json.load(sys.stdin)["latency_p99_ms"]))' <<<"$out")"
}
publish_rates=()
stages=()
cpu=()

base=$((40000 + RANDOM % 20000))
# 1. Publish and wait, one worker already running: publish-to-result latency, with bank changes
#    (one import every 100 ms) heard meanwhile.
w=$(start_worker one 2 off "$base"); wait_ready one
(
  for i in $(seq 100); do
    printf 'pdq,%064x,sync%d,B1\n' "$i" "$i" >"$work/sync$i.csv"
    "$vigil" import planted "$work/sync$i.csv" --database-url "$url" >/dev/null 2>&1 || true
    sleep 0.1
  done
) &
importer=$!
stream_row "publish --wait, 1 worker running (and 10 bank imports a second)" "1 x 2 threads" a
wait "$importer"
sync=$(curl -s "http://127.0.0.1:$base/metrics" | awk '
  /^vigil_index_sync_seconds_bucket/ { match($0, /le="[^"]*"/); le = substr($0, RSTART + 4, RLENGTH - 5); b[++n] = le; c[n] = $NF }
  /^vigil_index_sync_seconds_sum/ { sum = $NF } /^vigil_index_sync_seconds_count/ { count = $NF }
  END { p99 = "?"; for (i = 1; i <= n; i++) if (c[i] >= 0.99 * count) { p99 = b[i]; break }
        printf "%d %.1f %s", count, (count ? sum / count * 1000 : 0), p99 }')
kill -TERM "$w"; wait "$w" 2>/dev/null || true
# 2-4. The backlog drained: events published first, then the workers started and timed. Their
#      start-up CPU, measured on idle workers first (no backlog yet), is taken off the per-upload CPU.
start1=$(startup_cpu idle-one 2 off $((base + 5)))
start2=$(startup_cpu idle-two 1 off $((base + 6)))
start_sandboxed=$(startup_cpu idle-sandboxed 2 auto $((base + 7)))
publish_only b
t0=$(now_ms); w=$(start_worker drain-one 2 off $((base + 1)))
drain_row "worker drains a backlog" "1 x 2 threads" "$t0" "$start1" $((base + 1))
kill -TERM "$w"; wait "$w" 2>/dev/null || true
publish_only c
t0=$(now_ms); w1=$(start_worker drain-a 1 off $((base + 2))); w2=$(start_worker drain-b 1 off $((base + 3)))
drain_row "workers drain a backlog" "2 x 1 thread" "$t0" $((2 * start2)) $((base + 2)) $((base + 3))
kill -TERM "$w1" "$w2"; wait "$w1" "$w2" 2>/dev/null || true
publish_only d
t0=$(now_ms); w=$(start_worker drain-sandboxed 2 auto $((base + 4)))
drain_row "worker drains a backlog, decoder sandbox on" "1 x 2 threads" "$t0" "$start_sandboxed" $((base + 4))
kill -TERM "$w"; wait "$w" 2>/dev/null || true

# The store's insert rate: 2,000 tiny images, where recording is nearly all the work.
t0=$(now_ms)
"$vigil" scan -q -j 2 "$work/tiny" --user-from-parent --id-prefix tiny: --rules "$work/rules.toml" \
  --database-url "$url" --no-keep-media >/dev/null 2>&1
t1=$(now_ms)
insert_rate=$(awk -v ms=$((t1 - t0)) 'BEGIN {printf "%.0f", 2000 / (ms / 1000)}')
read -r sync_n sync_mean sync_p99 <<<"$sync"

echo "stream-bench: $count 1080p JPEGs (ffmpeg testsrc2, q 3), $(nproc) cores, PostgreSQL on loopback (${VIGIL_TEST_PG_NOTE:-the test server: fsync off}), nats-server $(nats-server --version | awk '{print $2}'), one run"
echo
echo "| path | workers | files | seconds | uploads/s | vs in-process hashing | p50 ms | p99 ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "Latencies are publish-to-result with every file published at once (a backlog drained), not at a paced rate."
echo "Publishing (vigil publish, inline, to a file-stored stream): ${publish_rates[*]} events/s in the three drain runs."
printf 'Where the time goes: %s.\n' "${stages[@]}"
echo "A worker's start-up CPU (taken off the rows below): $start1 ms (2 threads), $start2 ms (1 thread), $start_sandboxed ms (2 threads, sandbox on)."
echo
echo "CPU per upload while draining (ms; the worker's own process with its decoder workers less its start-up CPU, nats-server, every PostgreSQL process), against vigil hash's CPU per file (its start-up included):"
echo
echo "| run | worker | nats-server | PostgreSQL | vigil hash | hash / worker |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${cpu[@]}"
echo "Store insert rate (vigil scan -j 2 of 2,000 64x64 PNGs, one transaction per upload): $insert_rate uploads/s."
echo "Index sync under one bank import every 100 ms while the first worker ran: $sync_n changes heard, mean ${sync_mean} ms, p99 <= ${sync_p99} s (histogram bucket)."

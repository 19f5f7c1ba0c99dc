#!/usr/bin/env bash
# The matching service under load on loopback, measured with wrk (Debian's): single-signal
# lookups/s and latency against a large PDQ bank (POST /v1/lookup, and the HMA-compatible
# GET /m/lookup beside it in the same run), 100-signal batch lookups, and content
# submissions/s with a ~1 MP JPEG, with the decoder sandbox and without. Prints a Markdown table. Not a test: figures depend on the
# machine; docs/service.md records a run.
#
#   bench/service-bench.sh                 # 1M-entry bank, 20 s per measurement
#   ENTRIES=100000 DURATION=5 bench/service-bench.sh
#
# Environment: ENTRIES (bank size), DURATION (s), CONNECTIONS (lookup connections),
# SERVER_THREADS (0 = one per core), BUILD (build dir with the vigil binary, default build/release).
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES=${ENTRIES:-1000000}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-16}
SERVER_THREADS=${SERVER_THREADS:-0}
BUILD=${BUILD:-build/release}
VIGIL="$PWD/$BUILD/vigil"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[[ -x "$VIGIL" ]] || { echo "no $VIGIL: cmake --preset release && cmake --build --preset release" >&2; exit 1; }

work=$(mktemp -d /tmp/vigil-service-bench.XXXXXX)
server_pid=""
cleanup() { [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
data="$work/data"

echo "== generating $ENTRIES random PDQ entries and 1000 queries (1% planted near matches)" >&2
head -c $((ENTRIES * 32)) /dev/urandom | od -An -v -tx1 -w32 | tr -d ' ' |
  awk '{ printf "pdq,%s,e%d,\n", $0, NR }' >"$work/list.csv"
{
  echo "queries = {"
  # 10 near copies of listed entries (first hex digit changed: distance <= 4), 990 random.
  awk -F, 'NR % 9973 == 1 && n < 10 { n++; d = substr($2, 1, 1); r = (d == "0") ? "f" : "0";
           printf "\"%s%s\",\n", r, substr($2, 2) }' "$work/list.csv"
  head -c $((990 * 32)) /dev/urandom | od -An -v -tx1 -w32 | tr -d ' ' | awk '{ printf "\"%s\",\n", $0 }'
  echo "}"
} >"$work/queries.lua"

"$VIGIL" bank create bench --data-dir "$data" >/dev/null
import_start=$(date +%s.%N)
"$VIGIL" import bench "$work/list.csv" --data-dir "$data" >/dev/null
import_s=$(awk "BEGIN { print $(date +%s.%N) - $import_start }")
key=$("$VIGIL" keys create --data-dir "$data" --role submitter --name bench)
echo "key = \"$key\"" >>"$work/queries.lua"

printf '[hma]\nenabled = true\nlisten = "127.0.0.1:0"\nkey = "bench"\n' >"$work/hma.toml"
"$VIGIL" serve --data-dir "$data" --listen 127.0.0.1:0 --port-file "$work/port" --no-access-log \
  --threads "$SERVER_THREADS" --config "$work/hma.toml" --hma-port-file "$work/hma.port" 2>"$work/serve.log" &
server_pid=$!
load_start=$(date +%s.%N)
for _ in $(seq 600); do
  [[ -s "$work/port" ]] && curl -sf "http://127.0.0.1:$(cat "$work/port")/readyz" >/dev/null && break
  sleep 0.1
done
load_s=$(awk "BEGIN { print $(date +%s.%N) - $load_start }")
port=$(cat "$work/port")
url="http://127.0.0.1:$port"
rss_kb=$(awk '/VmRSS/ { print $2 }' "/proc/$server_pid/status")

# wrk's summary -> "requests/s p50 p99" (latencies in ms).
run_wrk() {
  wrk "$@" --latency | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    / 50%/ { p50 = ms($2) } / 99%/ { p99 = ms($2) } /Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "%.0f %.2f %.2f %s\n", rps, p50, p99, (bad == "" ? 0 : bad) }'
}

echo "== warm-up" >&2
VIGIL_BENCH_QUERIES="$work/queries.lua" wrk -t1 -c4 -d2s -s bench/service/lookup.lua "$url" >/dev/null
echo "== single-signal lookups: $CONNECTIONS connections, ${DURATION}s" >&2
read -r l_rps l_p50 l_p99 l_bad < <(VIGIL_BENCH_QUERIES="$work/queries.lua" run_wrk -t1 -c"$CONNECTIONS" \
  -d"${DURATION}s" -s bench/service/lookup.lua "$url")
echo "== HMA-compatible single-signal lookups (GET /m/lookup), same queries and connections" >&2
hma_url="http://127.0.0.1:$(cat "$work/hma.port")"
read -r h_rps h_p50 h_p99 h_bad < <(VIGIL_BENCH_QUERIES="$work/queries.lua" run_wrk -t1 -c"$CONNECTIONS" \
  -d"${DURATION}s" -s bench/service/hma_lookup.lua "$hma_url")
echo "== /v1/lookup again (the two alternate, so drift on a shared machine shows)" >&2
read -r l2_rps l2_p50 l2_p99 l2_bad < <(VIGIL_BENCH_QUERIES="$work/queries.lua" run_wrk -t1 -c"$CONNECTIONS" \
  -d"${DURATION}s" -s bench/service/lookup.lua "$url")
echo "== 100-signal lookups" >&2
{
  echo "queries_flat = queries"
  echo "batch = {}"
  echo "for i = 1, 100 do batch[i] = queries_flat[(i * 7) % #queries_flat + 1] end"
} >>"$work/queries.lua"
cat >"$work/batch.lua" <<'LUA'
dofile(os.getenv("VIGIL_BENCH_QUERIES"))
local parts = {}
for i, q in ipairs(batch) do parts[i] = '{"type":"pdq","value":"' .. q .. '"}' end
local body = '{"signals":[' .. table.concat(parts, ",") .. ']}'
local headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
request = function() return wrk.format("POST", "/v1/lookup", headers, body) end
LUA
read -r b_rps b_p50 b_p99 b_bad < <(VIGIL_BENCH_QUERIES="$work/queries.lua" run_wrk -t1 -c4 -d"${DURATION}s" \
  -s "$work/batch.lua" "$url")
echo "== content submissions (~1 MP JPEG)" >&2
djpeg -scale 3/4 examples/images/bridge.jpg | cjpeg -quality 85 >"$work/1mp.jpg"
dims=$("$VIGIL" hash "$work/1mp.jpg" | sed -E 's/.*"width":([0-9]+),"height":([0-9]+).*/\1x\2/')
read -r c_rps c_p50 c_p99 c_bad < <(VIGIL_BENCH_IMAGE="$work/1mp.jpg" VIGIL_BENCH_KEY="$key" run_wrk -t1 -c4 \
  -d"${DURATION}s" -s bench/service/content.lua "$url")

echo "== content submissions again, decoding in the server process ([sandbox] mode = \"off\")" >&2
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
printf '[sandbox]\nmode = "off"\n' >"$work/nosandbox.toml"
rm -f "$work/port"
"$VIGIL" serve --data-dir "$data" --listen 127.0.0.1:0 --port-file "$work/port" --no-access-log \
  --threads "$SERVER_THREADS" --config "$work/nosandbox.toml" 2>"$work/serve-nosandbox.log" &
server_pid=$!
for _ in $(seq 600); do
  [[ -s "$work/port" ]] && curl -sf "http://127.0.0.1:$(cat "$work/port")/readyz" >/dev/null && break
  sleep 0.1
done
url="http://127.0.0.1:$(cat "$work/port")"
read -r n_rps n_p50 n_p99 n_bad < <(VIGIL_BENCH_IMAGE="$work/1mp.jpg" VIGIL_BENCH_KEY="$key" run_wrk -t1 -c4 \
  -d"${DURATION}s" -s bench/service/content.lua "$url")

cat <<TABLE

Vigil service on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), SQLite, server threads: ${SERVER_THREADS/#0/one per core}; wrk 1 thread on the same machine.
Bank: $ENTRIES random PDQ entries; import $(printf %.1f "$import_s") s; load at start $(printf %.2f "$load_s") s; server RSS $((rss_kb / 1024)) MiB.

| workload | connections | requests/s | signals/s | p50 ms | p99 ms | non-2xx |
|---|---|---|---|---|---|---|
| lookup, 1 PDQ signal (POST /v1/lookup) | $CONNECTIONS | $l_rps | $l_rps | $l_p50 | $l_p99 | $l_bad |
| HMA lookup, 1 PDQ signal (GET /m/lookup) | $CONNECTIONS | $h_rps | $h_rps | $h_p50 | $h_p99 | $h_bad |
| lookup, 1 PDQ signal (POST /v1/lookup, again) | $CONNECTIONS | $l2_rps | $l2_rps | $l2_p50 | $l2_p99 | $l2_bad |
| lookup, 100 PDQ signals | 4 | $b_rps | $((b_rps * 100)) | $b_p50 | $b_p99 | $b_bad |
| content, $(stat -c %s "$work/1mp.jpg") B JPEG ($dims), sandboxed decoders | 4 | $c_rps | - | $c_p50 | $c_p99 | $c_bad |
| content, same JPEG, decoded in the server (sandbox off) | 4 | $n_rps | - | $n_p50 | $n_p99 | $n_bad |
TABLE
awk -v h="$h_rps" -v a="$l_rps" -v b="$l2_rps" 'BEGIN { printf "\n/m/lookup ÷ /v1/lookup (mean of both runs): %.2f\n", h / ((a + b) / 2) }'

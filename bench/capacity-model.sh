#!/usr/bin/env bash
# A capacity model for a platform's upload volume (docs/scale.md): from measured per-upload costs
# (bench/stream-bench.sh, bench/video-bench.sh, vigil index bench) to cores, nodes, PostgreSQL
# write rates and storage, NATS bandwidth and index memory. Every input is a variable that can be
# overridden from the environment, so the plan can be redone with figures measured on the
# platform's own hardware:
#
#   bench/capacity-model.sh                       # the defaults below (this repo's 2-core measurements)
#   UPLOADS_PER_DAY=3e8 VIDEO_SHARE=0.3 bench/capacity-model.sh
set -euo pipefail

: "${UPLOADS_PER_DAY:=1e9}"        # uploads a day
: "${PEAK_FACTOR:=4}"              # peak over the daily average (3-5x)
: "${VIDEO_SHARE:=0.10}"           # share of uploads that are videos
: "${VIDEO_SECONDS:=30}"           # average video length
: "${IMAGE_WORKER_CPU_MS:=6.1}"    # stream-bench: worker CPU per 1080p JPEG (hash, match, record, publish; sandbox on)
: "${IMAGE_NATS_CPU_MS:=0.9}"      # stream-bench: nats-server CPU per inline event
: "${IMAGE_PG_CPU_MS:=1.8}"        # stream-bench: PostgreSQL CPU per recorded upload
: "${VIDEO_REALTIME:=21.8}"        # video-bench: seconds of 720p video hashed per CPU-second (vPDQ, 1 frame/s)
: "${TARGET_UTILISATION:=0.65}"    # plan cores so that the peak runs at this share of them
: "${CORES_PER_NODE:=32}"
: "${LISTED_HASHES:=1e8}"          # hashes in all banks together
: "${INDEX_BYTES_PER_HASH:=107}"   # index (89.5 B at 50M) + the matcher's id table (~17 B)
: "${INDEX_QPS_PER_THREAD:=1700}"  # exact r=31 lookups per thread at 100M (3,282 measured at 50M, about halving per doubling)
: "${ROW_BYTES:=520}"              # a content row with its indexes in PostgreSQL (no matches)
: "${MATCH_SHARE:=0.0005}"         # uploads that match a listed hash
: "${RETENTION_DAYS_UNMATCHED:=90}" # [uploads] retention_days: unmatched uploads kept this long, then dropped a day at a time
: "${STORE_BATCHED_RATE:=35000}"   # store_insert_bench: unmatched uploads/s into one PostgreSQL, batches of 64, 4 writers, 2 shared cores
: "${SNAPSHOT_LOAD_S_PER_M:=0.058}" # replica_start_bench: seconds per million hashes from a matcher snapshot (+10k changes)
: "${FULL_LOAD_S_PER_M:=1.33}"      # replica_start_bench: seconds per million hashes read entry by entry (in-memory feed; PostgreSQL is slower)
: "${EVENT_BYTES_IMAGE:=250000}"   # an inline image event (by-path events are ~300 B)
: "${BATCH:=64}"                   # uploads recorded per transaction by the workers

awk -v upd="$UPLOADS_PER_DAY" -v peak="$PEAK_FACTOR" -v vshare="$VIDEO_SHARE" -v vsec="$VIDEO_SECONDS" \
    -v iw="$IMAGE_WORKER_CPU_MS" -v inats="$IMAGE_NATS_CPU_MS" -v ipg="$IMAGE_PG_CPU_MS" -v vrt="$VIDEO_REALTIME" \
    -v util="$TARGET_UTILISATION" -v cpn="$CORES_PER_NODE" -v listed="$LISTED_HASHES" -v bph="$INDEX_BYTES_PER_HASH" \
    -v qps="$INDEX_QPS_PER_THREAD" -v rowb="$ROW_BYTES" -v mshare="$MATCH_SHARE" -v keep="$RETENTION_DAYS_UNMATCHED" \
    -v evb="$EVENT_BYTES_IMAGE" -v batch="$BATCH" -v pgrate="$STORE_BATCHED_RATE" -v snap="$SNAPSHOT_LOAD_S_PER_M" \
    -v fullload="$FULL_LOAD_S_PER_M" '
function ceil(x) { return x == int(x) ? x : int(x) + 1 }
function human(x) { return x >= 1e12 ? sprintf("%.1f T", x / 1e12) : x >= 1e9 ? sprintf("%.1f G", x / 1e9) : x >= 1e6 ? sprintf("%.1f M", x / 1e6) : x >= 1e3 ? sprintf("%.1f k", x / 1e3) : sprintf("%.1f", x) }
BEGIN {
  avg = upd / 86400; top = avg * peak
  img = 1 - vshare
  # CPU-seconds per second of wall time = cores busy.
  worker_img = avg * img * iw / 1000
  worker_vid = avg * vshare * (vsec / vrt)
  nats = avg * img * inats / 1000
  pg = avg * ipg / 1000
  workers_avg = worker_img + worker_vid
  worker_cores = ceil(workers_avg * peak / util)
  worker_nodes = ceil(worker_cores / cpn)
  lookups_per_upload = 1 + 0  # one PDQ lookup per image; videos look up their frames (counted in vPDQ cost)
  index_threads = ceil(top * img * lookups_per_upload / qps)
  mem = listed * bph
  rows_day = upd; bytes_day = rows_day * rowb
  printf "| input | value |\n|---|---|\n"
  printf "| uploads a day | %s (%s/s average, %s/s at %sx peak) |\n", human(upd), human(avg), human(top), peak
  printf "| videos | %.0f%%, %s s long on average, hashed at %sx real time per core |\n", vshare * 100, vsec, vrt
  printf "| image cost (worker / nats-server / PostgreSQL) | %s / %s / %s CPU-ms |\n", iw, inats, ipg
  printf "\n| what | average | at peak | planned (%.0f%% busy at peak) |\n|---|---:|---:|---:|\n", util * 100
  printf "| worker cores, images | %.0f | %.0f | |\n", worker_img, worker_img * peak
  printf "| worker cores, videos | %.0f | %.0f | |\n", worker_vid, worker_vid * peak
  printf "| worker cores, all | %.0f | %.0f | %d cores = %d nodes of %d |\n", workers_avg, workers_avg * peak, worker_cores, worker_nodes, cpn
  queued = ceil(workers_avg / util)
  printf "| worker cores, all, peaks queued in the stream (drained off-peak) | %.0f | | %d cores = %d nodes of %d |\n", workers_avg, queued, ceil(queued / cpn), cpn
  printf "| nats-server cores (inline images) | %.1f | %.1f | %d (3-node cluster, R3 triples it) |\n", nats, nats * peak, ceil(nats * peak / util)
  printf "| PostgreSQL cores (recording) | %.1f | %.1f | %d |\n", pg, pg * peak, ceil(pg * peak / util)
  printf "| PostgreSQL transactions/s (%d uploads each) | %s | %s | |\n", batch, human(avg / batch), human(top / batch)
  printf "| upload rows/s | %s | %s | one PostgreSQL took %s/s in batches on 2 shared cores: %.1fx the peak |\n", human(avg), human(top), human(pgrate), pgrate / top
  printf "| matched uploads a day (recorded alone, with policy) | %s | | |\n", human(upd * mshare)
  printf "| uploads table growth (unmatched; a partition a day) | %sB/day | | %sB kept (%d partitions), +%sB/year permanent (matched) |\n", human(bytes_day), human(bytes_day * keep), keep, human(bytes_day * mshare * 365)
  printf "| NATS ingress, images inline | %sB/s | %sB/s | by path: ~300 B/event |\n", human(avg * img * evb), human(top * img * evb)
  printf "| index memory per replica (%s hashes) | %sB | | |\n", human(listed), human(mem)
  printf "| a new replica'"'"'s index ready: from a snapshot / entry by entry | %.0f s / %.0f s | | |\n", listed / 1e6 * snap, listed / 1e6 * fullload
  printf "| index threads for the lookups (r=31) | | %d | spread over the workers |\n", index_threads
}'

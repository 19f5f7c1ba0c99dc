#!/usr/bin/env bash
# vPDQ benchmark inputs and run: makes 60 s H.264 videos at 720p and 1080p (30 fps, libx264 CRF 23,
# preset medium: what phones and platforms produce) from a real camera clip of the benign corpus
# (or, without it, from the reference's doorknob clip), then runs build/release/bench/video_bench.
#
#   bench/video-bench.sh [CORPUS_DIR]      # default ../corpus (shared/corpus/build-corpus.sh makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../corpus}
source_clip="$corpus/videos/real-cockatoo.mp4"
[[ -f "$source_clip" ]] || source_clip=../shared/vectors/vpdq/videos/doorknob-hd-no-bar.mp4
work=$(mktemp -d /tmp/vigil-video-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
for res in 720 1080; do
  # setpts plays the clip faster to 30 fps, so every frame is a distinct camera frame (repeated
  # frames would encode as near-empty P-frames and flatter the decoder).
  rate=$(ffprobe -v error -select_streams v:0 -show_entries stream=avg_frame_rate -of csv=p=0 "$source_clip")
  ffmpeg -nostdin -v error -y -stream_loop -1 -i "$source_clip" -t 60 -r 30 \
    -vf "setpts=PTS*($rate)/30,scale=-2:$res" \
    -c:v libx264 -preset medium -crf 23 -pix_fmt yuv420p -an "$work/${res}p.mp4"
done
build/release/bench/video_bench --input "720p=$work/720p.mp4" --input "1080p=$work/1080p.mp4" \
  --query "$work/720p.mp4" --bank-videos "${BANK_VIDEOS:-10000}"

#!/usr/bin/env bash
# Start-up cost of the vigil binary, side by side with djpeg in one run (issue 15):
# `vigil version` against `djpeg` of one file, and `vigil hash` over a dozen 1080p JPEGs (one
# process, in-process decode) against djpeg run once per file. Prints a markdown table with
# medians of --runs runs, peak resident memory, the shared libraries each loads, and the ratios.
#
#   bench/startup-bench.sh [VIGIL] [RUNS]   # default build/ci/vigil, 7 runs
set -euo pipefail
cd "$(dirname "$0")/.."
vigil=${1:-build/ci/vigil}
runs=${2:-7}
work=$(mktemp -d /tmp/vigil-startup-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Twelve 1080p JPEGs of a synthetic test pattern (benign; quality 90, as cameras save).
ffmpeg -nostdin -v error -f lavfi -i "testsrc2=size=1920x1080:rate=1" -frames:v 12 -q:v 3 "$work/img%02d.jpg"
files=("$work"/img*.jpg)

# median_of CMD...: runs the command `runs` times; prints "median_ms peak_kb" (wall time from the
# shell's clock, which includes /usr/bin/time's own fork and exec: the same for every row).
median_of() {
  local times=() peak=0 start end kb
  for ((i = 0; i < runs; i++)); do
    start=$(date +%s%N)
    /usr/bin/time -o "$work/time" -f "%M" "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.1f", (b - a) / 1e6}')")
    kb=$(tail -1 "$work/time")
    ((kb > peak)) && peak=$kb
  done
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')" "$peak"
}

read -r t_ms t_kb < <(median_of /bin/true)
read -r v_ms v_kb < <(median_of "$vigil" version)
read -r d_ms d_kb < <(median_of djpeg -outfile /dev/null "${files[0]}")
read -r h_ms h_kb < <(median_of "$vigil" hash -q -j 1 "${files[@]}")
# djpeg once per file, timed as one shell loop (the shell's own start is in the figure too).
read -r dl_ms dl_kb < <(median_of bash -c 'for f in "$@"; do djpeg -outfile /dev/null "$f"; done' _ "${files[@]}")
libs_vigil=$(ldd "$vigil" | wc -l)
libs_djpeg=$(ldd "$(command -v djpeg)" | wc -l)

echo "| what | median ms | peak resident KB | shared libraries | ratio to djpeg |"
echo "|---|---:|---:|---:|---:|"
echo "| /bin/true (the harness's own fork, exec and wait) | $t_ms | $t_kb | $(ldd /bin/true | wc -l) | |"
echo "| djpeg, one 1080p JPEG | $d_ms | $d_kb | $libs_djpeg | 1.00 |"
echo "| vigil version | $v_ms | $v_kb | $libs_vigil | $(awk -v a="$v_ms" -v b="$d_ms" 'BEGIN {printf "%.2f", a / b}') |"
echo "| djpeg on each of ${#files[@]} 1080p JPEGs | $dl_ms | $dl_kb | $libs_djpeg | 1.00 |"
echo "| vigil hash -j 1, the same ${#files[@]} files | $h_ms | $h_kb | $libs_vigil | $(awk -v a="$h_ms" -v b="$dl_ms" 'BEGIN {printf "%.2f", a / b}') |"
echo
echo "$runs runs each, medians; $(nproc) cores; $(date -u +%Y-%m-%d)."

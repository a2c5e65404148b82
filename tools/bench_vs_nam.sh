#!/usr/bin/env bash
# ampsim-engine beside NAM's C++ core on the same pinned core, files and input (one thread,
# 64-sample blocks, median of 3 runs of SECONDS). NAM's core is built by
# ../shared/peers/namcore/build.sh (for measuring only; never part of the project) into
# $NAMCORE_BUILD (default /tmp/namcore-build); without that build, or without ../shared, this
# prints ampsim's figures for what it can and says what is missing.
#   tools/bench_vs_nam.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-10}"
shared="${AMPSIM_SHARED:-$root/../shared}"
nam_dir="$shared/data/nam"
namcore="${NAMCORE_BUILD:-/tmp/namcore-build}/bench_rt"
input="$nam_dir/reference/input.wav"
cd "$root"
cargo build --quiet --release -p ampsim-engine --example bench_nam
ours="$root/target/release/examples/bench_nam"
if [ ! -f "$input" ]; then echo "bench_vs_nam: no $nam_dir (NAM's files beside the repository): skipped"; exit 0; fi
[ -x "$namcore" ] || echo "bench_vs_nam: no NAM build at $namcore (run $shared/peers/namcore/build.sh ${NAMCORE_BUILD:-/tmp/namcore-build}); ampsim only"
core=$(( $(nproc) - 1 ))
median() { sort -g | sed -n 2p; }
rtf() { for _ in 1 2 3; do taskset -c "$core" "$@" 2>/dev/null | sed -n 's/^real-time factor: //p'; done | median; }
printf '%-34s %14s %14s %8s\n' "model (pinned core $core, 64-sample blocks)" "ampsim-engine" "NAM C++ core" "ratio"
for spec in "wavenet_a1_standard.nam" "A2.nam" "A2.nam --slim 0.25" "lstm.nam"; do
  set -- $spec
  a=$(rtf "$ours" "$nam_dir/$1" "$seconds" 64 "${@:2}" --in "$input")
  if [ -x "$namcore" ]; then
    n=$(rtf "$namcore" "$nam_dir/$1" "$seconds" 64 "${@:2}" --in "$input" --fast-tanh)
    printf '%-34s %13.1fx %13.1fx %7.2fx\n' "$spec" "$a" "$n" "$(awk -v a="$a" -v n="$n" 'BEGIN { print a / n }')"
  else
    printf '%-34s %13.1fx %14s\n' "$spec" "$a" "—"
  fi
done

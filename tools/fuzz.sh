#!/usr/bin/env bash
# Fuzz what a host or a user's file reaches: the .nam loader (read, build, play a block).
#   tools/fuzz.sh [SECONDS]          # each target for SECONDS (default 60), as `make test` does
#   tools/fuzz.sh --runs N           # each target for N executions (the long run: --runs 10000000)
# Seeds: NAM's own .nam files beside the repository (../shared/data/nam, copied into the corpus
# under target/, never into the repository) and two small files of ours. A crash, an abort, a
# timeout or an allocation past 2 GB fails the run; libFuzzer writes the input to
# ampsim-engine/fuzz/artifacts/ (make it a regression test in ampsim-engine/tests/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/env.sh"
export PATH="$AMPSIM_FUZZ_ROOT/bin:$PATH"
limit=(-max_total_time="${1:-60}")
if [ "${1:-}" = "--runs" ]; then limit=(-runs="$2"); fi
fuzz_dir="$root/ampsim-engine/fuzz"
corpus="$root/target/fuzz-corpus/nam_file"
mkdir -p "$corpus"
shared="${AMPSIM_SHARED:-$root/../shared}/data/nam"
for f in "$shared"/*.nam; do
  # Small files only: the fuzzer mutates inputs up to 16 kB.
  [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 16384 ] && cp -n "$f" "$corpus/"
done
printf '{"version":"0.5.4","architecture":"LSTM","config":{"input_size":1,"hidden_size":1,"num_layers":1},"weights":[0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.1],"sample_rate":48000}' > "$corpus/seed_lstm.nam"
printf '{"version":"0.7.0","architecture":"LSTM","config":{"input_size":2,"hidden_size":1,"num_layers":1},"weights":[0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.1],"sample_rate":44100,"controls":[{"name":"gain","min":0,"max":10,"trained_min":0,"trained_max":10}]}' > "$corpus/seed_knob.nam"
cd "$fuzz_dir"
for target in nam_file; do
  echo "[fuzz] $target: ${limit[*]}"
  log="$root/target/fuzz-$target.log"
  rc=0
  cargo +nightly fuzz run "$target" "$corpus" -- "${limit[@]}" -max_len=16384 -dict=nam.dict \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 > "$log" 2>&1 || rc=$?
  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|^==[0-9]+== ?ERROR|panicked at|Test unit written" "$log" || true
  if [ "$rc" -ne 0 ]; then echo "[fuzz] $target FAILED (exit $rc; $log; the input: ampsim-engine/fuzz/artifacts/$target/)" >&2; tail -30 "$log" >&2; exit 1; fi
done

#!/usr/bin/env bash
# Fuzz what a host or a user's file reaches: the .nam loader (read, build, play a block) and
# the captures manifest (read, write back, read again).
#   tools/fuzz.sh [SECONDS]          # each target for SECONDS (default 60), as `make test` does
#   tools/fuzz.sh --runs N           # each target for N executions (the long run: --runs 10000000)
#   FUZZ_TARGETS=captures_manifest tools/fuzz.sh …   # one target only
# Seeds: NAM's own .nam files beside the repository (../shared/data/nam, copied into the corpus
# under target/, never into the repository) and two small files of ours. A crash, an abort, a
# timeout or an allocation past 2 GB fails the run; libFuzzer writes the input to
# fuzz/artifacts/<target>/ (make it a regression test beside the code it reached).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/env.sh"
export PATH="$AMPSIM_FUZZ_ROOT/bin:$PATH"
limit=(-max_total_time="${1:-60}")
if [ "${1:-}" = "--runs" ]; then limit=(-runs="$2"); fi
fuzz_dir="$root/fuzz"
corpus="$root/target/fuzz-corpus/nam_file"
mkdir -p "$corpus"
shared="${AMPSIM_SHARED:-$root/../shared}/data/nam"
for f in "$shared"/*.nam; do
  # Small files only: the fuzzer mutates inputs up to 16 kB.
  [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 16384 ] && cp -n "$f" "$corpus/"
done
printf '{"version":"0.5.4","architecture":"LSTM","config":{"input_size":1,"hidden_size":1,"num_layers":1},"weights":[0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.1],"sample_rate":48000}' > "$corpus/seed_lstm.nam"
printf '{"version":"0.7.0","architecture":"LSTM","config":{"input_size":2,"hidden_size":1,"num_layers":1},"weights":[0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.1],"sample_rate":44100,"controls":[{"name":"gain","min":0,"max":10,"trained_min":0,"trained_max":10}]}' > "$corpus/seed_knob.nam"
# The manifests: ours for the JVM410H set, and the shapes its documentation shows.
corpus="$root/target/fuzz-corpus/captures_manifest"
mkdir -p "$corpus"
cp "$root/data/jvm410h_captures.toml" "$corpus/seed_jvm.toml"
printf 'controls = [{ name = "bass", min = 0, max = 10 }, { name = "treble", min = 0, max = 10 }]\nfolders = ["takes"]\npattern = "amp_b{bass}_t{treble}_take*"\ntest = [{ bass = 10, treble = 0 }]\n' > "$corpus/seed_pattern.toml"
printf 'controls = [{ name = "gain", min = 0, max = 1 }]\nvalidation = [{ gain = 0.5 }]\n[[capture]]\nfile = "a.wav"\ngain = 0\n[[capture]]\nfile = "b.wav"\ngain = 0.5\n[[capture]]\nfile = "c.wav"\ngain = 1\n' > "$corpus/seed_listed.toml"
cd "$fuzz_dir"
for spec in nam_file:16384:nam.dict captures_manifest:4096:captures.dict; do
  IFS=: read -r target max_len dict <<< "$spec"
  case " ${FUZZ_TARGETS:-nam_file captures_manifest} " in *" $target "*) ;; *) continue ;; esac
  echo "[fuzz] $target: ${limit[*]}"
  log="$root/target/fuzz-$target.log"
  rc=0
  cargo +nightly fuzz run "$target" "$root/target/fuzz-corpus/$target" -- "${limit[@]}" -max_len="$max_len" -dict="$dict" \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -print_final_stats=1 > "$log" 2>&1 || rc=$?
  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|^==[0-9]+== ?ERROR|panicked at|Test unit written" "$log" || true
  if [ "$rc" -ne 0 ]; then echo "[fuzz] $target FAILED (exit $rc; $log; the input: fuzz/artifacts/$target/)" >&2; tail -30 "$log" >&2; exit 1; fi
done

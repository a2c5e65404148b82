#!/usr/bin/env bash
# How `ampsim train` captures hold up on playing they never heard (issue 33's protocol): for
# each of the two JVM410H settings with softer takes, train on takes 1-5 and 8 and test on
# takes 7 and 9 (`--test-data`), MINUTES (default 10) per model, then print each run's figures.
# Needs ../shared beside the repository and a built `ampsim` (make build).
#   MODELS="lstm wavenet" PRESETS="standard" MINUTES=10 OUT=/tmp/unheard tools/measure_unheard.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/tools/env.sh"
shared="${AMPSIM_SHARED:-$root/../shared}/data/real/jvm410h-settings"
out="${OUT:-/tmp/ampsim-unheard}"
minutes="${MINUTES:-10}"
ampsim="${AMPSIM:-$root/target/release/ampsim}"
if [ ! -d "$shared" ]; then echo "measure_unheard: no $shared: skipped"; exit 0; fi
mkdir -p "$out"
[ -x "$ampsim" ] || (cd "$root" && cargo build --quiet --release -p ampsim-cli)
for setting in b10_m0_t0 b0_m0_t10; do
  take="$shared/jvm410h_gain5_${setting}_take"
  for model in ${MODELS:-lstm wavenet}; do
    for preset in ${PRESETS:-standard}; do
      run="$out/$setting-$model-$preset"
      if [ ! -f "$run/summary.txt" ]; then
        "$ampsim" train --data "${take}1.wav" $(for k in 2 3 4 5 8; do echo --more-data "${take}$k.wav"; done) \
          --test-data "${take}7.wav" --test-data "${take}9.wav" --model "$model" --preset "$preset" \
          --minutes "$minutes" --out "$run" > "$run.log" 2>&1 || { echo "failed: see $run.log"; exit 1; }
      fi
    done
  done
done
printf '%-12s %-8s %-9s %7s %10s %13s\n' setting model preset epochs "test ESR" "unheard ESR"
for s in "$out"/*/summary.txt; do
  name=$(basename "$(dirname "$s")")
  IFS=- read -r setting model preset <<< "$name"
  epochs=$(sed -n 's/^training *: [0-9]* s, \([0-9]*\) epochs.*/\1/p' "$s")
  heard=$(sed -n 's/^test ESR *: \([0-9.]*\).*/\1/p' "$s")
  unheard=$(sed -n 's/^unheard ESR *: \([0-9.]*\).*/\1/p' "$s")
  printf '%-12s %-8s %-9s %7s %10s %13s\n' "$setting" "$model" "$preset" "$epochs" "$heard" "$unheard"
done

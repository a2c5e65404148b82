#!/usr/bin/env bash
# `make install` into a scratch prefix, then `ampsim` from a clean environment (`env -i`: no
# tools/env.sh, no LD_LIBRARY_PATH, another folder): info, process with both engines, plugin.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/target/install-test"
rm -rf "$prefix"
"$root/tools/install.sh" "$prefix" > /dev/null
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
# A tiny LSTM in NAM's format (hidden size 1): enough to run both engines.
printf '{"version":"0.5.4","architecture":"LSTM","config":{"input_size":1,"hidden_size":1,"num_layers":1},"weights":[0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.1,0.2,0.3,0.4,0.0,0.0,0.9,0.1],"sample_rate":44100}' > tiny.nam
clean=(env -i HOME="$HOME" PATH="$prefix/bin:/usr/bin:/bin")
"${clean[@]}" ampsim info "$root/data/GuitarTraining.wav" > info.txt
grep -q "44100 Hz" info.txt
for engine in native torch; do
  "${clean[@]}" ampsim process --model tiny.nam --engine "$engine" "$root/data/GuitarTraining.wav" "out-$engine.wav" > /dev/null
  [ -s "out-$engine.wav" ]
done
"${clean[@]}" ampsim compare out-native.wav out-torch.wav > compare.txt || { cat compare.txt; exit 1; }
"${clean[@]}" ampsim plugin --loader --out plugins > /dev/null
[ -f plugins/clap/ampsim.clap ] && [ -f plugins/lv2/ampsim.lv2/manifest.ttl ]
echo "make install: ampsim from a clean shell ran info, process (native and torch: $(grep -m1 -i esr compare.txt | tr -s ' ')) and plugin"

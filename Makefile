# ampsim — see README.md. Every target sets itself up first (tools/setup.sh is idempotent).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := . tools/env.sh &&
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
DATA := data/GuitarTraining.wav

.PHONY: all setup build data notebooks test test-rust test-notebooks test-notebooks-real test-harness lab bench clean clean-cache

all: notebooks

setup:
	@tools/setup.sh

build: setup
	$(ENV) cargo build --workspace

# Regenerated when the synthesiser or the amp changes.
$(DATA): ampsim-core/src/data/synth.rs ampsim-core/src/data/amp.rs ampsim-core/src/data/dsp.rs ampsim-core/src/data/recording.rs | setup
	$(ENV) cargo run --quiet -p ampsim-cli -- synth --out $(DATA)

## data: the built-in training recording (deterministic: same bytes every time)
data: $(DATA)

## notebooks: execute every notebook in full mode, in place; figures go to figures/
notebooks: setup data
	@mkdir -p figures models
	$(ENV) python3 tools/run_notebooks.py --in-place $(NOTEBOOKS)

## test: Rust tests, the notebook harness's own tests, every notebook in quick mode
test: setup data test-rust test-harness test-notebooks test-notebooks-real

test-rust: setup
	$(ENV) AMPSIM_REQUIRE_NAM=1 cargo test --workspace

test-harness: setup
	$(ENV) AMPSIM_REQUIRE_KERNEL=1 python3 -m pytest -q tools/test_run_notebooks.py

test-notebooks: setup data
	@mkdir -p figures models
	$(ENV) python3 tools/run_notebooks.py --quick --out-dir target/notebooks-quick $(NOTEBOOKS)

## bench: the real-time engine (real-time factor and µs per block of every preset, beside NAM's C++ engine); the post's dense network in training (windows/s, peak memory); every LSTM/WaveNet preset (training samples/s)
bench: setup data
	$(ENV) cargo run --quiet --release -p ampsim-engine --example bench_engine
	$(ENV) cargo run --quiet -p ampsim-core --example bench_dense
	$(ENV) cargo run --quiet -p ampsim-core --example bench_presets

# The data notebooks again, unchanged, on a real 5-second recording (when ../shared is there).
REAL_TAKE := $(firstword $(wildcard ../shared/data/real/jvm410h/*.wav))
test-notebooks-real: setup
	@if [ -z "$(REAL_TAKE)" ]; then echo "skipping: no real recording in ../shared/data/real/jvm410h"; else \
	  $(ENV) AMPSIM_DATA="$(abspath $(REAL_TAKE))" python3 tools/run_notebooks.py --quick --out-dir target/notebooks-real \
	    notebooks/01_input_data.ipynb notebooks/02_dense_network.ipynb notebooks/03_spectrograms.ipynb notebooks/04_beyond_the_article.ipynb; fi

## lab: JupyterLab on notebooks/ with the "Rust (ampsim)" kernel
lab: setup data
	$(ENV) jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	cargo clean
	rm -rf figures target/notebooks-quick

## clean-cache: remove the venv, evcxr and evcxr's build cache (re-installed on next use)
clean-cache:
	$(ENV) rm -rf "$$AMPSIM_CACHE"

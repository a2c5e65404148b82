# ampsim — see README.md. Every target sets itself up first (tools/setup.sh is idempotent).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ENV := . tools/env.sh &&
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
DATA := data/GuitarTraining.wav

.PHONY: all setup build install test-install data notebooks plugin fuzz test test-rust test-no-shared test-notebooks test-notebooks-real test-harness lab bench clean clean-cache

all: notebooks

setup:
	@tools/setup.sh

build: setup
	$(ENV) cargo build --workspace

## install: the `ampsim` command in $(PREFIX)/bin (default ~/.local/bin), runnable from any shell
PREFIX ?= $(HOME)/.local
install: setup
	tools/install.sh "$(PREFIX)"

# Regenerated when the synthesiser or the amp changes.
$(DATA): ampsim-core/src/data/synth.rs ampsim-core/src/data/amp.rs ampsim-core/src/data/dsp.rs ampsim-core/src/data/recording.rs | setup
	$(ENV) cargo run --quiet -p ampsim-cli -- synth --out $(DATA)

## data: the built-in training recording (deterministic: same bytes every time)
data: $(DATA)

## notebooks: execute every notebook in full mode, in place; figures go to figures/
notebooks: setup data
	@mkdir -p figures models
	$(ENV) python3 tools/run_notebooks.py --in-place $(NOTEBOOKS)

# Real recordings and NAM's files live beside the checkout (not in it): tests that need them skip
# when they are absent and list what they skipped, unless AMPSIM_REQUIRE_SHARED=1 (CI: .ci/run).
SHARED := $(or $(AMPSIM_SHARED),../shared)
SKIP_LOG := $(abspath target/skipped-tests.txt)

## plugin: the LV2 and CLAP loader (plays any .nam) in target/plugins/ (lv2/ampsim.lv2/ for ~/.lv2/, clap/ampsim.clap
## for ~/.clap/), optimised; with MODEL=amp.nam [NAME="My amp"], that model as a plugin of its own there too
PLUGIN_LIB := target/release/libampsim_plugin.so
plugin: setup
	$(ENV) cargo build --release -p ampsim-plugin
	$(ENV) AMPSIM_PLUGIN_LIB=$(abspath $(PLUGIN_LIB)) cargo run --quiet -p ampsim-cli -- plugin --loader --out target/plugins
	@if [ -n "$(MODEL)" ]; then $(ENV) AMPSIM_PLUGIN_LIB=$(abspath $(PLUGIN_LIB)) cargo run --quiet -p ampsim-cli -- plugin \
	  --model "$(MODEL)" --name "$(or $(NAME),$(basename $(notdir $(MODEL))))" --out target/plugins; fi

## test: Rust tests, the notebook harness's own tests, every notebook in quick mode
test: setup data plugin test-rust test-no-shared test-install fuzz test-harness test-notebooks test-notebooks-real

## test-install: `make install` into target/install-test, then `ampsim` from a clean environment (env -i)
test-install: setup
	tools/test_install.sh

## fuzz: the .nam loader and the captures manifest under cargo-fuzz, FUZZ_SECONDS (60) per target; `tools/fuzz.sh --runs 10000000` for the long run
FUZZ_SECONDS ?= 60
fuzz: setup
	tools/fuzz.sh $(FUZZ_SECONDS)

# AMPSIM_REQUIRE_NAM: NAM's Python package (installed by setup) must be there.
test-rust: setup
	@mkdir -p target && rm -f $(SKIP_LOG)
	$(ENV) AMPSIM_REQUIRE_NAM=1 AMPSIM_SKIP_LOG=$(SKIP_LOG) cargo test --workspace
	@if [ -s $(SKIP_LOG) ]; then echo "skipped, for want of $(SHARED) (real recordings, NAM's files):"; sort $(SKIP_LOG) | sed 's/^/  /'; fi

# The real-data tests once more without the shared folder: they skip and pass (a fresh clone),
# and fail when AMPSIM_REQUIRE_SHARED=1.
test-no-shared: setup
	$(ENV) python3 tools/test_without_shared.py

test-harness: setup
	$(ENV) AMPSIM_REQUIRE_KERNEL=1 python3 -m pytest -q tools/test_run_notebooks.py

test-notebooks: setup data
	@mkdir -p figures models
	$(ENV) python3 tools/run_notebooks.py --quick --out-dir target/notebooks-quick $(NOTEBOOKS)

## bench: the real-time engine (real-time factor and µs per block of every preset; NAM's files beside NAM's C++ core
## measured on this machine when ../shared/peers/namcore is built); the post's dense network in training (windows/s, peak memory); every LSTM/WaveNet preset (training samples/s)
bench: setup data
	$(ENV) cargo run --quiet --release -p ampsim-engine --example bench_engine
	$(ENV) tools/bench_vs_nam.sh
	$(ENV) cargo run --quiet -p ampsim-core --example bench_dense
	$(ENV) cargo run --quiet -p ampsim-core --example bench_presets

# The data notebooks again, unchanged, on a real 5-second recording (when $(SHARED) is there).
REAL_TAKE := $(firstword $(wildcard $(SHARED)/data/real/jvm410h/*.wav))
test-notebooks-real: setup
	@if [ -z "$(REAL_TAKE)" ] && [ "$${AMPSIM_REQUIRE_SHARED:-}" = 1 ]; then echo "AMPSIM_REQUIRE_SHARED=1 but $(SHARED)/data/real/jvm410h has no recording" >&2; exit 1; fi
	@if [ -z "$(REAL_TAKE)" ]; then echo "skipping: no real recording in $(SHARED)/data/real/jvm410h"; else \
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

#!/usr/bin/env bash
# Idempotent setup of everything ampsim needs; safe to re-run, asks nothing.
#   1. Debian packages the build needs (only when something is missing; needs root or sudo)
#   2. a Python venv with the pinned requirements (torch 2.13.0, JupyterLab, nbclient, pytest)
#   3. evcxr_jupyter (pinned, built with --locked)
#   4. the Jupyter kernelspec `ampsim-rust` ("Rust (ampsim)") with the environment libtorch needs
# The venv and the evcxr binary live in a version-keyed cache outside the checkout
# (see tools/env.sh), so fresh clones and CI reuse them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/env.sh"
mkdir -p "$AMPSIM_CACHE"
log() { printf '[setup] %s\n' "$*"; }

# --- 1. system packages -------------------------------------------------------------------
missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v make >/dev/null || missing+=(make)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
# lilv's command-line LV2 hosts (lv2ls, lv2info, lv2apply): the plugin's tests play it in them.
command -v lv2apply >/dev/null || missing+=(lilv-utils)
command -v cargo >/dev/null || { echo "[setup] error: cargo is not installed (https://rustup.rs)" >&2; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# --- 2. Python venv ---------------------------------------------------------------------------
req="$here/requirements.txt"
req_hash="$(sha256sum "$req" | cut -d' ' -f1)"
if [ -d "$AMPSIM_VENV" ] && [ ! -f "$AMPSIM_VENV/.ampsim-complete" ]; then
  log "removing an incomplete venv at $AMPSIM_VENV"
  rm -rf "$AMPSIM_VENV"
fi
if [ ! -d "$AMPSIM_VENV" ]; then
  log "creating venv $AMPSIM_VENV"
  python3 -m venv "$AMPSIM_VENV"
fi
if [ "$(cat "$AMPSIM_VENV/.ampsim-requirements" 2>/dev/null)" != "$req_hash" ]; then
  log "installing Python requirements (torch $AMPSIM_TORCH_VERSION is ~5 GB with its CUDA libraries)"
  "$AMPSIM_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  echo "$req_hash" > "$AMPSIM_VENV/.ampsim-requirements"
  touch "$AMPSIM_VENV/.ampsim-complete"
fi
if [ -z "${LIBTORCH:-}" ]; then
  got="$("$AMPSIM_VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)"
  if [ "$got" != "$AMPSIM_TORCH_VERSION" ]; then
    echo "[setup] error: venv has torch '$got', tch needs $AMPSIM_TORCH_VERSION; run 'make clean-cache' and retry" >&2
    exit 1
  fi
fi

# --- 3. evcxr_jupyter -------------------------------------------------------------------------
if [ ! -x "$AMPSIM_EVCXR_ROOT/bin/evcxr_jupyter" ]; then
  log "building evcxr_jupyter $AMPSIM_EVCXR_VERSION (~10-15 min on 2 cores, once)"
  cargo install --locked --quiet evcxr_jupyter --version "$AMPSIM_EVCXR_VERSION" --root "$AMPSIM_EVCXR_ROOT"
fi

# --- 3b. cargo-fuzz (the fuzz targets run with the nightly toolchain: tools/fuzz.sh) ----------
if [ ! -x "$AMPSIM_FUZZ_ROOT/bin/cargo-fuzz" ]; then
  log "building cargo-fuzz $AMPSIM_CARGO_FUZZ_VERSION (~1 min, once)"
  cargo install --locked --quiet cargo-fuzz --version "$AMPSIM_CARGO_FUZZ_VERSION" --root "$AMPSIM_FUZZ_ROOT"
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  log "installing the nightly toolchain (cargo-fuzz needs it)"
  rustup toolchain install nightly --profile minimal
fi

# --- 4. kernelspec ----------------------------------------------------------------------------
mkdir -p "$AMPSIM_EVCXR_TMPDIR"
# evcxr loads each cell as a shared library linked to Rust's dynamic std. Its RUNPATH is
# computed for cargo's deps/ folder, one level below where evcxr loads it from, so it misses
# when the build folder and ~/.rustup share a parent (both under $HOME): name std's folder.
rust_std_lib="$(rustc --print target-libdir)"
spec_json="$(python3 - <<PY
import json
print(json.dumps({
    "argv": ["$AMPSIM_EVCXR_ROOT/bin/evcxr_jupyter", "--control_file", "{connection_file}"],
    "display_name": "Rust (ampsim)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {
        "LIBTORCH_USE_PYTORCH": "${LIBTORCH_USE_PYTORCH:-}",
        "LIBTORCH": "${LIBTORCH:-}",
        "VIRTUAL_ENV": "$AMPSIM_VENV",
        "PATH": "$AMPSIM_VENV/bin:$AMPSIM_EVCXR_ROOT/bin:$(dirname "$(command -v cargo)"):/usr/local/bin:/usr/bin:/bin",
        "LD_LIBRARY_PATH": "$AMPSIM_TORCH_LIB:$rust_std_lib",
        "EVCXR_TMPDIR": "$AMPSIM_EVCXR_TMPDIR",
    },
}, indent=1))
PY
)"
# Empty values would shadow the defaults: drop them.
spec_json="$(printf '%s' "$spec_json" | python3 -c 'import json,sys; s=json.load(sys.stdin); s["env"]={k:v for k,v in s["env"].items() if v}; print(json.dumps(s, indent=1))')"
# Into the venv (used by make notebooks/test/lab) and the user's Jupyter data dir (any JupyterLab).
for dir in "$AMPSIM_VENV/share/jupyter/kernels/$AMPSIM_KERNEL_NAME" "$("$AMPSIM_VENV/bin/jupyter" --data-dir)/kernels/$AMPSIM_KERNEL_NAME"; do
  mkdir -p "$dir"
  if [ "$(cat "$dir/kernel.json" 2>/dev/null)" != "$spec_json" ]; then
    printf '%s\n' "$spec_json" > "$dir/kernel.json.tmp" && mv "$dir/kernel.json.tmp" "$dir/kernel.json"
    log "kernelspec $AMPSIM_KERNEL_NAME written to $dir"
  fi
done
log "ready: venv $AMPSIM_VENV, evcxr $AMPSIM_EVCXR_ROOT/bin/evcxr_jupyter, kernel $AMPSIM_KERNEL_NAME"

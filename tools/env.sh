# Sourced by the Makefile and tools/setup.sh: where ampsim's heavy, version-keyed installs live
# and the environment that building and running against libtorch needs.
#
#   AMPSIM_CACHE   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/ampsim), shared by
#                  every checkout of the project, kept between runs.
#   LIBTORCH       if set, build and run against this libtorch instead of PyPI's torch wheel.

AMPSIM_TORCH_VERSION=2.13.0
AMPSIM_EVCXR_VERSION=0.22.0
AMPSIM_CARGO_FUZZ_VERSION=0.13.2
AMPSIM_CACHE="${AMPSIM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ampsim}"
AMPSIM_PYVER="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
AMPSIM_VENV="$AMPSIM_CACHE/venv-py$AMPSIM_PYVER-torch$AMPSIM_TORCH_VERSION"
AMPSIM_EVCXR_ROOT="$AMPSIM_CACHE/evcxr-$AMPSIM_EVCXR_VERSION"
AMPSIM_FUZZ_ROOT="$AMPSIM_CACHE/cargo-fuzz-$AMPSIM_CARGO_FUZZ_VERSION"
AMPSIM_KERNEL_NAME=ampsim-rust
# evcxr's build directory: kept, so dependencies compile once for all notebooks and runs.
AMPSIM_EVCXR_TMPDIR="$AMPSIM_CACHE/evcxr-build-torch$AMPSIM_TORCH_VERSION"

export VIRTUAL_ENV="$AMPSIM_VENV"
case ":$PATH:" in
  *":$AMPSIM_VENV/bin:"*) ;;
  *) export PATH="$AMPSIM_VENV/bin:$AMPSIM_EVCXR_ROOT/bin:$AMPSIM_FUZZ_ROOT/bin:$PATH" ;;
esac
if [ -n "${LIBTORCH:-}" ]; then
  AMPSIM_TORCH_LIB="$LIBTORCH/lib"
  unset LIBTORCH_USE_PYTORCH
else
  AMPSIM_TORCH_LIB="$AMPSIM_VENV/lib/python$AMPSIM_PYVER/site-packages/torch/lib"
  export LIBTORCH_USE_PYTORCH=1
fi
case ":${LD_LIBRARY_PATH:-}:" in
  *":$AMPSIM_TORCH_LIB:"*) ;;
  *) export LD_LIBRARY_PATH="$AMPSIM_TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ;;
esac
# Jupyter looks in JUPYTER_PATH before the user's data folder: make's runs use this venv's
# kernelspec even when another checkout or cache wrote a newer one there.
case ":${JUPYTER_PATH:-}:" in
  *":$AMPSIM_VENV/share/jupyter:"*) ;;
  *) export JUPYTER_PATH="$AMPSIM_VENV/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}" ;;
esac
export AMPSIM_CACHE AMPSIM_VENV AMPSIM_EVCXR_ROOT AMPSIM_FUZZ_ROOT AMPSIM_KERNEL_NAME AMPSIM_EVCXR_TMPDIR AMPSIM_TORCH_LIB

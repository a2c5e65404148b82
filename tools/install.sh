#!/usr/bin/env bash
# `make install`: the `ampsim` command in PREFIX/bin and the plugin library it copies into
# plugins in PREFIX/lib/ampsim/ (each replaced atomically). The binary carries the path of the
# libtorch it was built against (ampsim-cli/build.rs), so it runs from any shell without
# tools/env.sh; that libtorch is the project's cached venv (or $LIBTORCH): keep it.
#   tools/install.sh PREFIX
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${1:?usage: tools/install.sh PREFIX}"
cd "$root"
. tools/env.sh
# The build the tests and notebooks use (the engine inside is always fully optimised).
cargo build --quiet -p ampsim-cli
cargo build --quiet --release -p ampsim-plugin
put() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$"
  chmod 755 "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}
put target/debug/ampsim "$prefix/bin/ampsim"
put target/release/libampsim_plugin.so "$prefix/lib/ampsim/libampsim_plugin.so"
echo "installed $prefix/bin/ampsim (libtorch from $(readelf -d "$prefix/bin/ampsim" | sed -n 's/.*runpath: \[\(.*\)\]/\1/p'))"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "add $prefix/bin to your PATH (e.g. in ~/.profile: export PATH=\"$prefix/bin:\$PATH\")" ;; esac

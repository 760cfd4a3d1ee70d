#!/usr/bin/env bash
# Builds the example adapter with the C SDK: ./build.sh [out.wasm]
# (default build/example.wasm). Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build/example.wasm}
mkdir -p "$(dirname "$out")"
# Compiled with -O2, linked without -O: given one at the link, clang runs binaryen's wasm-opt on
# the module where it is installed, and the module (and the SHA-256 an adapter's XML pins) would
# depend on whether the building machine has it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objs=()
for f in "$here/src/realmgate.c" "$here/src/json.c" "$here/src/pki.c" \
	"$here/conformance/realmgate_conformance.c" "$here/example/example.c"; do
	"${CC:-clang}" --target=wasm32-wasi -mbulk-memory -O2 -std=c11 -Wall -Wextra -Werror -I"$here/include" -I"$here/conformance" -c "$f" -o "$tmp/$(basename "$f" .c).o"
	objs+=("$tmp/$(basename "$f" .c).o")
done
"${CC:-clang}" --target=wasm32-wasi -mexec-model=reactor "${objs[@]}" -Wl,--strip-debug -Wl,-z,stack-size=262144 -o "$out"

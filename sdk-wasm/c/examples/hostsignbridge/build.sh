#!/usr/bin/env bash
# Builds the host-signing PKI bridge with the C SDK: ./build.sh [out.wasm]
# (default build/hostsignbridge.wasm) and prints the module's SHA-256, the value to pin in the
# adapter's XML. Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32
# (.ci/install-wasm-sdks.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sdk=$(cd "$here/../.." && pwd)
out=${1:-$here/build/hostsignbridge.wasm}
mkdir -p "$(dirname "$out")"
# Compiled with -O2, linked without -O: given one at the link, clang runs binaryen's wasm-opt on
# the module where it is installed, and the module (and the SHA-256 an adapter's XML pins) would
# depend on whether the building machine has it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objs=()
for f in "$sdk/src/realmgate.c" "$sdk/src/json.c" "$sdk/src/pki.c" \
	"$sdk/conformance/realmgate_conformance.c" "$here/hostsignbridge.c"; do
	"${CC:-clang}" --target=wasm32-wasi -mbulk-memory -O2 -std=c11 -Wall -Wextra -Werror -I"$sdk/include" -I"$sdk/conformance" -c "$f" -o "$tmp/$(basename "$f" .c).o"
	objs+=("$tmp/$(basename "$f" .c).o")
done
"${CC:-clang}" --target=wasm32-wasi -mexec-model=reactor "${objs[@]}" -Wl,--strip-debug -Wl,-z,stack-size=262144 -o "$out"
sha256sum "$out"

#!/usr/bin/env bash
# Compiles an adapter's C sources with the SDK into one wasm reactor module:
#
#   ./cc-wasm.sh OUT.wasm SOURCE.c...
#
# (the SDK's own sources and its conformance procedures are added). Needs Debian's clang, lld,
# wasi-libc and libclang-rt-dev-wasm32 (.ci/install-wasm-sdks.sh). The sources are compiled with
# -O2 and linked without -O: given one at the link, clang runs binaryen's wasm-opt on the module
# where it is installed, and the module (and the SHA-256 an adapter's XML pins) would depend on
# whether the building machine has it.
set -euo pipefail
sdk=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: cc-wasm.sh OUT.wasm SOURCE.c...}
shift
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
objs=()
for f in "$sdk/src/realmgate.c" "$sdk/src/json.c" "$sdk/src/pki.c" "$sdk/conformance/realmgate_conformance.c" "$@"; do
	"${CC:-clang}" --target=wasm32-wasi -mbulk-memory -O2 -std=c11 -Wall -Wextra -Werror -I"$sdk/include" -I"$sdk/conformance" \
		-c "$f" -o "$tmp/$(basename "$f" .c).o"
	objs+=("$tmp/$(basename "$f" .c).o")
done
"${CC:-clang}" --target=wasm32-wasi -mexec-model=reactor "${objs[@]}" -Wl,--strip-debug -Wl,-z,stack-size=262144 -o "$out"

#!/usr/bin/env bash
# Builds the example adapter with the C SDK: ./build.sh [out.wasm]
# (default build/example.wasm). Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build/example.wasm}
mkdir -p "$(dirname "$out")"
"${CC:-clang}" --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -std=c11 \
	-Wall -Wextra -Werror -I"$here/include" -I"$here/conformance" \
	"$here/src/realmgate.c" "$here/src/json.c" "$here/src/pki.c" \
	"$here/conformance/realmgate_conformance.c" "$here/example/example.c" \
	-Wl,--strip-debug -Wl,-z,stack-size=262144 -o "$out"

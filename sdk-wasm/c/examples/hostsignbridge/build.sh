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
"${CC:-clang}" --target=wasm32-wasi -mexec-model=reactor -mbulk-memory -O2 -std=c11 \
	-Wall -Wextra -Werror -I"$sdk/include" -I"$sdk/conformance" \
	"$sdk/src/realmgate.c" "$sdk/src/json.c" "$sdk/src/pki.c" \
	"$sdk/conformance/realmgate_conformance.c" "$here/hostsignbridge.c" \
	-Wl,--strip-debug -Wl,-z,stack-size=262144 -o "$out"
sha256sum "$out"

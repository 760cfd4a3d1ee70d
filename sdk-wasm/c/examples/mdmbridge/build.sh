#!/usr/bin/env bash
# Builds the MDM activation-code bridge with the C SDK: ./build.sh [out.wasm]
# (default build/mdmbridge.wasm) and prints the module's SHA-256, the value to pin in the
# adapter's XML. Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32
# (.ci/install-wasm-sdks.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sdk=$(cd "$here/../.." && pwd)
out=${1:-$here/build/mdmbridge.wasm}
"$sdk/cc-wasm.sh" "$out" "$here/mdmbridge.c"
sha256sum "$out"

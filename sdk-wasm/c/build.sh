#!/usr/bin/env bash
# Builds the example adapter with the C SDK: ./build.sh [out.wasm]
# (default build/example.wasm). Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build/example.wasm}
"$here/cc-wasm.sh" "$out" "$here/example/example.c"

#!/usr/bin/env bash
# Builds the example adapter with the AssemblyScript SDK: ./build.sh [out.wasm]
# (default build/example.wasm). Installs the locked compiler (npm ci) when node_modules is
# missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build/example.wasm}
mkdir -p "$(dirname "$out")"
cd "$here"
if [[ ! -x node_modules/.bin/asc ]]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
node_modules/.bin/asc assembly/example.ts --outFile "$out" \
	--optimize --runtime incremental

#!/usr/bin/env bash
# Installs the toolchains the wasm guest SDK tests build with (sdk-wasm/sdktest): C (clang, lld,
# wasi-libc), Rust from Debian (its std for wasm32-wasi and the serde crates, used offline) and
# AssemblyScript from npm (the version pinned in sdk-wasm/assemblyscript/package-lock.json).
# Idempotent and non-interactive.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
	clang lld wasi-libc libclang-rt-dev-wasm32
	rustc cargo libstd-rust-dev-wasm32
	librust-serde-dev librust-serde-derive-dev librust-serde-json-dev
	nodejs npm
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere than Debian (e.g. a preinstalled Node.js).
if command -v node >/dev/null && command -v npm >/dev/null; then
	filtered=()
	for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || filtered+=("$p"); done
	missing=("${filtered[@]}")
fi

. "$(dirname "$0")/apt.sh"

if ((${#missing[@]})); then
	apt_get update
	apt_get install -y --no-install-recommends "${missing[@]}"
fi

# AssemblyScript compiler, exactly as locked (skipped when that version is already installed).
cd sdk-wasm/assemblyscript
want=$(node -p "require('./package.json').devDependencies.assemblyscript")
have=$(node -p "try { require('./node_modules/assemblyscript/package.json').version } catch { '' }")
if [[ "$have" != "$want" || ! -x node_modules/.bin/asc ]]; then
	npm ci --no-audit --no-fund --loglevel=error
fi

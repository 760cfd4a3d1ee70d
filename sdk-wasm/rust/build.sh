#!/usr/bin/env bash
# Builds the example adapter with the Rust SDK: ./build.sh [out.wasm]
# (default build/example.wasm). Uses Debian's rustc and cargo (/usr/bin) offline against
# /usr/share/cargo/registry (see .cargo/config.toml), not a rustup toolchain.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build/example.wasm}
mkdir -p "$(dirname "$out")"
cd "$here"
# Debian's cargo also needs Debian's rustc; keep rustup's shims out of the way.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
unset RUSTUP_TOOLCHAIN CARGO_BUILD_TARGET
/usr/bin/cargo build --offline --release --target wasm32-wasi -p realmgate-example
cp target/wasm32-wasi/release/realmgate_example.wasm "$out"

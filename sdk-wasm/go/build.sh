#!/usr/bin/env bash
# Builds a Go wasm adapter module with the Realmgate Go SDK.
#
#   sdk-wasm/go/build.sh PACKAGE_DIR [OUTPUT.wasm]
#
# PACKAGE_DIR is the adapter's main package; OUTPUT defaults to <package name>.wasm in the
# current directory. Prints the module's SHA-256, the value to pin in the adapter's
# configuration.
set -euo pipefail
if [[ $# -lt 1 || $# -gt 2 ]]; then
	echo "usage: $0 PACKAGE_DIR [OUTPUT.wasm]" >&2
	exit 2
fi
dir=$1
out=${2:-$(basename "$(cd "$dir" && pwd)").wasm}
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac
(cd "$dir" && GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 go build -buildmode=c-shared -trimpath -o "$out" .)
sha256sum "$out"

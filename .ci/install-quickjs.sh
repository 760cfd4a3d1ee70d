#!/usr/bin/env bash
# Installs the QuickJS source the JavaScript engine module is built from (adapters/js/quickjs):
# Debian's source tarball of QuickJS 2025-04-26, checked against its SHA-256 and unpacked under
# /opt/realmgate/quickjs (REALMGATE_QUICKJS_DIR overrides), plus the C toolchain for wasm (clang,
# lld, wasi-libc, the wasm32 compiler runtime). Idempotent and quiet.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

version=2025.04.26
sha256=ec81da5b3249ed648dbc7df4a1654988910e66a118d9b71cb63534216efcfbbe
url=http://deb.debian.org/debian/pool/main/q/quickjs/quickjs_${version}.orig.tar.xz
root=${REALMGATE_QUICKJS_DIR:-/opt/realmgate/quickjs}
src=$root/quickjs-$version

packages=(clang lld wasi-libc libclang-rt-dev-wasm32 curl xz-utils ca-certificates)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	apt_get -qq update
	apt_get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

# The unpacked tree is trusted only when it was unpacked from the checked tarball: the marker
# holds the tarball's digest.
if [[ -f $src/.realmgate-sha256 && $(cat "$src/.realmgate-sha256") == "$sha256" && -f $src/quickjs.c ]]; then
	exit 0
fi
mkdir -p "$root"
tmp=$(mktemp -d "$root/.download-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
curl -fsS --retry 3 -o "$tmp/quickjs.tar.xz" "$url"
echo "$sha256  $tmp/quickjs.tar.xz" | sha256sum --check --quiet
tar -C "$tmp" -xJf "$tmp/quickjs.tar.xz"
echo "$sha256" >"$tmp/quickjs-$version/.realmgate-sha256"
rm -rf "$src"
mv "$tmp/quickjs-$version" "$src"

#!/usr/bin/env bash
# Builds the JavaScript engine module of Realmgate's JavaScript adapters: QuickJS with the C SDK
# (sdk-wasm/c), the glue (engine.c) and the WL prelude (prelude.js), as a wasm reactor.
#
#   ./build.sh OUT.wasm
#
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32, and the QuickJS source that
# .ci/install-quickjs.sh unpacks (checked against its SHA-256) under /opt/realmgate/quickjs; set
# REALMGATE_QUICKJS_SRC to use another copy of the same release.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sdk=$(cd "$here/../../../sdk-wasm/c" && pwd)
out=${1:?usage: build.sh OUT.wasm}
qjs=${REALMGATE_QUICKJS_SRC:-/opt/realmgate/quickjs/quickjs-2025.04.26}
if [[ ! -f $qjs/quickjs.c ]]; then
	echo "build.sh: no QuickJS source at $qjs: run .ci/install-quickjs.sh (or set REALMGATE_QUICKJS_SRC)" >&2
	exit 1
fi
cc=${CC:-clang}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# QuickJS includes <setjmp.h>, which wasi-libc lacks (no exception handling); it uses none of it.
mkdir -p "$tmp/include"
: >"$tmp/include/setjmp.h"

# The prelude, as a C array.
{
	echo '#include <stddef.h>'
	echo 'const char rg_prelude[] = {'
	od -An -v -tx1 "$here/prelude.js" | sed -E 's/ *([0-9a-f]{2})/0x\1,/g'
	echo '0};'
	echo "const size_t rg_prelude_len = sizeof rg_prelude - 1;"
} >"$tmp/prelude.c"

# The file names that assert() keeps lose the folders they were built in, so that the module is
# the same from any checkout, any QuickJS location and any temporary folder.
target=(--target=wasm32-wasi -mbulk-memory -O2 "-ffile-prefix-map=$tmp/=" "-ffile-prefix-map=$qjs/=" "-ffile-prefix-map=$here/=" "-ffile-prefix-map=$sdk/=")
# -DEMSCRIPTEN drops what needs threads (Atomics, the class-id mutex) and computed gotos;
# CONFIG_STACK_CHECK, which it also drops, is restored so that a runaway recursion is a
# RangeError, never a C stack overflow into linear memory.
qflags=(-DEMSCRIPTEN -DCONFIG_STACK_CHECK -D_GNU_SOURCE -DCONFIG_VERSION=\"2025-04-26\" -D_WASI_EMULATED_SIGNAL
	'-DRG_LOAD8(p)=({ uint64_t w_; memcpy(&w_, (p), 8); w_; })' '-DRG_ASCII8(p)=!(RG_LOAD8(p) & 0x8080808080808080ull)'
	'-DRG_ASCII32(p)=!((RG_LOAD8(p) | RG_LOAD8((p) + 8) | RG_LOAD8((p) + 16) | RG_LOAD8((p) + 24)) & 0x8080808080808080ull)'
	-I"$tmp/include" -I"$qjs" -w)
# A runaway recursion throws what other JavaScript engines throw, a RangeError, where QuickJS
# throws an InternalError: a change to QuickJS's source, made on a copy.
# And a speed-up that changes no behaviour: every loop iteration costs an exit to the host under
# the sandbox's termination check, so the two scans of every string that crosses between C and
# JavaScript (count_ascii in JS_NewStringLen, the count of non-ASCII bytes in JS_ToCStringLen2)
# pass over 32 or 8 ASCII bytes at once. And add_property, where every property of an object begins,
# counts those of the global object in rg_global_adds (engine.c), which tells the prelude when
# a call may have created a global without a walk of the global object's names.
gadd='extern unsigned int rg_global_adds; if (p == JS_VALUE_GET_OBJ(ctx->global_obj)) rg_global_adds++;'
# RG_ASCII8/RG_ASCII32 (qflags) say whether the 8 or 32 bytes at p are ASCII.
skip8='if (len - pos >= 33 \&\& RG_ASCII32(src + pos + 1)) pos += 32; else if (len - pos >= 9 \&\& RG_ASCII8(src + pos + 1)) pos += 8;'
ascii8='while (p_end - p >= 32 \&\& RG_ASCII32(p)) p += 32; while (p_end - p >= 8 \&\& RG_ASCII8(p)) p += 8;'
sed -e 's/JS_ThrowInternalError(ctx, "stack overflow")/JS_ThrowRangeError(ctx, "Maximum call stack size exceeded")/' \
	-e "s/^    while (p < p_end \&\& \*p < 128)\$/    $ascii8 while (p < p_end \&\& *p < 128)/" \
	-e "s/^            count += src\[pos\] >> 7;\$/            count += src[pos] >> 7; $skip8/" \
	-e "/^                                JSObject \*p, JSAtom prop, int prop_flags)\$/{n;s/^{\$/{ $gadd/}" \
	"$qjs/quickjs.c" >"$tmp/quickjs.c"
if ! grep -q 'JS_ThrowRangeError(ctx, "Maximum call stack size exceeded")' "$tmp/quickjs.c" ||
	[[ $(grep -c 'p += 8; while (p < p_end && \*p < 128)$' "$tmp/quickjs.c") != 1 ]] ||
	[[ $(grep -c 'count += src\[pos\] >> 7; if (len - pos >= 33 ' "$tmp/quickjs.c") != 1 ]] ||
	[[ $(grep -c '^{ extern unsigned int rg_global_adds;' "$tmp/quickjs.c") != 1 ]]; then
	echo "build.sh: $qjs/quickjs.c is not the QuickJS release this build expects" >&2
	exit 1
fi
objs=()
for f in "$tmp/quickjs.c" "$qjs/libregexp.c" "$qjs/libunicode.c" "$qjs/cutils.c" "$qjs/dtoa.c"; do
	"$cc" "${target[@]}" "${qflags[@]}" -c "$f" -o "$tmp/$(basename "$f" .c).o" &
	objs+=("$tmp/$(basename "$f" .c).o")
done
wait
for f in "$sdk/src/realmgate.c" "$sdk/src/json.c"; do
	"$cc" "${target[@]}" -std=c11 -Wall -Wextra -Werror -I"$sdk/include" -c "$f" -o "$tmp/$(basename "$f" .c).o"
	objs+=("$tmp/$(basename "$f" .c).o")
done
"$cc" "${target[@]}" -std=gnu11 -Wall -Wextra -Werror -I"$sdk/include" -I"$sdk/src" -isystem "$qjs" -c "$here/engine.c" -o "$tmp/engine.o"
"$cc" "${target[@]}" -c "$tmp/prelude.c" -o "$tmp/prelude.o"
objs+=("$tmp/engine.o" "$tmp/prelude.o")
# The link step has no -O flag: given one, clang runs binaryen's wasm-opt on the module when it
# finds it installed, so the module (and the SHA-256 that jsEngineSHA256 pins) would depend on
# whether the building machine happens to have binaryen.
"$cc" --target=wasm32-wasi -mbulk-memory -mexec-model=reactor "${objs[@]}" -lwasi-emulated-signal -Wl,--strip-debug -Wl,-z,stack-size=1048576 -o "$tmp/engine.wasm"
mv "$tmp/engine.wasm" "$out"

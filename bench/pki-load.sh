#!/usr/bin/env bash
# Certificate issuance under load: hostd provisioning devices end to end (built-in CA, wasm PKI
# bridge, go-plugin PKI bridge) and signing them in, against cfssl serve signing the same kind of
# CSRs with the same CA key type, workers and duration (bench/certload). Needs cfssl (Debian
# golang-cfssl: .ci/install-cfssl.sh) and, for the C bridge, clang for wasm
# (.ci/install-wasm-sdks.sh).
# Usage: bench/pki-load.sh [duration per target, default 10s] [workers, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
workers=${2:-8}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT

go build -o "$work/hostd" ./hostd
go build -o "$work/certload" ./bench/certload
cp -r bench/pki-project "$work/project"
go build -o "$work/project/adapters/PluginBridge/pkibridge" ./plugins/examples/pkibridge
sdk-wasm/go/build.sh sdk-wasm/go/examples/pkibridge "$work/project/adapters/GoBridge/pkibridge.wasm" >/dev/null
sdk-wasm/c/examples/hostsignbridge/build.sh "$work/project/adapters/CBridge/hostsignbridge.wasm" >/dev/null

# One ECDSA P-256 CA for cfssl and the bridges (the wasm bridge's held by the host, in the data
# folder; the plugin's in its settings); the built-in CA is P-256 too.
(cd "$work" && echo '{"CN":"Load CA","key":{"algo":"ecdsa","size":256}}' | cfssl gencert -initca - 2>/dev/null | cfssljson -bare ca)
openssl pkcs8 -topk8 -nocrypt -in "$work/ca-key.pem" -out "$work/ca-key8.pem"
esc() { sed ':a;N;$!ba;s/\n/\&#10;/g' "$1"; }
for a in GoBridge:pkibridge.wasm CBridge:hostsignbridge.wasm PluginBridge:pkibridge; do
	name=${a%%:*}; file=${a##*:}
	sum=$(sha256sum "$work/project/adapters/$name/$file" | cut -d' ' -f1)
	cacert=$(esc "$work/ca.pem"); cakey=$(esc "$work/ca-key8.pem")
	python3 - "$work/project/adapters/$name/$name.xml.tmpl" "$sum" "$cacert" "$cakey" <<'PY'
import sys
p, sha, cert, key = sys.argv[1:]
s = open(p).read().replace("{{SHA256}}", sha).replace("{{CACERT}}", cert).replace("{{CAKEY}}", key)
open(p[:-5], "w").write(s)
PY
	rm "$work/project/adapters/$name/$name.xml.tmpl"
done
"$work/hostd" ca init --data "$work/data" >/dev/null
# The wasm bridge signs through the host with the same CA, kept in the data folder.
install -d -m 0700 "$work/data/bridge-ca"
install -m 0644 "$work/ca.pem" "$work/data/bridge-ca/ca.pem"
install -m 0600 "$work/ca-key8.pem" "$work/data/bridge-ca/ca-key.pem"

cfssl serve -address 127.0.0.1 -port 18281 -ca "$work/ca.pem" -ca-key "$work/ca-key.pem" >"$work/cfssl.log" 2>&1 &
"$work/hostd" serve --config "$work/project" --data "$work/data" --listen 127.0.0.1:18280 --log-level warn >"$work/hostd.log" 2>&1 &
for _ in $(seq 1 120); do
	curl -sf 127.0.0.1:18280/readyz >/dev/null && curl -sf -o /dev/null -X POST -d '{}' 127.0.0.1:18281/api/v1/cfssl/info && break
	sleep 0.5
done
# Five interleaved rounds: on a shared machine the load drifts within a run, and a ratio of two
# targets measured minutes apart says more about the drift than about the targets.
"$work/certload" -hostd http://127.0.0.1:18280 -cfssl http://127.0.0.1:18281 -c "$workers" -d "$dur" -rounds 5

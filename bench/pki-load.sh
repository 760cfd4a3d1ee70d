#!/usr/bin/env bash
# Certificate issuance under load: hostd provisioning devices end to end (built-in CA, wasm PKI
# bridge, go-plugin PKI bridge) and signing them in, against cfssl serve signing the same kind of
# CSRs with the same CA key type, workers and duration (bench/certload). Needs cfssl (Debian
# golang-cfssl: .ci/install-cfssl.sh), openssl (bench/prepare-project.sh) and, for the C bridge,
# clang for wasm (.ci/install-wasm-sdks.sh). With PKI_LOAD_STORE=postgres, hostd runs on a
# throwaway PostgreSQL cluster (bench/lib.sh; .ci/install-postgres.sh) instead of its
# embedded store.
# Each target's line also gives the CPU time its server (hostd, or cfssl) spent per operation, read
# from /proc (a go-plugin bridge's with hostd's; on PostgreSQL, the database server's beside): the
# figure that does not depend on the load tool sharing the server's cores.
# PKI_LOAD_ONLY=TEXT runs only the targets whose names hold TEXT (cfssl's always runs: the ratios
# are against it); PKI_LOAD_HOSTD=FILE measures that hostd binary instead of the checkout's (an
# earlier build, for a before and after in the same conditions).
# Usage: [PKI_LOAD_STORE=postgres] bench/pki-load.sh [duration per target, default 10s] [workers, default 8]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
workers=${2:-8}
source bench/lib.sh # $work, removed on exit with the servers stopped

if [[ -n ${PKI_LOAD_HOSTD:-} ]]; then
	cp "$PKI_LOAD_HOSTD" "$work/hostd"
else
	go build -o "$work/hostd" ./hostd
fi
go build -o "$work/certload" ./bench/certload
# One ECDSA P-256 CA for cfssl and the bridges (the wasm bridges' held by the host, in the data
# folder; the plugin's in its settings); the built-in CA is P-256 too.
(cd "$work" && echo '{"CN":"Load CA","key":{"algo":"ecdsa","size":256}}' | cfssl gencert -initca - 2>/dev/null | cfssljson -bare ca)
bench/prepare-project.sh "$work" >/dev/null
cp -r "$work/bridge-data" "$work/data"
"$work/hostd" ca init --data "$work/data" >/dev/null
db_pid=()
if [[ ${PKI_LOAD_STORE:-sqlite} == postgres ]]; then
	start_postgres "$work/pg" 18282 >"$work/dsn"
	db_pid=(-db-pid "$(head -1 "$work/pg/data/postmaster.pid")")
	chmod 600 "$work/dsn"
	printf 'store:\n  driver: postgres\n  dsnFile: %s\ntokens:\n  issuer: http://127.0.0.1:18280\n' "$work/dsn" >>"$work/project/hostd.yaml"
fi

for port in 18280 18281; do
	if curl -s -o /dev/null 127.0.0.1:$port; then
		echo "pki-load.sh: 127.0.0.1:$port is taken by another server; stop it first" >&2
		exit 1
	fi
done
cfssl serve -address 127.0.0.1 -port 18281 -ca "$work/ca.pem" -ca-key "$work/ca-key.pem" >"$work/cfssl.log" 2>&1 &
cfssl_pid=$!
"$work/hostd" serve --config "$work/project" --data "$work/data" --listen 127.0.0.1:18280 --log-level warn >"$work/hostd.log" 2>&1 &
hostd_pid=$!
for _ in $(seq 1 120); do
	curl -sf 127.0.0.1:18280/readyz >/dev/null && curl -sf -o /dev/null -X POST -d '{}' 127.0.0.1:18281/api/v1/cfssl/info && break
	sleep 0.5
done
if ! curl -sf 127.0.0.1:18280/readyz >/dev/null; then
	echo "pki-load.sh: hostd did not become ready:" >&2
	tail -20 "$work/hostd.log" >&2
	exit 1
fi
# Five interleaved rounds: on a shared machine the load drifts within a run, and a ratio of two
# targets measured minutes apart says more about the drift than about the targets.
only=()
[[ -z ${PKI_LOAD_ONLY:-} ]] || only=(-only "$PKI_LOAD_ONLY")
"$work/certload" -hostd http://127.0.0.1:18280 -cfssl http://127.0.0.1:18281 -c "$workers" -d "$dur" -rounds 5 \
	-hostd-pid "$hostd_pid" -cfssl-pid "$cfssl_pid" "${db_pid[@]}" "${only[@]}"

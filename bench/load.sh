#!/usr/bin/env bash
# Load test of a running hostd against its peers, measured in the same run with the same wrk
# settings (wrk from Debian: apt-get install wrk):
#   - a full protected request (session, passive realms, decision)   vs OPA's own server (opa run
#     --server) answering the same compiled policy for the same input;
#   - POST /oauth/validation                                          vs GET /healthz (the floor of
#     an HTTP request to hostd).
# With LOAD_STORE=postgres, hostd runs on a throwaway PostgreSQL cluster (bench/lib.sh;
# .ci/install-postgres.sh) instead of its embedded store.
# Usage: [LOAD_STORE=postgres] bench/load.sh [duration, default 10s] [connections, default 16]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
conns=${2:-16}
source bench/lib.sh # $work, removed on exit with the servers stopped

go build -o "$work/hostd" ./hostd
# OPA's command at the version go.mod requires, built as its own module: its command needs
# modules (the server's, the CLI's) that this module does not, and go.sum lists only ours.
GOBIN=$work go install "github.com/open-policy-agent/opa@$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)"
go run ./hostd policy compile --config examples/banking --out "$work/rego" >/dev/null
cp examples/banking/policies/*.rego "$work/rego/"
cp examples/banking/hostd.yaml "$work/hostd.yaml"
if [[ ${LOAD_STORE:-sqlite} == postgres ]]; then
	start_postgres "$work/pg" 18182 >"$work/dsn"
	chmod 600 "$work/dsn"
	printf 'store:\n  driver: postgres\n  dsnFile: %s\ntokens:\n  issuer: http://127.0.0.1:18180\n' "$work/dsn" >>"$work/hostd.yaml"
fi

for port in 18180 18181; do
	if curl -s -o /dev/null 127.0.0.1:$port; then
		echo "load.sh: 127.0.0.1:$port is taken by another server; stop it first" >&2
		exit 1
	fi
done
"$work/hostd" serve --config examples/banking --settings "$work/hostd.yaml" --data "$work/data" --listen 127.0.0.1:18180 --log-level warn >"$work/hostd.log" 2>&1 &
"$work/opa" run --server --addr 127.0.0.1:18181 --log-level error "$work/rego" >"$work/opa.log" 2>&1 &
for _ in $(seq 1 120); do curl -sf 127.0.0.1:18180/readyz >/dev/null && curl -sf 127.0.0.1:18181/health >/dev/null && break; sleep 0.5; done
if ! curl -sf 127.0.0.1:18180/readyz >/dev/null || ! curl -sf 127.0.0.1:18181/health >/dev/null; then
	echo "load.sh: hostd or OPA did not become ready:" >&2
	tail -n 20 "$work/hostd.log" "$work/opa.log" >&2
	exit 1
fi

eval "$(go run ./bench/loadprep --url http://127.0.0.1:18180)"

cat >"$work/hostd.lua" <<LUA
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["WL-App-Id"] = "BankApp"
wrk.headers["WL-App-Environment"] = "mobilewebapp"
wrk.headers["WL-App-Version"] = "2.1.0"
wrk.headers["WL-Instance-Id"] = "$XSRF"
wrk.headers["Cookie"] = "$COOKIE"
LUA
cat >"$work/opa.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[$OPA_INPUT]]
LUA
cat >"$work/validation.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "token=$TOKEN&scope=webTests"
LUA

# Sanity: each target answers what it should.
curl -sf -X POST -H "WL-App-Id: BankApp" -H "WL-App-Environment: mobilewebapp" -H "WL-App-Version: 2.1.0" \
	-H "WL-Instance-Id: $XSRF" -H "Cookie: $COOKIE" 127.0.0.1:18180/api/v1/apps/BankApp/mobilewebapp/init | grep -q '"user"'
curl -sf -X POST -d "$OPA_INPUT" 127.0.0.1:18181/v1/data/realmgate/decision | grep -q '"allow"'
curl -sf -X POST -d "token=$TOKEN&scope=webTests" 127.0.0.1:18180/oauth/validation | grep -q '"active":true'

rps() { wrk -t2 -c"$conns" -d"$dur" "$@" | awk '/Requests\/sec/ {print $2}'; }
protected=$(rps -s "$work/hostd.lua" http://127.0.0.1:18180/api/v1/apps/BankApp/mobilewebapp/init)
opa=$(rps -s "$work/opa.lua" http://127.0.0.1:18181/v1/data/realmgate/decision)
validation=$(rps -s "$work/validation.lua" http://127.0.0.1:18180/oauth/validation)
healthz=$(rps http://127.0.0.1:18180/healthz)

printf '%-34s %10s req/s\n' "hostd protected request" "$protected" "opa run --server, same decision" "$opa" \
	"hostd /oauth/validation" "$validation" "hostd /healthz" "$healthz"
awk -v a="$protected" -v b="$opa" 'BEGIN {printf "protected request / OPA server: %.2fx the throughput\n", a/b}'
awk -v a="$validation" -v b="$healthz" 'BEGIN {printf "validation / healthz:           %.2fx the throughput\n", a/b}'

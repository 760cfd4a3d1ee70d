#!/usr/bin/env bash
# The load tool (bench/hostdload) against three deployments of the load-test project, one after
# the other in the same run, with the same flags, so that their figures compare:
#   sqlite     one daemon on its embedded store;
#   postgres   one daemon on PostgreSQL;
#   balancer   two daemons on that PostgreSQL behind HAProxy (round robin, no stickiness).
# Each flow runs alone (-each) for the duration given; the summary gives each flow's rate on
# each deployment and the ratios to the embedded store.
# Needs go, openssl, curl, python3, PostgreSQL's server binaries (.ci/install-postgres.sh) and
# HAProxy (.ci/install-haproxy.sh).
# Usage: bench/cluster-load.sh [duration per flow, default 3s] [workers, default 8] [flows, default all]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-3s}
workers=${2:-8}
flows=${3:-all}
source bench/lib.sh # $work, removed on exit with the servers stopped

for port in 18580 18581 18582 18590 18591; do
	if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "cluster-load.sh: 127.0.0.1:$port is taken; stop what listens there" >&2
		exit 1
	fi
done
go build -o "$work/hostd" ./hostd
go build -o "$work/hostdload" ./bench/hostdload
bench/prepare-project.sh "$work" >/dev/null
"$work/hostd" ca init --data "$work/shared" >/dev/null
dsn=$(start_postgres "$work/pg" 18591)
mkdir -p "$work/secrets"
echo "$dsn" >"$work/secrets/dsn"
chmod 600 "$work/secrets/dsn"

issuer=http://127.0.0.1:18590
serve() { # NAME ADDR SETTINGS
	local name=$1 addr=$2
	mkdir -p "$work/$name"
	cp -r "$work/project" "$work/$name/project"
	cp -r "$work/bridge-data" "$work/$name/data"
	printf '%s' "$3" >>"$work/$name/project/hostd.yaml" # after the project's own (no rate limits)
	"$work/hostd" serve --config "$work/$name/project" --data "$work/$name/data" --listen "$addr" --log-level warn >"$work/$name.log" 2>&1 &
	for _ in $(seq 1 120); do
		curl -sf "$addr/readyz" >/dev/null && return 0
		sleep 0.5
	done
	echo "cluster-load.sh: $name did not become ready:" >&2
	tail -20 "$work/$name.log" >&2
	exit 1
}
cp -r "$work/shared/ca" "$work/ca"
serve sqlite 127.0.0.1:18580 "provisioning:
  caDir: $work/ca
"
shared="trustedProxies: [127.0.0.1]
store:
  driver: postgres
  dsnFile: $work/secrets/dsn
  maxConns: 16
provisioning:
  caDir: $work/ca
tokens:
  issuer: $issuer
  keyEncryptionKeyFile: $work/secrets/token-keys.kek
"
serve pg1 127.0.0.1:18581 "$shared"
serve pg2 127.0.0.1:18582 "$shared"
cat >"$work/haproxy.cfg" <<CFG
global
	maxconn 1024
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout check 5s
	option forwardfor
frontend realmgate
	bind 127.0.0.1:18590
	default_backend daemons
backend daemons
	balance roundrobin
	option httpchk GET /readyz
	server d1 127.0.0.1:18581 check inter 2s
	server d2 127.0.0.1:18582 check inter 2s
CFG
haproxy -db -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
for _ in $(seq 1 60); do
	curl -sf "$issuer/readyz" >/dev/null && break
	sleep 0.5
done

run() { # NAME URL [ISSUER]
	echo "== $1 ($2)" >&2
	"$work/hostdload" -url "$2" ${3:+-issuer "$3"} -c "$workers" -d "$dur" -flows "$flows" -each -json -progress 0 >"$work/$1.json"
}
run sqlite http://127.0.0.1:18580
run postgres http://127.0.0.1:18581 "$issuer"
run balancer "$issuer"

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
# -each writes one report per flow, each holding that flow alone.
runs = {n: {r["flows"][0]["name"]: r["flows"][0] for r in json.load(open(f"{work}/{n}.json"))} for n in ("sqlite", "postgres", "balancer")}
print(f"{'flow':18} {'sqlite/s':>10} {'postgres/s':>11} {'2 daemons/s':>12} {'pg/sqlite':>10} {'2d/sqlite':>10}  p99 ms (sqlite, pg, 2d)  errors")
for name, f in runs["sqlite"].items():
    p, b = runs["postgres"].get(name), runs["balancer"].get(name)
    r = [x["perSecond"] if x else 0 for x in (f, p, b)]
    p99 = [x["latencyMs"]["p99"] if x else 0 for x in (f, p, b)]
    errs = [x["errors"] if x else 0 for x in (f, p, b)]
    ratio = lambda a: f"{a / r[0]:.2f}x" if r[0] else "-"
    print(f"{name:18} {r[0]:10.1f} {r[1]:11.1f} {r[2]:12.1f} {ratio(r[1]):>10} {ratio(r[2]):>10}  {p99[0]:.1f}, {p99[1]:.1f}, {p99[2]:.1f}  {errs}")
PY

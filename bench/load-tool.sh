#!/usr/bin/env bash
# Runs the load tool (bench/hostdload) against a daemon serving the load-test project: it
# prepares the project (bench/prepare-project.sh), starts hostd on 127.0.0.1:18480 (or
# $LOAD_TOOL_ADDR) with a new data folder and its own provisioning CA, runs the tool with the
# arguments given, and stops the daemon. The tool's exit status is the script's.
#
# Given -url, no daemon is started: the tool runs against that URL, a daemon or a load balancer
# in front of several, each serving a project this script's preparation made (bench/README.md):
#   bench/load-tool.sh -url http://127.0.0.1:8080 -issuer https://auth.example.com -c 16 -d 60s
# Needs go, openssl (.ci/install-pki.sh), sed, awk and curl.
# Usage: bench/load-tool.sh [hostdload flags: -c 8 -d 10s -n 0 -flows all -mix ... -json ...]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh # $work, removed on exit with the servers stopped

go build -o "$work/hostdload" ./bench/hostdload
for arg in "$@"; do
	case $arg in
	-url | --url | -url=* | --url=*)
		"$work/hostdload" "$@"
		exit
		;;
	esac
done

addr=${LOAD_TOOL_ADDR:-127.0.0.1:18480}
go build -o "$work/hostd" ./hostd
bench/prepare-project.sh "$work" >/dev/null
cp -r "$work/bridge-data" "$work/data"
"$work/hostd" ca init --data "$work/data" >/dev/null
if curl -s -o /dev/null "$addr/readyz"; then
	echo "load-tool.sh: $addr is taken by another server; stop it first" >&2
	exit 1
fi
"$work/hostd" serve --config "$work/project" --data "$work/data" --listen "$addr" --log-level warn >"$work/hostd.log" 2>&1 &
hostd=$!
for _ in $(seq 1 120); do
	curl -sf "$addr/readyz" >/dev/null && break
	sleep 0.5
done
if ! kill -0 "$hostd" 2>/dev/null || ! curl -sf "$addr/readyz" >/dev/null; then
	echo "load-tool.sh: hostd did not become ready:" >&2
	tail -20 "$work/hostd.log" >&2
	exit 1
fi
status=0
"$work/hostdload" -url "http://$addr" "$@" || status=$?
if [[ $status -ne 0 && -s $work/hostd.log ]]; then
	echo "load-tool.sh: the daemon's log (warnings and errors):" >&2
	tail -20 "$work/hostd.log" >&2
fi
exit $status

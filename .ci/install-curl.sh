#!/usr/bin/env bash
# Installs curl (from Debian, only when absent): hostd's test of docs/protocol.md runs its curl
# example against a daemon on 127.0.0.1. Idempotent and non-interactive.
set -euo pipefail

command -v curl >/dev/null && exit 0
for _ in $(seq 1 60); do
	if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 install -y -qq --no-install-recommends curl >/dev/null; then
		exit 0
	fi
	sleep 5
done
exit 1

#!/usr/bin/env bash
# Installs what the tests of client/ need beyond Go: the openssl command, which checks that the
# CSRs the client builds with PKCS #9 attributes verify and read as intended (without it that
# check is skipped). Idempotent and non-interactive.
set -euo pipefail

apt_get() {
	# Another process may hold the dpkg lock for a while: wait for it rather than fail.
	for _ in $(seq 1 60); do
		if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@"; then return 0; fi
		sleep 5
	done
	return 1
}

if ! command -v openssl >/dev/null; then
	apt_get update
	apt_get install -y --no-install-recommends openssl
fi
openssl version

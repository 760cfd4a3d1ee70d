#!/usr/bin/env bash
# Installs the openssl command: pki's tests make PKCS#12 files with OpenSSL 3's defaults for
# LoadPKCS12, and client/'s check that the CSRs it builds with PKCS #9 attributes verify (without
# it those cases are skipped). Idempotent and non-interactive.
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

#!/usr/bin/env bash
# Installs the openssl command: pki's tests make PKCS#12 files with OpenSSL 3's defaults for
# LoadPKCS12, and client/'s check that the CSRs it builds with PKCS #9 attributes verify (without
# it those cases are skipped). Idempotent and non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

if ! command -v openssl >/dev/null; then
	apt_get update
	apt_get install -y --no-install-recommends openssl
fi
openssl version

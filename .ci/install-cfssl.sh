#!/usr/bin/env bash
# Installs what the CFSSL bridge example's tests need (sdk-wasm/sdktest/cfssl_test.go): CFSSL from
# Debian, whose package golang-cfssl ships the commands cfssl (with "cfssl serve", the REST API the
# bridge signs through) and cfssljson. Idempotent and non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

if ! dpkg-query -W -f='${Status}' golang-cfssl 2>/dev/null | grep -q "install ok installed"; then
	apt_get update
	apt_get install -y --no-install-recommends golang-cfssl
fi
command -v cfssl >/dev/null
cfssl version

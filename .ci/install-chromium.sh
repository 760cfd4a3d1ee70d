#!/usr/bin/env bash
# Installs what the browser tests of client/js (the JavaScript client SDK) need: Debian's
# chromium, which puppeteer-core drives headless, only when it is absent. Node.js and the SDK's
# locked npm dependencies come from install-client-js.sh. Idempotent and non-interactive.
set -euo pipefail

apt_get() {
	# Another process may hold the dpkg lock for a while: wait for it rather than fail.
	for _ in $(seq 1 60); do
		if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@"; then return 0; fi
		sleep 5
	done
	return 1
}

if ! command -v chromium >/dev/null; then
	apt_get update -qq
	apt_get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi

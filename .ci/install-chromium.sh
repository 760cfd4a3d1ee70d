#!/usr/bin/env bash
# Installs Chromium from Debian, which the admin console's browser tests (hostd/internal/console,
# driven with chromedp) run headless. Idempotent and non-interactive.
set -euo pipefail

if command -v chromium >/dev/null; then
	exit 0
fi
for _ in $(seq 1 60); do
	if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -qq update &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -qq install -y --no-install-recommends chromium >/dev/null; then
		break
	fi
	sleep 5
done
command -v chromium >/dev/null

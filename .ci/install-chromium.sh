#!/usr/bin/env bash
# Installs Chromium from Debian for the tests that drive a headless browser (the admin console's,
# with chromedp). Idempotent and non-interactive.
set -euo pipefail

if ! command -v chromium >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get -qq update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null
fi

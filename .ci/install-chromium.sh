#!/usr/bin/env bash
# Installs Chromium from Debian for the tests that drive a headless browser (the admin console's,
# with chromedp). Idempotent and non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

if ! command -v chromium >/dev/null; then
	apt_get -qq update
	apt_get -qq install -y --no-install-recommends chromium >/dev/null
fi

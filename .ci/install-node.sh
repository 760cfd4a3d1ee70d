#!/usr/bin/env bash
# Installs what the Node.js packages' tests need: Node.js and npm (from Debian, only when node is
# absent) and each package's locked dependencies (npm ci, skipped when node_modules already holds
# the locked versions): resource/node (the token validator) and client/js (the client SDK, whose
# browser tests also need install-chromium.sh). Idempotent and non-interactive.
set -euo pipefail
cd "$(dirname "$0")/.."

. "$(dirname "$0")/apt.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	apt_get update
	apt_get install -y --no-install-recommends nodejs npm
fi

for pkg in resource/node client/js; do
	# Every locked package at its locked version (optional ones, such as esbuild's binaries for
	# other platforms, when present), or npm ci.
	if ! (cd "$pkg" && node -e '
const fs = require("fs")
const lock = require("./package-lock.json")
for (const [p, v] of Object.entries(lock.packages)) {
  if (!p || (v.optional && !fs.existsSync(p + "/package.json"))) continue
  if (require("./" + p + "/package.json").version !== v.version) process.exit(1)
}' 2>/dev/null); then
		(cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error)
	fi
done

#!/usr/bin/env bash
# Installs git, which hostd policy diff runs to read a project at a revision (DIR@REV) and whose
# tests (internal/gitrev, hostd) make repositories. Idempotent and non-interactive.
set -euo pipefail

if command -v git >/dev/null; then
	exit 0
fi
for _ in $(seq 1 60); do
	if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -qq update &&
		DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 -qq install -y --no-install-recommends git >/dev/null; then
		break
	fi
	sleep 5
done
command -v git >/dev/null

#!/usr/bin/env bash
# Installs git, which hostd policy diff runs to read a project at a revision (DIR@REV) and whose
# tests (internal/gitrev, hostd) make repositories. Idempotent and non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

if ! command -v git >/dev/null; then
	apt_get -qq update
	apt_get -qq install -y --no-install-recommends git >/dev/null
fi
command -v git >/dev/null

#!/usr/bin/env bash
# Installs curl (from Debian, only when absent): hostd's test of docs/protocol.md runs its curl
# example against a daemon on 127.0.0.1. Idempotent and non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

command -v curl >/dev/null && exit 0
apt_get -qq update
apt_get -qq install -y --no-install-recommends curl >/dev/null
command -v curl >/dev/null

#!/usr/bin/env bash
# Installs what the PostgreSQL store's tests need (store/postgres, hostd/postgres_test.go): the
# server binaries from Debian's postgresql package (/usr/lib/postgresql/VERSION/bin). The tests
# start their own throwaway clusters in temporary directories (store/postgres/pgtest), so the
# cluster the package creates and its system service are not used: the service is stopped and
# kept from starting where this machine runs services. Idempotent and non-interactive; quick
# when PostgreSQL is already installed.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

have_server() {
	compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
}

if ! have_server; then
	# policy-rc.d keeps the package's scripts from starting the system cluster in containers
	# and chroots without an init; where one already exists, it is left alone.
	policy=/usr/sbin/policy-rc.d
	added_policy=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		added_policy=1
	fi
	apt_get update
	apt_get install -y --no-install-recommends postgresql
	if [ -n "$added_policy" ]; then rm -f "$policy"; fi
fi
have_server
# Tests that run as root run the server as the user nobody (initdb and postgres refuse root).
if [ "$(id -u)" = 0 ]; then
	id nobody >/dev/null
fi
for bin in /usr/lib/postgresql/*/bin; do
	"$bin/postgres" --version
done

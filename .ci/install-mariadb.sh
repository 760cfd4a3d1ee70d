#!/usr/bin/env bash
# Installs the MariaDB server of the SQL data source tests (adapters/sqlsource, internal/mysqltest,
# hostd's SQL adapter tests): mariadbd and mariadb-install-db from Debian. The tests start their
# own mariadbd on 127.0.0.1 with a data folder in a temporary directory; the Debian service is not
# used (it is kept from starting on install, and stopped and disabled if it runs). Idempotent and
# non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

if ! dpkg-query -W -f='${Status}' mariadb-server 2>/dev/null | grep -q "install ok installed"; then
	apt_get update
	# policy-rc.d keeps the package from starting its system service on install.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.realmgate-mariadb
	chmod +x /usr/sbin/policy-rc.d.realmgate-mariadb
	[ -e /usr/sbin/policy-rc.d ] || ln -s /usr/sbin/policy-rc.d.realmgate-mariadb /usr/sbin/policy-rc.d
	apt_get install -y -qq --no-install-recommends mariadb-server >/dev/null
	[ "$(readlink /usr/sbin/policy-rc.d 2>/dev/null)" = /usr/sbin/policy-rc.d.realmgate-mariadb ] && rm -f /usr/sbin/policy-rc.d
	rm -f /usr/sbin/policy-rc.d.realmgate-mariadb
fi
if command -v systemctl >/dev/null && systemctl is-active --quiet mariadb 2>/dev/null; then
	systemctl stop mariadb || true
	systemctl disable mariadb >/dev/null 2>&1 || true
fi
command -v mariadb-install-db >/dev/null
[ -x /usr/sbin/mariadbd ]
/usr/sbin/mariadbd --version

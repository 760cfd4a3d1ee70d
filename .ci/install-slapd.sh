#!/usr/bin/env bash
# Installs the directory server of the LDAP login module's tests (ldapauth,
# internal/slapdtest, hostd's LDAP tests): OpenLDAP's slapd, slapadd and the ldap-utils from
# Debian. The tests start their own slapd on 127.0.0.1 with a configuration and a database in a
# temporary folder; the Debian service is not used (it is kept from starting on install, and
# stopped and disabled if it runs). Idempotent and non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

if ! dpkg-query -W -f='${Status}' slapd 2>/dev/null | grep -q "install ok installed" ||
	! dpkg-query -W -f='${Status}' ldap-utils 2>/dev/null | grep -q "install ok installed"; then
	apt_get update
	# The package's own configuration is not used: skip its questions.
	echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
	# policy-rc.d keeps the package from starting its system service on install.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.realmgate
	chmod +x /usr/sbin/policy-rc.d.realmgate
	[ -e /usr/sbin/policy-rc.d ] || ln -s /usr/sbin/policy-rc.d.realmgate /usr/sbin/policy-rc.d
	apt_get install -y --no-install-recommends slapd ldap-utils
	[ "$(readlink /usr/sbin/policy-rc.d 2>/dev/null)" = /usr/sbin/policy-rc.d.realmgate ] && rm -f /usr/sbin/policy-rc.d
	rm -f /usr/sbin/policy-rc.d.realmgate
fi
if command -v systemctl >/dev/null && systemctl is-active --quiet slapd 2>/dev/null; then
	systemctl stop slapd || true
	systemctl disable slapd >/dev/null 2>&1 || true
fi
command -v slapd >/dev/null || [ -x /usr/sbin/slapd ]
command -v slapadd >/dev/null || [ -x /usr/sbin/slapadd ]
/usr/sbin/slapd -VV 2>&1 | head -1

#!/usr/bin/env bash
# Installs the load balancer of the several-daemons test (hostd/cluster_test.go): HAProxy from
# Debian. The test starts its own haproxy on 127.0.0.1 with a configuration in a temporary folder;
# the Debian service is not used (and is stopped if the package started it). Idempotent and
# non-interactive.
set -euo pipefail

. "$(dirname "$0")/apt.sh"

if ! dpkg-query -W -f='${Status}' haproxy 2>/dev/null | grep -q "install ok installed"; then
	apt_get update
	# policy-rc.d keeps the package from starting its system service on install.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.realmgate
	chmod +x /usr/sbin/policy-rc.d.realmgate
	[ -e /usr/sbin/policy-rc.d ] || ln -s /usr/sbin/policy-rc.d.realmgate /usr/sbin/policy-rc.d
	apt_get install -y --no-install-recommends haproxy
	[ "$(readlink /usr/sbin/policy-rc.d 2>/dev/null)" = /usr/sbin/policy-rc.d.realmgate ] && rm -f /usr/sbin/policy-rc.d
	rm -f /usr/sbin/policy-rc.d.realmgate
fi
command -v haproxy >/dev/null
haproxy -v | head -1

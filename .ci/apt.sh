# Sourced by the .ci/install-*.sh scripts (not run by .ci/run: its name is not install-*).
#
# apt_get runs apt-get non-interactively; another process may hold the dpkg lock for a while
# (a machine's first boot runs its own updates), so it waits for it and retries rather than fail.
apt_get() {
	for _ in $(seq 1 60); do
		if DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@"; then return 0; fi
		sleep 5
	done
	return 1
}

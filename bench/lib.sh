# Sourced by the bench scripts, from the repository's root.
#
# It makes the script's work folder, $work (traversable, so that a PostgreSQL server run as nobody
# reaches its folder in it), and removes it on exit, after stopping the servers the script
# started in the background and waiting for them, so that a daemon still writing its store does
# not make the removal (and the script) fail.
work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
	local pids
	pids=$(jobs -p)
	[[ -z $pids ]] || kill $pids 2>/dev/null || true
	wait 2>/dev/null || true
	stop_postgres "$work/pg"
	rm -rf "$work" || true
}
trap cleanup EXIT

# start_postgres DIR PORT starts a throwaway PostgreSQL cluster from
# Debian's server binaries (.ci/install-postgres.sh) in DIR, listening on 127.0.0.1:PORT only,
# with a database "realmgate" that the user "realmgate" reaches without a password from
# 127.0.0.1, and prints its DSN. As root, the server runs as nobody (initdb refuses root).
# stop_postgres DIR stops it. fsync stays on: the figures are those of a durable database.
start_postgres() {
	local dir=$1 port=$2 bin run=()
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	if [[ -z $bin ]]; then
		echo "PostgreSQL's server binaries are not installed (.ci/install-postgres.sh)" >&2
		return 1
	fi
	mkdir -p "$dir"
	if [[ $(id -u) -eq 0 ]]; then
		chown nobody "$dir"
		chmod 755 "$dir"
		run=(runuser -u nobody --)
	fi
	"${run[@]}" "$bin/initdb" -D "$dir/data" -U realmgate -A trust >/dev/null
	"${run[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null
	"$bin/createdb" -h 127.0.0.1 -p "$port" -U realmgate realmgate
	echo "postgres://realmgate@127.0.0.1:$port/realmgate?sslmode=disable"
}

stop_postgres() {
	local dir=$1 bin run=()
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[[ $(id -u) -eq 0 ]] && run=(runuser -u nobody --)
	[[ -d $dir/data ]] && "${run[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

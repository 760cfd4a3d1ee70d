#!/usr/bin/env bash
# Prepares the load-test project (bench/pki-project) for a run, in a folder of its own:
#   OUT/project   the project, ready to serve: the go-plugin and wasm PKI bridges and the Accounts
#                 adapter built and pinned by SHA-256, the bridges given the bridge CA, and
#                 users-ca.p12, the embedded PKI's CA of user certificates;
#   OUT/bridge-data  the start of a daemon's data folder, holding the bridge CA the wasm bridges
#                 have the host sign with (bridge-ca/);
#   OUT/ca.pem, OUT/ca-key.pem   the bridge CA (ECDSA P-256). A CA already there is used (bench/
#                 pki-load.sh makes it with cfssl, which signs with it too); else openssl makes one.
# Needs go, openssl (.ci/install-pki.sh), sed and awk. The daemon's own provisioning CA is `hostd ca init`'s.
# Usage: bench/prepare-project.sh OUT
set -euo pipefail
if [[ $# -ne 1 ]]; then
	echo "usage: $0 OUT" >&2
	exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
project=$out/project
rm -rf "$project"
cp -r bench/pki-project "$project"

go build -o "$project/adapters/PluginBridge/pkibridge" ./plugins/examples/pkibridge
sdk-wasm/go/build.sh sdk-wasm/go/examples/pkibridge "$project/adapters/GoBridge/pkibridge.wasm" >/dev/null
sdk-wasm/go/build.sh examples/banking/adapters/Accounts/src "$project/adapters/Accounts/accounts.wasm" >/dev/null
sdk-wasm/c/examples/hostsignbridge/build.sh "$project/adapters/CBridge/hostsignbridge.wasm" >/dev/null

if [[ ! -s $out/ca.pem || ! -s $out/ca-key.pem ]]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Load CA" \
		-keyout "$out/ca-key.pem" -out "$out/ca.pem" 2>/dev/null
fi
openssl pkcs8 -topk8 -nocrypt -in "$out/ca-key.pem" -out "$out/ca-key8.pem"

# users-ca.p12: the password is the one authenticationConfig.xml names (embedded-pki-bridge-ca-p12-password).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Load users CA" \
	-keyout "$out/users-ca-key.pem" -out "$out/users-ca.pem" 2>/dev/null
openssl pkcs12 -export -inkey "$out/users-ca-key.pem" -in "$out/users-ca.pem" -passout pass:bench-users-ca \
	-out "$project/users-ca.p12"
rm "$out/users-ca-key.pem"

# Templates: {{SHA256}} is the module's or plugin's digest, {{CACERT}} and {{CAKEY}} the bridge
# CA as XML attribute text (newlines as &#10;). The replacement is literal (awk index/substr).
esc() { sed ':a;N;$!ba;s/\n/\&#10;/g' "$1"; }
render() { # NAME FILE
	local name=$1 file=$2 tmpl=$project/adapters/$1/$1.xml.tmpl
	awk -v sha="$(sha256sum "$project/adapters/$name/$file" | cut -d' ' -f1)" -v cert="$(esc "$out/ca.pem")" -v key="$(esc "$out/ca-key8.pem")" '
		function rep(s, from, to,   i, r) {
			r = ""
			while ((i = index(s, from)) > 0) { r = r substr(s, 1, i - 1) to; s = substr(s, i + length(from)) }
			return r s
		}
		{ print rep(rep(rep($0, "{{SHA256}}", sha), "{{CACERT}}", cert), "{{CAKEY}}", key) }' "$tmpl" >"${tmpl%.tmpl}"
	rm "$tmpl"
}
render GoBridge pkibridge.wasm
render CBridge hostsignbridge.wasm
render PluginBridge pkibridge
render Accounts accounts.wasm

# The wasm bridges sign through the host with the bridge CA, which the daemon keeps in its data
# folder (<capability name="pki" ca="bridge-ca"/>): OUT/bridge-data is the start of a data folder
# that holds it. Copy it as the daemon's data folder.
install -d -m 0700 "$out/bridge-data" "$out/bridge-data/bridge-ca"
install -m 0644 "$out/ca.pem" "$out/bridge-data/bridge-ca/ca.pem"
install -m 0600 "$out/ca-key8.pem" "$out/bridge-data/bridge-ca/ca-key.pem"

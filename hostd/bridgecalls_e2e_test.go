package main

import (
	"bufio"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// TestPKIBridgeGuestCalls counts, by procedure, the calls that enter the guest of an
// adapter-based PKI bridge while a user enrolls in a user-certificate realm (enroll, CSR) and
// signs in with the certificate: through the daemon, its engine and the real adapter bridge,
// with the Go wasm example bridge and with the go-plugin example bridge. The count is read from
// the debug records the backends write for every call that enters a guest
// (adapters.GuestCallMessage), so it includes the calls a backend makes on its own.
func TestPKIBridgeGuestCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge and a plugin")
	}
	// Worklight ran init before every other bridge procedure (12 calls, 6 of them init); the
	// bridge runs it once per guest instance and realm parameters, and these sequential calls
	// all run on one instance (one warm wasm instance, one plugin process).
	want := map[string]int{
		"init":                       1,
		"validateIdentity":           1,
		"getCSRRequirements":         1,
		"validateCSR":                1,
		"generateCertificate":        1,
		"getIdentityFromCertificate": 1,
		"validateCertificate":        1,
	}
	tests := []struct {
		name    string
		plugin  bool
		subject pkix.Name // what the bridge's getCSRRequirements asks for alice
	}{
		{"wasm", false, pkix.Name{CommonName: "alice", Organization: []string{"Example Bank"}}},
		{"plugin", true, pkix.Name{CommonName: "alice"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newPKILab(t)
			if tc.plugin {
				l.usePluginBridge(t)
			}
			d, logs := startDaemonLogged(t, l.dir)
			s := newSession(t, d, "Plain", "iphone")
			st, body := s.init()
			challengeOf(t, st, body, "BridgeCertRealm")
			key, cert, token := enroll(t, s, "BridgeCertRealm", "alice", tc.subject)
			if st, body := certSignIn(t, s, "BridgeCertRealm", key, cert, token); st != 200 {
				t.Fatalf("sign-in: %d %v", st, body)
			}
			got := guestCalls(t, logs.String(), "Bridge")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("guest calls of one enrollment and sign-in (-want +got):\n%s", diff)
			}
			total := 0
			for _, n := range got {
				total += n
			}
			t.Logf("%s bridge: %d guest calls, %d of them init", tc.name, total, got["init"])
		})
	}
}

// usePluginBridge replaces the lab's wasm bridge by the example go-plugin bridge, with the same
// CA.
func (l *pkiLab) usePluginBridge(t *testing.T) {
	t.Helper()
	dir := filepath.Join(l.dir, "adapters/Bridge")
	copyFile(t, buildPluginBridge(t), filepath.Join(dir, "pkibridge"))
	if err := os.Chmod(filepath.Join(dir, "pkibridge"), 0o755); err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(l.bridgeCA.Key)
	if err != nil {
		t.Fatal(err)
	}
	xmlEscape := func(s string) string { return strings.ReplaceAll(s, "\n", "&#10;") }
	var procs strings.Builder
	for _, p := range []string{"init", "validateIdentity", "getCSRRequirements", "validateCSR", "generateCertificate", "getIdentityFromCertificate", "validateCertificate"} {
		procs.WriteString("\t<procedure name=\"" + p + "\"/>\n")
	}
	mustWrite(t, filepath.Join(dir, "Bridge.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="Bridge" xmlns:wl="http://www.ibm.com/mfp/integration">
	<displayName>Bridge</displayName>
	<backend kind="plugin" command="./pkibridge" sha256="`+fileSHA256(t, filepath.Join(dir, "pkibridge"))+`">
		<setting name="ca-cert" value="`+xmlEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.bridgeCA.Cert.Raw})))+`"/>
		<setting name="ca-key" value="`+xmlEscape(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))+`"/>
	</backend>
`+procs.String()+`</wl:adapter>
`)
	os.Remove(filepath.Join(dir, "bridge.wasm"))
}

// guestCalls counts the guest-call records of adapter in a JSON log, by procedure.
func guestCalls(t *testing.T, log, adapter string) map[string]int {
	t.Helper()
	got := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg       string `json:"msg"`
			Adapter   string `json:"adapter"`
			Procedure string `json:"procedure"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if rec.Msg == adapters.GuestCallMessage && rec.Adapter == adapter {
			got[rec.Procedure]++
		}
	}
	return got
}

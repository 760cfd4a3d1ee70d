package client_test

import (
	"os"
	"sync"
	"testing"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

// The client's tests run against the real daemon (hostdtest) on the projects under testdata:
//
//   - testdata/protocol: a one-step test for init (anti-XSRF, the anonymous user and the
//     device realm every mobile environment's test has), a two-step test (anti-XSRF, remote disable and the
//     device, then a form login) for most procedures, a test per login authenticator, a static
//     page;
//   - testdata/certificates: device provisioning per application, group and device (with an MDM
//     activation code), app authenticity, and user certificates through an adapter PKI bridge
//     and through the embedded PKI;
//   - testdata/devices: the smallest provisioning project, for the examples;
//   - ../examples/banking: the example project, for the examples.
//
// Both test projects run the wasm adapter of testdata/adapter, built once per test run.

var (
	adapterOnce   sync.Once
	adapterModule []byte
	adapterErr    error
)

// testAdapter is the module built from testdata/adapter.
func testAdapter(tb testing.TB) []byte {
	tb.Helper()
	adapterOnce.Do(func() {
		adapterModule, adapterErr = os.ReadFile(adaptertest.BuildGoWasm(tb, "testdata/adapter"))
	})
	if adapterErr != nil {
		tb.Fatal(adapterErr)
	}
	return adapterModule
}

// rule is a remote-disable rule as the admin API takes it.
type rule struct {
	Versions     string `json:"versions,omitempty"`
	Action       string `json:"action"`
	Message      string `json:"message"`
	MessageID    string `json:"messageId,omitempty"`
	DownloadLink string `json:"downloadLink,omitempty"`
}

// newServer starts the daemon on testdata/protocol; a rule, when given, is the remote-disable
// rule of sample's android environment.
func newServer(tb testing.TB, r *rule) *hostdtest.Daemon {
	tb.Helper()
	d := hostdtest.Start(tb, "testdata/protocol", hostdtest.Options{
		Files: map[string][]byte{"adapters/acct/client.wasm": testAdapter(tb)},
	})
	if r != nil {
		setRules(tb, d, "sample", "android", *r)
	}
	return d
}

// setRules replaces the remote-disable rules of an application environment.
func setRules(tb testing.TB, d *hostdtest.Daemon, app, env string, rules ...rule) {
	tb.Helper()
	if rules == nil {
		rules = []rule{}
	}
	status, err := d.Admin("PUT", "/admin/v1/apps/"+app+"/"+env+"/remote-disable", map[string]any{"rules": rules}, nil)
	if err != nil || status != 200 {
		tb.Fatalf("PUT remote-disable rules: %d %v", status, err)
	}
}

package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

// rawPost is the peer the client is measured against: one plain net/http POST with the same
// headers and cookies, reading the whole reply.
func rawPoster(b *testing.B, srv *hostdtest.Daemon) func() {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	return func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/adapters/acct/open", strings.NewReader(`{"parameters":[1]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(client.HeaderAppID, "sample")
		req.Header.Set(client.HeaderAppEnvironment, "android")
		req.Header.Set(client.HeaderAppVersion, "1.0")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("peer status %d", resp.StatusCode)
		}
	}
}

// versus runs own and peer alternately b.N times and reports own's time relative to peer's
// under unit. Alternating keeps drift (a server log that grows, other load on the machine) from
// favouring whichever would run first.
func versus(b *testing.B, unit string, own, peer func()) {
	own()
	peer()
	b.ReportAllocs()
	b.ResetTimer()
	var ownT, peerT time.Duration
	for range b.N {
		t0 := time.Now()
		peer()
		t1 := time.Now()
		own()
		ownT += time.Since(t1)
		peerT += t1.Sub(t0)
	}
	b.StopTimer()
	b.ReportMetric(float64(ownT)/float64(peerT), unit)
	b.ReportMetric(float64(ownT.Nanoseconds())/float64(b.N), "own-ns/op")
}

// BenchmarkInvokeProcedure measures a call on a settled session against a plain net/http POST
// of the same procedure, alternated in the same run; x-net/http is the client's time relative to
// the peer's (ns/op and allocations cover both, own-ns/op the client alone).
func BenchmarkInvokeProcedure(b *testing.B) {
	srv := newServer(b, nil)
	c := newClient(b, srv.URL, nil)
	ctx := context.Background()
	call := func() {
		if _, err := c.InvokeProcedure(ctx, "acct", "open", 1); err != nil {
			b.Fatal(err)
		}
	}
	versus(b, "x-net/http", call, rawPoster(b, srv))
}

// BenchmarkTwoStepDance measures a fresh client settling the two-step test (anti-XSRF, remote
// disable notice, device, form login) and calling the procedure: six round trips. The peer is
// six plain net/http round trips alternated in the same run, so x-6-roundtrips is the dance's
// cost relative to the bare round trips it needs.
func BenchmarkTwoStepDance(b *testing.B) {
	srv := newServer(b, &rule{Action: "notify", Message: "hi", MessageID: "m"})
	ctx := context.Background()
	dance := func() {
		c := newClient(b, srv.URL, nil)
		c.RegisterHandler(formRealm, login(alice))
		if _, err := c.InvokeProcedure(ctx, "acct", "echo", 1); err != nil {
			b.Fatal(err)
		}
	}
	raw := rawPoster(b, srv)
	six := func() {
		for range 6 {
			raw()
		}
	}
	before := len(srv.Requests())
	dance()
	if n := len(srv.Requests()) - before; n != 6 {
		b.Fatalf("a dance took %d requests, want 6", n)
	}
	versus(b, "x-6-roundtrips", dance, six)
}

// BenchmarkProvisionedSignIn measures a fresh client whose keystore already holds the device's
// certificate passing the provisioning test and calling the procedure: three round trips (the
// challenge, the signed payload, the call). The peer is three plain net/http round trips
// alternated in the same run, so x-3-roundtrips is the cost of loading the credential, signing
// the payload and the dance relative to the bare round trips. (The group provisioning realm of
// testdata/certificates: the built-in realm would add an attestation to every sign-in.)
func BenchmarkProvisionedSignIn(b *testing.B) {
	srv := newPKIServer(b)
	ks := client.DirKeystore(b.TempDir())
	ctx := context.Background()
	signIn := func() {
		c := newClient(b, srv.URL, func(cfg *client.Config) { cfg.Environment, cfg.Keystore = "iphone", ks })
		c.RegisterHandler(groupRealm, c.ProvisioningHandler())
		if _, err := c.InvokeProcedure(ctx, "acct", "group", 1); err != nil {
			b.Fatal(err)
		}
	}
	signIn() // provisions
	before := len(srv.Requests())
	signIn()
	if n := len(srv.Requests()) - before; n != 3 {
		b.Fatalf("a sign-in took %d requests, want 3", n)
	}
	raw := rawPoster(b, srv.Daemon)
	three := func() {
		for range 3 {
			raw()
		}
	}
	versus(b, "x-3-roundtrips", signIn, three)
}

package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

// BenchmarkProvisioning measures device provisioning end to end over HTTP on 127.0.0.1 (the
// challenge, then the CSR with a payload signed by its key), signed by the built-in CA on the
// embedded store, as bench/certload drives it, 8 clients at once; and, in the same run, the
// CA's Issue of the same CSRs alone, in the same blocks. x-issue is provisioning's time over
// Issue's. Run with -cpuprofile to see where a provisioning spends its time.
func BenchmarkProvisioning(b *testing.B) { benchmarkProvisioning(b, func(*daemon.Settings) {}) }

// BenchmarkProvisioningPostgres is BenchmarkProvisioning with the daemon on a throwaway
// PostgreSQL cluster (durable, fsync on), as bench/pki-load.sh runs it with
// PKI_LOAD_STORE=postgres: run with -cpuprofile to see what the shared store costs a
// provisioning.
func BenchmarkProvisioningPostgres(b *testing.B) {
	dsn := pgtest.Start(b, pgtest.Durable()).NewDatabase(b)
	benchmarkProvisioning(b, func(s *daemon.Settings) {
		s.Store, s.Tokens.Issuer = daemon.StoreSettings{Driver: daemon.DriverPostgres, DSN: dsn}, "https://devices.example"
	})
}

func benchmarkProvisioning(b *testing.B, settings func(*daemon.Settings)) {
	dir := b.TempDir()
	files := map[string]string{
		"server/conf/authenticationConfig.xml": `<?xml version="1.0" encoding="UTF-8"?>
<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="builtinTests">
			<test realm="wl_anonymousUserRealm" isInternalUserID="true"/>
			<test realm="BuiltinProvisioning" isInternalDeviceID="true"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="BuiltinProvisioning" loginModule="Provisioned">
			<className>com.worklight.core.auth.ext.DeviceAutoProvisioningAuthenticator</className>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="Provisioned">
			<className>com.worklight.core.auth.ext.DeviceAutoProvisioningLoginModule</className>
		</loginModule>
	</loginModules>
</tns:loginConfiguration>`,
		"apps/BenchBuiltin/application-descriptor.xml": `<?xml version="1.0" encoding="UTF-8"?>
<application xmlns="http://www.worklight.com/application-descriptor" id="BenchBuiltin">
	<displayName>BenchBuiltin</displayName>
	<android securityTest="builtinTests" version="1.0">
		<security><provisioning entity="device"/></security>
	</android>
</application>`,
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	caDir := filepath.Join(b.TempDir(), "ca")
	ca, err := pki.InitCA(caDir, pki.CAOptions{CommonName: "Bench provisioning CA"})
	if err != nil {
		b.Fatal(err)
	}
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		b.Fatal(err)
	}
	s.Listen, s.Data, s.Provisioning.CADir = "127.0.0.1:0", b.TempDir(), caDir
	// Every simulated device comes from 127.0.0.1: the per-client rate limit would count them as
	// one client.
	s.Limits.AnswersPerClient, s.Limits.AnswersPerRealm = 0, 0
	settings(&s)
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	base := "http://" + d.Addr()

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	// csr is a new device id's CSR, made with the one key (the clients' own work is the same
	// for every provisioning and is not what is measured, but it runs on the same cores).
	csr := func() (string, []byte) {
		id := fmt.Sprint("bench-", seq.Add(1))
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: id}}, key)
		if err != nil {
			b.Fatal(err)
		}
		return id, der
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	post := func(c *http.Client, path string, body any) (int, map[string]any) {
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("WL-App-Id", "BenchBuiltin")
		req.Header.Set("WL-App-Environment", "android")
		req.Header.Set("WL-App-Version", "1.0")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(out, &m)
		return resp.StatusCode, m
	}
	provision := func() {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: tr}
		st, body := post(c, "/api/v1/apps/BenchBuiltin/android/init", map[string]any{})
		ch, _ := body["challenges"].(map[string]any)["BuiltinProvisioning"].(map[string]any)
		tok, _ := ch["token"].(string)
		if st != 401 || tok == "" {
			b.Fatalf("init: %d %v", st, body)
		}
		id, der := csr()
		jws, err := pki.SignJWK(key, pki.Payload{Token: tok, Device: pki.DeviceInfo{ID: id, OS: "load"},
			App: pki.AppInfo{ID: "BenchBuiltin", Environment: "android", Version: "1.0"}})
		if err != nil {
			b.Fatal(err)
		}
		st, body = post(c, "/api/v1/auth/BuiltinProvisioning", map[string]any{"csr": base64.StdEncoding.EncodeToString(der), "payload": jws})
		if st != 200 || body["status"] != "provisioned" {
			b.Fatalf("provisioning: %d %v", st, body)
		}
	}
	issue := func() {
		id, der := csr()
		req, err := x509.ParseCertificateRequest(der)
		if err != nil {
			b.Fatal(err)
		}
		if err := req.CheckSignature(); err != nil {
			b.Fatal(err)
		}
		if _, err := ca.Issue(req, pki.IssueOptions{Subject: pkix.Name{CommonName: id, Organization: []string{"device"}}}); err != nil {
			b.Fatal(err)
		}
	}
	parallel := func(n int, op func()) time.Duration {
		var next atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					op()
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	b.ResetTimer()
	b.StopTimer()
	var peer, own time.Duration
	const blocks = 4
	for k := range blocks {
		n := b.N*(k+1)/blocks - b.N*k/blocks
		peer += parallel(n, issue)
		b.StartTimer()
		own += parallel(n, provision)
		b.StopTimer()
	}
	b.ReportMetric(float64(b.N)/own.Seconds(), "provisionings/s")
	b.ReportMetric(float64(b.N)/peer.Seconds(), "issues/s")
	b.ReportMetric(float64(own)/float64(peer), "x-issue")
}

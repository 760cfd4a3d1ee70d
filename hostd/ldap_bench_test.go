package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/internal/slapdtest"
)

// BenchmarkLDAPLoginHTTP measures what a user of the LDAP example waits for a login, through
// HTTP with the Go client against hostd (its durable store in a data folder), with its peer in
// the same run: the same directory operations bare with go-ldap on one open connection (a Bind,
// then a base Search of the entry for memberOf, mail and displayName, as the example's module
// reads). Each iteration times, in turn, the bare operations, then a new client's Init: its
// anti-XSRF round, the DirectoryLogin challenge, the answer and the retried request. It reports
// the medians of the bare operations, of the answer's round trip (POST
// /api/v1/auth/DirectoryLogin: the realm answer with HTTP around it), of the whole Init and of
// HTTP's own share (http-floor-ns: GET /api/v1/session without a session, which reads no store),
// and answer/bare and init/bare.
func BenchmarkLDAPLoginHTTP(b *testing.B) {
	s := slapdtest.StartLDIF(b, exampleLDIF(b))
	dir := ldapBenchProject(b, s)
	settings, err := daemon.LoadSettings(dir)
	if err != nil {
		b.Fatal(err)
	}
	settings.Listen, settings.Data = "127.0.0.1:0", b.TempDir()
	settings.AdapterCacheDir = adaptertest.CompilationCacheDir(b)
	// One client address logs in thousands of times: the abuse limits would refuse it.
	settings.Limits.AnswersPerClient, settings.Limits.AnswersPerRealm = 0, 0
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: settings})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background())

	conn, err := ldap.DialURL(s.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	dn := "uid=alice,ou=people,dc=example,dc=com"
	bare := func() {
		if err := conn.Bind(dn, "alice-secret"); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
			"(objectClass=*)", []string{"memberOf", "mail", "displayName"}, nil)); err != nil {
			b.Fatal(err)
		}
	}
	tr := &answerTimer{next: http.DefaultTransport}
	hc := &http.Client{Transport: tr}
	ctx := context.Background()
	login := func() {
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "TellerApp", Environment: "mobilewebapp", AppVersion: "1.0", HTTPClient: hc})
		if err != nil {
			b.Fatal(err)
		}
		c.RegisterHandler("DirectoryLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-secret"}})
		tr.answer = 0
		if _, err := c.Init(ctx); err != nil {
			b.Fatal(err)
		}
		if tr.answer == 0 {
			b.Fatal("the client logged in without answering DirectoryLogin")
		}
	}
	anon, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "TellerApp", Environment: "mobilewebapp", AppVersion: "1.0", HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	login() // the first login dials the directory and warms the connections
	var bares, answers, inits, floors []time.Duration
	for b.Loop() {
		t0 := time.Now()
		bare()
		t1 := time.Now()
		login()
		t2 := time.Now()
		if _, err := anon.Session(ctx); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		bares, answers, inits = append(bares, t1.Sub(t0)), append(answers, tr.answer), append(inits, t2.Sub(t1))
		floors = append(floors, t3.Sub(t2))
	}
	mb, ma, mi := medianOf(bares), medianOf(answers), medianOf(inits)
	b.ReportMetric(float64(medianOf(floors).Nanoseconds()), "http-floor-ns")
	b.ReportMetric(float64(mb.Nanoseconds()), "bare-ns")
	b.ReportMetric(float64(ma.Nanoseconds()), "answer-ns")
	b.ReportMetric(float64(mi.Nanoseconds()), "init-ns")
	b.ReportMetric(float64(ma)/float64(mb), "answer/bare")
	b.ReportMetric(float64(mi)/float64(mb), "init/bare")
}

// answerTimer times the round trip of a client's answer to DirectoryLogin, body read.
type answerTimer struct {
	next   http.RoundTripper
	answer time.Duration
}

func (t *answerTimer) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/auth/DirectoryLogin") {
		return t.next.RoundTrip(r)
	}
	start := time.Now()
	res, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	t.answer = time.Since(start)
	res.Body = io.NopCloser(strings.NewReader(string(body)))
	return res, err
}

// ldapBenchProject copies the LDAP example as ldapExample does, for a benchmark.
func ldapBenchProject(b *testing.B, s *slapdtest.Server) string {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(ldapExampleDir)); err != nil {
		b.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "data"))
	wasm, err := os.ReadFile(adaptertest.BuildGoWasm(b, ldapExampleDir+"/adapters/Teller/src"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "adapters/Teller/teller.wasm"), wasm, 0o644); err != nil {
		b.Fatal(err)
	}
	tellerXML := filepath.Join(dir, "adapters/Teller/Teller.xml")
	x, err := os.ReadFile(tellerXML)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(tellerXML, []byte(strings.Replace(string(x), ` source="src"`, "", 1)), 0o644); err != nil {
		b.Fatal(err)
	}
	setLoginModuleParams(b, filepath.Join(dir, "server/conf/authenticationConfig.xml"),
		map[string]string{"ldapProviderUrl": s.URL, "ldapTimeoutMs": "10000"})
	return dir
}

func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

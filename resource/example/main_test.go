package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/realmgate/realmgate/resource"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// TestExample builds the example, runs it as a process against a test issuer and calls its
// endpoints with tokens of each scope and without.
func TestExample(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	bin := filepath.Join(t.TempDir(), "example")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--jwks", is.JWKSURL, "--issuer", is.URL, "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("first line %q (%v); stderr:\n%s", line, err, stderr.String())
	}

	iat := time.Now().Truncate(time.Second)
	mobile := is.Mint(rt.Claims{Scope: "mobileTests", UserID: "alice", DeviceID: "d-1", IssuedAt: iat})
	web := is.Mint(rt.Claims{Scope: "webTests", UserID: "alice", IssuedAt: iat})
	type reply struct {
		Status          int
		WWWAuthenticate string
		Resource        string
		Client          *resource.Client
	}
	for _, tc := range []struct {
		path, token string
		want        reply
	}{
		{"/accounts", "", reply{Status: 401, WWWAuthenticate: `Bearer scope="mobileTests"`}},
		{"/accounts", mobile, reply{Status: 200, Resource: "accounts", Client: &resource.Client{
			ApplicationID: "BankApp", UserID: "alice", DeviceID: "d-1", Scope: "mobileTests", Subject: "alice", IssuedAt: iat, ExpiresAt: iat.Add(time.Minute)}}},
		{"/accounts", web, reply{Status: 403, WWWAuthenticate: `Bearer scope="mobileTests", error="insufficient_scope"`}},
		{"/statements", web, reply{Status: 200, Resource: "statements", Client: &resource.Client{
			ApplicationID: "BankApp", UserID: "alice", Scope: "webTests", Subject: "alice", IssuedAt: iat, ExpiresAt: iat.Add(time.Minute)}}},
		{"/statements", is.Mint(rt.Claims{Scope: "webTests"}, rt.Expired), reply{Status: 401,
			WWWAuthenticate: `Bearer scope="webTests", error="invalid_token", error_description="The access token expired"`}},
	} {
		req, _ := http.NewRequest("GET", base+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got := reply{Status: resp.StatusCode, WWWAuthenticate: resp.Header.Get("WWW-Authenticate")}
		if resp.StatusCode == 200 {
			var body struct {
				Resource string
				Client   *resource.Client
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			got.Resource, got.Client = body.Resource, body.Client
			got.Client.TokenID = ""
		}
		resp.Body.Close()
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
		}
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, b)
	}

	// SIGTERM stops it cleanly.
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Errorf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
	}
	exited <- nil
	if !strings.Contains(stderr.String(), "served") || strings.Contains(stderr.String(), mobile) {
		t.Errorf("the log should record the requests served, never a token:\n%s", stderr.String())
	}
}

// lockedBuffer collects a process's output; it may be read while the process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"--issuer", ""}, {"--jwks", "ftp://x"}} {
		if code := run(t.Context(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

// A page of the allowed origin may call the endpoints from a browser and read WWW-Authenticate;
// another origin gets no CORS header.
func TestAllowBrowser(t *testing.T) {
	h := allowBrowser("http://127.0.0.1:10090", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer scope="webTests"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	type got struct {
		Status                   int
		AllowOrigin, AllowHeader string
		Expose                   string
	}
	cases := []struct {
		name, method, origin string
		want                 got
	}{
		{"preflight", http.MethodOptions, "http://127.0.0.1:10090", got{204, "http://127.0.0.1:10090", "Authorization", "WWW-Authenticate"}},
		{"get", http.MethodGet, "http://127.0.0.1:10090", got{401, "http://127.0.0.1:10090", "", "WWW-Authenticate"}},
		{"another origin", http.MethodOptions, "http://evil.invalid", got{401, "", "", ""}},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, "/statements", nil)
		req.Header.Set("Origin", c.origin)
		if c.method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "GET")
		}
		rec := &recorder{header: http.Header{}}
		h.ServeHTTP(rec, req)
		g := got{rec.status, rec.header.Get("Access-Control-Allow-Origin"), rec.header.Get("Access-Control-Allow-Headers"), rec.header.Get("Access-Control-Expose-Headers")}
		if diff := cmp.Diff(c.want, g); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

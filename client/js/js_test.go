package js_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/nodetest"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
	"github.com/realmgate/realmgate/resource"
	"software.sslmate.com/src/go-pkcs12"
)

// The SDK's suites need the daemon; these tests start it and hand its address to node --test
// through the environment:
//
//	REALMGATE_URL            the daemon's base URL (tokens' issuer)
//	REALMGATE_ADMIN_TOKEN    its admin token, for the admin API (remote-disable rules, revocation)
//	REALMGATE_RESOURCE_URL   a resource server that requires scope formTest at /balance
//	REALMGATE_ATTEST_URL     Android Key Attestation chains of a genuine build, per challenge
//	REALMGATE_STATIC_DIR     the project's static folder for the browser page (browser suite)
//	REALMGATE_CHROMIUM       the Chromium binary (browser suite)

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

// attestationRoot is the root of the test's Android Key Attestation chains, which the daemon
// trusts (hostdtest.Options.AndroidRoots); signingDigest is the digest of the genuine build's
// signing certificate that testdata/web's android environment names.
var (
	attestationRoot = sync.OnceValues(func() (*pki.CA, error) {
		return pki.NewCA(pki.CAOptions{CommonName: "attestation root"})
	})
	signingDigest = sha256.Sum256([]byte("signing certificate"))
)

// startAttestor starts what stands for the Android Keystore of a genuine build of
// com.example.webapp on 127.0.0.1: GET /attest?challenge=C answers {"format": "android-key",
// "chain"} (base64 DER, leaf first) of a key attested with challenge C.
func startAttestor(t *testing.T) string {
	t.Helper()
	root, err := attestationRoot()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chain, _, err := pkitest.NewAttestation(root, []byte(r.URL.Query().Get("challenge")), "com.example.webapp", signingDigest[:])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out := struct {
			Format string   `json:"format"`
			Chain  [][]byte `json:"chain"`
		}{"android-key", chain}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// startDaemon starts the daemon on testdata/web with the test adapter, the embedded PKI's CA
// and the attestation root.
func startDaemon(t *testing.T) *hostdtest.Daemon {
	t.Helper()
	root, err := attestationRoot()
	if err != nil {
		t.Fatal(err)
	}
	usersCA, err := pki.NewCA(pki.CAOptions{CommonName: "Users CA"})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(usersCA.Key, usersCA.Cert, nil, "test-password")
	if err != nil {
		t.Fatal(err)
	}
	return hostdtest.Start(t, "testdata/web", hostdtest.Options{
		Files: map[string][]byte{
			"adapters/acct/client.wasm": testAdapter(t),
			"users-ca.p12":              p12,
		},
		AndroidRoots: []*x509.Certificate{root.Cert},
	})
}

// startResourceServer starts a resource server on 127.0.0.1 that validates the daemon's tokens
// offline: GET /balance requires scope formTest and answers {"user", "scope"}. It answers the
// daemon's origin with CORS headers, so a page the daemon serves may call it.
func startResourceServer(t *testing.T, d *hostdtest.Daemon) string {
	t.Helper()
	v, err := resource.New(resource.Config{JWKSURL: d.JWKSURL, Issuer: d.Issuer})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /balance", v.Require("formTest")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := resource.ClientFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"user": c.UserID, "scope": c.Scope})
	})))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == d.URL {
			w.Header().Set("Access-Control-Allow-Origin", d.URL)
			w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Headers", "Authorization")
				w.Header().Set("Access-Control-Allow-Methods", "GET")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// requireToolchains reports whether CI asked for every toolchain (a missing one fails).
func requireToolchains() bool { return os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" }

// chromium returns the Chromium binary the browser suite drives: REALMGATE_CHROMIUM, else
// Debian's chromium. Without it the test is skipped, or fails under REALMGATE_REQUIRE_TOOLCHAINS.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("REALMGATE_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		if requireToolchains() {
			t.Fatalf("chromium is required (REALMGATE_REQUIRE_TOOLCHAINS is set): %v; run .ci/install-chromium.sh", err)
		}
		t.Skipf("chromium not installed: %v", err)
	}
	return p
}

// nodeTimeout bounds one node --test run: the suites take seconds (a minute under the race
// detector on a busy machine).
const nodeTimeout = 5 * time.Minute

var nodeSummary = regexp.MustCompile(`(?m)^# (pass|fail|skipped|todo) (\d+)$`)

// runNode runs node --test on each file in turn (the suites share one daemon: they must not
// run at once) with env added, and fails unless every test passed and none was skipped.
func runNode(t *testing.T, node string, env []string, files ...string) {
	t.Helper()
	for _, f := range files {
		runNodeFile(t, node, env, f)
	}
}

func runNodeFile(t *testing.T, node string, env []string, file string) {
	t.Helper()
	// A suite that hangs fails here, with its output, rather than at the test binary's deadline.
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=tap", file)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	counts := map[string]string{}
	for _, m := range nodeSummary.FindAllStringSubmatch(string(out), -1) {
		counts[m[1]] = m[2]
	}
	if err != nil || counts["fail"] != "0" || counts["skipped"] != "0" || counts["todo"] != "0" || counts["pass"] == "" || counts["pass"] == "0" {
		t.Fatalf("node --test %s: %v %v\n%s", file, err, counts, out)
	}
	t.Logf("node --test %s: %s passed in %s", file, counts["pass"], time.Since(start).Round(time.Millisecond))
}

func daemonEnv(t *testing.T, d *hostdtest.Daemon) []string {
	return []string{
		"REALMGATE_URL=" + d.URL,
		"REALMGATE_ADMIN_TOKEN=" + d.AdminToken,
		"REALMGATE_RESOURCE_URL=" + startResourceServer(t, d),
		"REALMGATE_ATTEST_URL=" + startAttestor(t),
	}
}

// bearerVectors writes WWW-Authenticate headers with the scope the Go client reads from each
// (client.RequiredAccessTokenScope), for test/parity.test.js: the headers resource servers send,
// and variations of them that are cut, doubled, quoted and spaced.
func bearerVectors(t *testing.T) string {
	t.Helper()
	base := []string{
		`Bearer scope="formTest"`,
		`Bearer scope="formTest", error="insufficient_scope"`,
		`Bearer scope="formTest", error="invalid_token", error_description="the token expired"`,
		`Bearer realm="api", scope=formTest`,
		`bearer SCOPE="formTest"`,
		`Bearer scope="a\"b"`,
		`Bearer scope="two scopes"`,
		`Bearer scope=""`,
		`Bearer`,
		`Basic realm="x"`,
		`Bearer error="invalid_token"`,
		`Bearer scope="formTest",`,
		`Bearer scope="formTest" error="x"`,
		`Bearer ,scope="formTest"`,
		`Bearer scope=formTest, scope=other`,
		"Bearer scope=\"tab\tscope\"",
		``,
	}
	type vector struct {
		Status int    `json:"status"`
		Header string `json:"header"`
		Scope  string `json:"scope"`
		OK     bool   `json:"ok"`
	}
	var out []vector
	add := func(h string) {
		for _, status := range []int{401, 403, 400, 200} {
			scope, ok := client.RequiredAccessTokenScope(status, h)
			out = append(out, vector{status, h, scope, ok})
		}
	}
	for _, h := range base {
		add(h)
		add(h + " ")
		add("  " + h)
		if len(h) > 3 {
			add(h[:len(h)-2])
			add(strings.ReplaceAll(h, ", ", ","))
			add(strings.ReplaceAll(h, "=", " = "))
		}
	}
	add("Bearer scope=\"" + strings.Repeat("s", 5000) + "\"")
	// And headers made at random from the characters that matter to the grammar, with a fixed
	// seed: the two parsers must agree on every one.
	rnd := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"Bearer ", "bearer", " ", ",", "=", `"`, `\`, "scope", "error", "insufficient_scope", "a", "formTest", "\t", "é"}
	for i := range 3000 {
		var b strings.Builder
		if i%2 == 0 {
			b.WriteString(`Bearer scope="formTest"`) // a valid start, then whatever follows
		}
		for n := rnd.IntN(6); n >= 0; n-- {
			b.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		add(b.String())
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "bearer.json")
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestNode runs the SDK's Node.js suites: the unit tests, the answers and header readings
// against the Go client's, every realm type and flow against the daemon, and the README's
// example.
func TestNode(t *testing.T) {
	node := nodetest.Toolchain(t, ".")
	d := startDaemon(t)
	env := append(daemonEnv(t, d), "REALMGATE_BEARER_VECTORS="+bearerVectors(t))
	runNode(t, node, env, "test/unit.test.js", "test/parity.test.js", "test/hostd.test.js", "test/readme.test.js")
}

// TestBrowser runs the same flows in headless Chromium: a page the daemon serves imports the SDK
// and logs in, provisions its device with a non-extractable WebCrypto key kept in IndexedDB,
// enrolls a user certificate, signs in with it in a later session, obtains a token and calls the
// resource server.
func TestBrowser(t *testing.T) {
	node := nodetest.Toolchain(t, ".")
	browser := chromium(t)
	d := startDaemon(t)
	env := append(daemonEnv(t, d),
		"REALMGATE_STATIC_DIR="+filepath.Join(d.Dir, "static", "web"),
		"REALMGATE_CHROMIUM="+browser,
	)
	runNode(t, node, env, "test/browser.test.js")
}

// TestTypes checks index.d.ts (and the typed example) with the TypeScript compiler.
func TestTypes(t *testing.T) {
	node := nodetest.Toolchain(t, ".")
	out, err := exec.Command(node, "node_modules/typescript/bin/tsc", "--noEmit", "-p", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("tsc --noEmit: %v\n%s", err, out)
	}
}

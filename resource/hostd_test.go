package resource_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/nodetest"
	"github.com/realmgate/realmgate/resource"
)

// These tests validate tokens minted by the real daemon (hostdtest) on the banking example,
// obtained by the Go client SDK walking the challenges over HTTP.

var (
	buildMu  sync.Mutex
	binaries = map[string]string{}
)

// buildBinary builds the command in pkg (relative to this directory) once per test run.
func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := binaries[pkg]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "resource-test-bin")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	binaries[pkg] = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, bin := range binaries {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// startHostd starts the daemon on the banking example for the test; its base URL is also the
// tokens' issuer.
func startHostd(t *testing.T) *hostdtest.Daemon {
	t.Helper()
	return hostdtest.Start(t, "../examples/banking", hostdtest.Options{})
}

// bankClient is the example's BankApp on env, logged in as alice when challenged.
func bankClient(t *testing.T, base, env string) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{
		BaseURL: base, AppID: "BankApp", Environment: env, AppVersion: "2.1.0",
		Device: &client.DeviceInfo{ID: "device-" + env, OS: env, Model: "test"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	return c
}

func rotateKeys(t *testing.T, d *hostdtest.Daemon) {
	t.Helper()
	if status, err := d.Admin("POST", "/admin/v1/keys/rotate", nil, nil); err != nil || status/100 != 2 {
		t.Fatalf("rotate: %d %v", status, err)
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	var h struct{ Kid string }
	mustUnmarshal(t, mustDecodeSegment(t, tok, 0), &h)
	return h.Kid
}

func TestHostd(t *testing.T) {
	d := startHostd(t)
	base := d.URL
	ctx := context.Background()
	c := bankClient(t, base, "android")
	mobile, err := c.ObtainAccessToken(ctx, "mobileTests")
	if err != nil {
		t.Fatal(err)
	}
	web, err := c.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	i := len(mobile.Value) / 2 // a character of the payload
	tampered := mobile.Value[:i] + map[bool]string{true: "A", false: "B"}[mobile.Value[i] != 'A'] + mobile.Value[i+1:]

	jwksURL := d.JWKSURL
	v := newValidator(t, resource.Config{JWKSURL: jwksURL, Issuer: d.Issuer})
	ignoreTimes := cmpopts.IgnoreFields(resource.Client{}, "TokenID", "IssuedAt", "ExpiresAt")
	for _, tc := range []struct {
		name, token, scope string
		want               *resource.Client
		err                error
	}{
		{"mobile token", mobile.Value, "mobileTests", &resource.Client{ApplicationID: "BankApp", UserID: "alice", DeviceID: "device-android", Scope: "mobileTests", Subject: "alice", Audience: "BankApp"}, nil},
		{"web token", web.Value, "webTests", &resource.Client{ApplicationID: "BankApp", UserID: "alice", Scope: "webTests", Subject: "alice", Audience: "BankApp"}, nil},
		{"web token for the mobile test", web.Value, "mobileTests", nil, resource.ErrInsufficientScope},
		{"mobile token for the web test", mobile.Value, "webTests", nil, resource.ErrInsufficientScope},
		{"tampered", tampered, "mobileTests", nil, resource.ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Validate(ctx, tc.token, tc.scope)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Validate: %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got, ignoreTimes); diff != "" {
				t.Fatalf("client (-want +got):\n%s", diff)
			}
			if got != nil && (got.TokenID == "" || got.ExpiresAt.Sub(got.IssuedAt) != 60*time.Second) {
				t.Errorf("jti %q, lifetime %v, want a jti and hostd's default 60 s", got.TokenID, got.ExpiresAt.Sub(got.IssuedAt))
			}
			// hostd's own online validation agrees.
			resp, err := http.PostForm(base+"/oauth/validation", url.Values{"token": {tc.token}, "scope": {tc.scope}})
			if err != nil {
				t.Fatal(err)
			}
			var introspection struct{ Active bool }
			json.NewDecoder(resp.Body).Decode(&introspection)
			resp.Body.Close()
			if introspection.Active != (tc.err == nil) {
				t.Errorf("hostd says active=%v, this package %v", introspection.Active, err)
			}
		})
	}

	// hostd mints tokens for the application unless the request names a resource server: a
	// validator that requires the application's audience accepts them, one that requires
	// another refuses them.
	if _, err := newValidator(t, resource.Config{JWKSURL: jwksURL, Issuer: base, Audience: "BankApp"}).Validate(ctx, mobile.Value, "mobileTests"); err != nil {
		t.Errorf("audience BankApp: %v", err)
	}
	if _, err := newValidator(t, resource.Config{JWKSURL: jwksURL, Issuer: base, Audience: "statements"}).Validate(ctx, mobile.Value, "mobileTests"); !errors.Is(err, resource.ErrInvalidToken) {
		t.Errorf("audience statements: %v, want ErrInvalidToken", err)
	}

	// The JWKS saved to a file serves as well.
	resp, err := http.Get(jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	keyFile := filepath.Join(t.TempDir(), "jwks.json")
	writeFile(t, keyFile, jwks)
	if _, err := newValidator(t, resource.Config{KeyFile: keyFile, Issuer: base}).Validate(ctx, mobile.Value, "mobileTests"); err != nil {
		t.Errorf("key file: %v", err)
	}

	// Rotation: hostd signs with a new key and keeps publishing the old one; tokens of both
	// validate. (hostd publishes a new key only as it starts signing with it, so a validator
	// meets an unknown kid: this one may refresh at once.)
	rv := newValidator(t, resource.Config{JWKSURL: jwksURL, Issuer: base, MinRefreshInterval: time.Nanosecond})
	if _, err := rv.Validate(ctx, mobile.Value, "mobileTests"); err != nil {
		t.Fatal(err)
	}
	rotateKeys(t, d)
	rotated, err := c.ObtainAccessToken(ctx, "mobileTests")
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, rotated.Value) == kidOf(t, mobile.Value) {
		t.Fatal("the token after rotation has the old kid")
	}
	for name, tok := range map[string]string{"before rotation": mobile.Value, "after rotation": rotated.Value} {
		if _, err := rv.Validate(ctx, tok, "mobileTests"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// The Node package judges and answers these tokens as this one does.
	t.Run("node", func(t *testing.T) {
		node := nodetest.Toolchain(t, "node")
		nv := newValidator(t, resource.Config{JWKSURL: jwksURL, Issuer: base, MinRefreshInterval: time.Nanosecond})
		resp, err := http.Get(jwksURL)
		if err != nil {
			t.Fatal(err)
		}
		jwks, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		vs := vectorsFor(t, nv, []namedToken{
			{"hostd mobile token", mobile.Value, "mobileTests", ""},
			{"hostd web token", web.Value, "webTests", ""},
			{"hostd token after rotation", rotated.Value, "mobileTests", ""},
			{"hostd web token for the mobile test", web.Value, "mobileTests", ""},
			{"hostd token tampered", tampered, "mobileTests", ""},
		}, map[string][]string{"no Authorization": nil})
		for i, want := range []string{"ok", "ok", "ok", "insufficient_scope", "invalid_token"} {
			if vs[i].Want != want {
				t.Fatalf("%s: Go says %s, want %s", vs[i].Name, vs[i].Want, want)
			}
		}
		runNode(t, node, []string{writeVectors(t, vectorFile{Issuer: base, JWKSURL: jwksURL, JWKS: jwks, Cases: vs})}, "tests/vectors.test.js")
	})
}

// TestHostdExampleCallResource runs the example resource server against hostd; the client SDK's
// CallResource reads its WWW-Authenticate answers, obtains a token of the scope each endpoint
// names (walking that scope's challenges) and gets the resource.
func TestHostdExampleCallResource(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example resource server")
	}
	base := startHostd(t).URL
	bin := buildBinary(t, "./example")
	cmd := exec.Command(bin, "--jwks", base+"/oauth/jwks", "--issuer", base, "--listen", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	example, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("example's first line %q: %v", line, err)
	}

	ctx := context.Background()
	c := bankClient(t, base, "android")
	for _, tc := range []struct{ path, scope, device string }{
		{"/accounts", "mobileTests", "device-android"},
		{"/statements", "webTests", ""},
		{"/accounts", "mobileTests", "device-android"}, // with the token kept from the first call
	} {
		req, _ := http.NewRequestWithContext(ctx, "GET", example+tc.path, nil)
		resp, err := c.CallResource(ctx, req, tc.scope)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		var body struct {
			Resource string
			Client   resource.Client
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("%s: %d %v", tc.path, resp.StatusCode, err)
		}
		want := resource.Client{ApplicationID: "BankApp", UserID: "alice", DeviceID: tc.device, Scope: tc.scope, Subject: "alice", Audience: "BankApp"}
		if diff := cmp.Diff(want, body.Client, cmpopts.IgnoreFields(resource.Client{}, "TokenID", "IssuedAt", "ExpiresAt")); diff != "" {
			t.Errorf("%s: client (-want +got):\n%s", tc.path, diff)
		}
		if tok := c.LastAccessToken(tc.scope); tok == nil || tok.Scope != tc.scope {
			t.Errorf("%s: no token of %s kept", tc.path, tc.scope)
		}
	}
}

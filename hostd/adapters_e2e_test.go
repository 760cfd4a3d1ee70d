package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// adapterProject copies testdata/adapterproject into a temporary folder with the wasm adapter
// built from testdata/authadapter and the example go-plugin built from plugins/examples/pkibridge,
// each pinned by its SHA-256 in the adapter XML.
func adapterProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/adapterproject")); err != nil {
		t.Fatal(err)
	}
	wasm := adaptertest.BuildGoWasm(t, "testdata/authadapter")
	copyFile(t, wasm, filepath.Join(dir, "adapters/AuthAdapter/auth.wasm"))
	copyFile(t, buildPluginBridge(t), filepath.Join(dir, "adapters/Bridge/pkibridge"))
	os.Chmod(filepath.Join(dir, "adapters/Bridge/pkibridge"), 0o755)
	for _, a := range []struct{ name, file string }{{"AuthAdapter", "auth.wasm"}, {"Bridge", "pkibridge"}} {
		tmpl := filepath.Join(dir, "adapters", a.name, a.name+".xml.tmpl")
		b, err := os.ReadFile(tmpl)
		if err != nil {
			t.Fatal(err)
		}
		xml := strings.ReplaceAll(string(b), "{{SHA256}}", fileSHA256(t, filepath.Join(dir, "adapters", a.name, a.file)))
		mustWrite(t, filepath.Join(dir, "adapters", a.name, a.name+".xml"), xml)
		os.Remove(tmpl)
	}
	return dir
}

// buildPluginBridge builds the example go-plugin PKI bridge (plugins/examples/pkibridge), once
// per content of the plugin sources, and returns the binary's path.
func buildPluginBridge(t *testing.T) string {
	t.Helper()
	var inputs []string
	for _, pattern := range []string{"../plugins/*.go", "../plugins/*/*.go", "../plugins/*/*/*.go", "../plugins/*/*/*/*.go", "../adapters/*.go", "../internal/*/*.go", "../go.mod", "../go.sum"} {
		files, _ := filepath.Glob(pattern)
		inputs = append(inputs, files...)
	}
	return adaptertest.CachedBuild(t, "pkibridge-plugin", inputs, "", func(out string) error {
		cmd := exec.Command("go", "build", "-o", out, "../plugins/examples/pkibridge")
		b, err := cmd.CombinedOutput()
		if err != nil {
			return errors.New(string(b))
		}
		return nil
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func shopClient(t *testing.T, d *daemon.Daemon) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "ShopApp", Environment: "mobilewebapp", AppVersion: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// adapterLogin answers AuthRealm's challenge by calling submitAuthentication with a user name and
// password, and records the challenges it saw.
type adapterLogin struct {
	user, password string
	seen           []map[string]any
}

func (a *adapterLogin) handler() client.HandlerFunc {
	return func(_ context.Context, ch *client.Challenge) (*client.Answer, error) {
		var p map[string]any
		if err := json.Unmarshal(ch.Payload, &p); err != nil {
			return nil, err
		}
		a.seen = append(a.seen, p)
		pw := a.password
		if len(a.seen) == 1 && a.password == "" {
			pw = "wrong"
		}
		return &client.Answer{Body: map[string]any{"procedure": "submitAuthentication", "parameters": []string{a.user, pw}}}, nil
	}
}

func TestAdapterBasedAuthenticationAndProcedures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm adapter and a plugin")
	}
	dir := adapterProject(t)
	d := startDaemon(t, dir, "")
	c := shopClient(t, d)
	login := &adapterLogin{user: "carol"} // wrong password first, then the right one
	c.RegisterHandler("AuthRealm", client.HandlerFunc(func(ctx context.Context, ch *client.Challenge) (*client.Answer, error) {
		if len(login.seen) == 1 {
			login.password = "carol-password"
		}
		return login.handler()(ctx, ch)
	}))
	out, err := c.InvokeProcedure(context.Background(), "AuthAdapter", "getSecret", "x")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(out, &got)
	if diff := cmp.Diff(map[string]any{"secretFor": "carol", "parameters": []any{"x"}}, got); diff != "" {
		t.Errorf("getSecret (-want +got):\n%s", diff)
	}
	if len(login.seen) != 2 {
		t.Fatalf("%d challenges, want 2 (a wrong password, then the right one)", len(login.seen))
	}
	// The login function made the challenge; the wrong answer came back with the adapter's error.
	first, second := login.seen[0], login.seen[1]
	if first["authenticator"] != "adapter" || first["realmSeen"] != "AuthRealm" || first["authRequired"] != true {
		t.Errorf("first challenge %v: want the login-function's object", first)
	}
	if second["error"] != "unknown user or wrong password" {
		t.Errorf("second challenge %v: want the adapter's error message", second)
	}
	res, err := c.Init(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.User["userId"] != "carol" || res.User["displayName"] != "Carol" || res.User["realm"] != "AuthRealm" {
		t.Errorf("user identity %v", res.User)
	}

	// A plugin adapter serves procedures behind the same test, with its settings.
	cfg, err := c.InvokeProcedure(context.Background(), "Bridge", "config")
	if err != nil {
		t.Fatal(err)
	}
	var settings map[string]any
	json.Unmarshal(cfg, &settings)
	if settings["greeting"] != "hello from the plugin" || settings["adapter"] != "Bridge" {
		t.Errorf("plugin config %v", settings)
	}
	echo, err := c.InvokeProcedure(context.Background(), "Bridge", "echo", "hi")
	if err != nil {
		t.Fatal(err)
	}
	var echoed map[string]any
	json.Unmarshal(echo, &echoed)
	if params, _ := echoed["parameters"].([]any); len(params) != 1 || params[0] != "hi" {
		t.Errorf("plugin echo %s", echo)
	}

	// A guest that traps fails its call with a clear error, and the daemon keeps serving.
	_, err = c.InvokeProcedure(context.Background(), "AuthAdapter", "explode")
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 500 || ce.Code != "adapter_failure" {
		t.Errorf("trapping procedure: %v, want 500 adapter_failure", err)
	}
	if _, err := c.InvokeProcedure(context.Background(), "AuthAdapter", "getSecret"); err != nil {
		t.Errorf("after a trap: %v", err)
	}

	// Logout calls the logout function and the next request asks again.
	if err := c.Logout(context.Background(), "AuthRealm"); err != nil {
		t.Fatal(err)
	}
	login.seen, login.password = nil, "carol-password"
	c.RegisterHandler("AuthRealm", login.handler())
	if _, err := c.InvokeProcedure(context.Background(), "AuthAdapter", "getSecret"); err != nil || len(login.seen) != 1 {
		t.Errorf("after logout: err %v, %d challenges (want 1)", err, len(login.seen))
	}
}

func TestAdapterPinMismatchRefusesToStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm adapter and a plugin")
	}
	dir := adapterProject(t)
	path := filepath.Join(dir, "adapters/AuthAdapter/auth.wasm")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	s, _ := daemon.LoadSettings(dir)
	s.Listen, s.Data = "127.0.0.1:0", t.TempDir()
	_, err = daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s})
	if err == nil || !strings.Contains(err.Error(), "AuthAdapter.xml:4") || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("start with a tampered module: %v, want a pin error at AuthAdapter.xml:4", err)
	}
}

// Package hostdtest starts the real Realmgate daemon for tests: the engine, the HTTP server, the
// embedded store in a temporary data folder and the project's adapters, exactly as `hostd serve`
// wires them, listening on 127.0.0.1. Code built on the wire protocol (the client SDK, resource
// servers, the examples) is tested against it, so that there is one implementation of the
// protocol and nothing to drift from it.
//
// A test names a Worklight-shaped project directory and gets the daemon's base URL, an admin
// token and a way to call the admin API, the provisioning CA that `hostd ca init` made for the
// run, the token issuer and JWKS URL, and a record of every request the daemon received (what a
// client sent, as the daemon saw it).
//
// Only tests import this package.
package hostdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/pki"
)

// Options change how Start runs the daemon. The zero value serves the project as it is, with a
// fresh data folder and a provisioning CA made for the run.
type Options struct {
	// Files are written into a copy of the project directory before the daemon starts, by
	// slash-separated path relative to the project; the daemon then serves the copy. They carry
	// what a test makes: adapter modules it built, PKCS#12 files, XML it rendered. Without
	// Files the project directory is served in place (the daemon does not write to it). A
	// project whose adapters development mode builds from source (<backend source="...">) is
	// served in place: the source builds only inside its Go module.
	Files map[string][]byte
	// AndroidRoots are the roots Android Key Attestation chains of wl_authenticityRealm lead to
	// (the setting authenticity.androidRoots), added to the project's own.
	AndroidRoots []*x509.Certificate
	// Data is the data folder (store, keys, provisioning CA); default a new temporary folder.
	// The folder of a stopped daemon starts a new one on the same state.
	Data string
	// NoProvisioningCA leaves out `hostd ca init`: without a CA (and outside development mode)
	// the daemon refuses device auto-provisioning.
	NoProvisioningCA bool
	// Logger receives the daemon's log; default: discarded.
	Logger *slog.Logger
}

// Daemon is a running daemon.
type Daemon struct {
	// URL is the base URL, http://127.0.0.1:PORT.
	URL string
	// AdminToken is the bearer token of the admin API (see Admin).
	AdminToken string
	// Dir is the project directory served: the one given to Start, or its copy with Files.
	Dir string
	// Data is the data folder.
	Data string
	// Issuer is the iss of the access tokens the daemon mints; JWKSURL is where it publishes
	// their verification keys.
	Issuer, JWKSURL string

	d       *daemon.Daemon
	rec     *recorder
	ca      *x509.Certificate
	cleanup []func()
	closed  bool
}

// Start starts the daemon on the project in dir and stops it when the test ends. A project the
// daemon refuses fails the test with the daemon's diagnostics.
func Start(tb testing.TB, dir string, opts Options) *Daemon {
	tb.Helper()
	if opts.Data == "" {
		opts.Data = tb.TempDir()
	}
	var project string
	if len(opts.Files) > 0 {
		project = tb.TempDir()
	}
	d, err := start(dir, project, adaptertest.CompilationCacheDir(tb), opts)
	if err != nil {
		tb.Fatalf("hostdtest: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// Launch is Start for code that has no testing.TB (examples): the caller stops the daemon with
// Close, which also removes the temporary folders Launch made.
func Launch(dir string, opts Options) (*Daemon, error) {
	var made []string
	removeAll := func() {
		for _, m := range made {
			os.RemoveAll(m)
		}
	}
	if opts.Data == "" {
		data, err := os.MkdirTemp("", "hostdtest-data-")
		if err != nil {
			return nil, err
		}
		made, opts.Data = append(made, data), data
	}
	var project string
	if len(opts.Files) > 0 {
		p, err := os.MkdirTemp("", "hostdtest-project-")
		if err != nil {
			removeAll()
			return nil, err
		}
		made, project = append(made, p), p
	}
	d, err := start(dir, project, sharedCompilationCache(), opts)
	if err != nil {
		removeAll()
		return nil, fmt.Errorf("hostdtest: %w", err)
	}
	d.cleanup = append(d.cleanup, removeAll)
	return d, nil
}

// sharedCompilationCache is adaptertest.CompilationCacheDir without a test: the folder of
// compiled wasm modules that every test process of the machine shares, or "" (the daemon's own
// default under its data folder) when there is none.
func sharedCompilationCache() string {
	dir := os.Getenv(adaptertest.CacheDirEnv)
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(base, "realmgate-test")
	}
	dir = filepath.Join(dir, "compiled")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	return dir
}

// start copies the project into copyTo when there are Files, prepares the data folder and starts
// the daemon.
func start(dir, copyTo, compiled string, opts Options) (*Daemon, error) {
	if copyTo != "" {
		if err := copyProject(dir, copyTo, opts.Files); err != nil {
			return nil, err
		}
		dir = copyTo
	}
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		return nil, err
	}
	s.Listen = "127.0.0.1:0"
	s.Data = opts.Data
	if compiled != "" {
		// Compiled wasm modules are shared by every daemon of the test run: compiling a Go
		// guest takes seconds, more under the race detector.
		s.AdapterCacheDir = compiled
	}
	if err := os.MkdirAll(s.Data, 0o700); err != nil {
		return nil, err
	}
	var ca *x509.Certificate
	if !opts.NoProvisioningCA {
		if ca, err = provisioningCA(s); err != nil {
			return nil, err
		}
	}
	if len(opts.AndroidRoots) > 0 {
		var roots bytes.Buffer
		for _, c := range opts.AndroidRoots {
			pem.Encode(&roots, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		f := filepath.Join(s.Data, "hostdtest-android-roots.pem")
		if err := os.WriteFile(f, roots.Bytes(), 0o600); err != nil {
			return nil, err
		}
		s.Authenticity.AndroidRoots = append(s.Authenticity.AndroidRoots, f)
	}
	token, err := randomToken()
	if err != nil {
		return nil, err
	}
	rec := newRecorder(s.Limits.MaxBodyBytes)
	d, err := daemon.Start(context.Background(), daemon.Options{
		ConfigDir: dir, Settings: s, Logger: opts.Logger, AdminToken: token, Wrap: rec.wrap,
	})
	if err != nil {
		return nil, err
	}
	url := "http://" + d.Addr()
	return &Daemon{
		URL: url, AdminToken: token, Dir: dir, Data: s.Data,
		Issuer: d.Issuer(), JWKSURL: url + "/oauth/jwks",
		d: d, rec: rec, ca: ca,
	}, nil
}

// provisioningCA does what `hostd ca init` does before a first start: it creates the
// provisioning CA in the folder the settings name, unless one is there.
func provisioningCA(s daemon.Settings) (*x509.Certificate, error) {
	dir := s.Provisioning.CADir
	if dir == "" {
		dir = filepath.Join(s.Data, "ca")
	}
	ca, err := pki.LoadCA(dir)
	if errors.Is(err, fs.ErrNotExist) {
		ca, err = pki.InitCA(dir, pki.CAOptions{CommonName: "hostdtest provisioning CA"})
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning CA: %w", err)
	}
	return ca.Cert, nil
}

// copyProject copies the project in from to to and writes files over it. A file may not leave
// the copy.
func copyProject(from, to string, files map[string][]byte) error {
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		return fmt.Errorf("copying the project: %w", err)
	}
	root, err := os.OpenRoot(to)
	if err != nil {
		return err
	}
	defer root.Close()
	for name, b := range files {
		if !fs.ValidPath(name) {
			return fmt.Errorf("file %q: not a slash-separated path inside the project", name)
		}
		if err := root.MkdirAll(filepath.Dir(filepath.FromSlash(name)), 0o755); err != nil {
			return fmt.Errorf("file %s: %w", name, err)
		}
		if err := root.WriteFile(filepath.FromSlash(name), b, 0o644); err != nil {
			return fmt.Errorf("file %s: %w", name, err)
		}
	}
	return nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Close stops the daemon: requests in flight finish, the store is closed. Start's daemons are
// closed when their test ends; closing twice is harmless.
func (d *Daemon) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	err := d.d.Shutdown(context.Background())
	for _, f := range d.cleanup {
		f()
	}
	return err
}

// ProvisioningCA returns the certificate of the provisioning CA made for the run (nil with
// NoProvisioningCA): the root of the device certificates the daemon issues.
func (d *Daemon) ProvisioningCA() *x509.Certificate { return d.ca }

// ProvisioningRoots is ProvisioningCA as a pool, for verifying chains.
func (d *Daemon) ProvisioningRoots() *x509.CertPool {
	pool := x509.NewCertPool()
	if d.ca != nil {
		pool.AddCert(d.ca)
	}
	return pool
}

// adminClient bounds admin calls: a test waits for no daemon forever.
var adminClient = &http.Client{Timeout: 30 * time.Second}

// Admin calls the admin API (PROTOCOL.md section 8) with the daemon's admin token: method on
// path ("/admin/v1/devices"), with body as the request (nil: none; a string or []byte as is;
// anything else as JSON), the reply decoded into out when out is not nil. It returns the reply's
// status; a reply that does not decode into out is an error.
func (d *Daemon) Admin(method, path string, body, out any) (int, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, fmt.Errorf("hostdtest: admin request body: %w", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, d.URL+path, r)
	if err != nil {
		return 0, fmt.Errorf("hostdtest: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+d.AdminToken)
	req.Header.Set(ownRequest, "1")
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := adminClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("hostdtest: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("hostdtest: %s %s: %w", method, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("hostdtest: %s %s: %d reply %q: %w", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, nil
}

// Requests returns the requests the daemon received so far, oldest first (in the order they
// arrived), but those Admin made.
func (d *Daemon) Requests() []Request { return d.rec.requests() }

// Count returns how many of the Requests had this method and path.
func (d *Daemon) Count(method, path string) int {
	n := 0
	for _, r := range d.rec.requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// Sessions returns how many sessions the daemon opened, as its WL_SESSION cookies tell: a
// session whose id the daemon replaced (at a user login) counts once, and a request that came
// back with a replaced id and got a new session counts as a new one.
func (d *Daemon) Sessions() int { return d.rec.sessions() }

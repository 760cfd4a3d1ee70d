// Package policybundle reads the OPA bundles that carry a deployment's own policies and their
// data: Rego modules in packages under realmgate.user and JSON data under data.realmgate.user.
// A bundle comes from a directory, a bundle file (.tar.gz, as `opa build` writes it) or a URL
// polled with ETag; a signed bundle is verified with OPA's bundle signing, as `opa run
// --verification-key` verifies it. The reading is OPA's own (package bundle); this package adds
// what Realmgate requires of a bundle: its roots lie under realmgate/user, so that a bundle
// cannot redefine a security test, the router, the library or the project's configuration.
package policybundle

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/keys"
)

// Root is the one tree a bundle may write: data.realmgate.user and the packages under
// realmgate.user. A bundle's .manifest must declare roots inside it.
const Root = "realmgate/user"

// DefaultMaxBytes bounds a bundle file, a downloaded bundle and every file in a bundle.
const DefaultMaxBytes = 32 << 20

// Module is one Rego file of a bundle.
type Module struct {
	// Path is the file's path inside the bundle ("/policies/transfers.rego").
	Path   string
	Source string
}

// Bundle is a bundle read and checked: what the daemon compiles beside the project's policies.
type Bundle struct {
	// Revision is the manifest's revision, or, when the manifest has none, the first 16 hex
	// digits of Digest.
	Revision string
	// Roots are the manifest's roots, all under Root.
	Roots []string
	// Modules are the bundle's Rego files except its tests; Tests are its *_test.rego files,
	// run before the bundle is activated.
	Modules []Module
	Tests   []Module
	// Data is the bundle's data document (from its data.json and data.yaml files), rooted at
	// data: {"realmgate": {"user": {...}}}, or nil when it has none.
	Data map[string]any
	// Digest is the SHA-256 of the modules and data: two bundles with the same digest compile to
	// the same policy.
	Digest string
}

// Error is a bundle that cannot be used: it does not read, its signature does not verify, or it
// writes outside Root.
type Error struct {
	Source string // the path or URL
	Err    error
}

func (e *Error) Error() string { return "bundle " + e.Source + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Options say how bundles are read.
type Options struct {
	// Verification, when set, requires a signature that verifies with its keys (OPA's
	// .signatures.json); nil reads unsigned bundles and ignores signatures.
	Verification *bundle.VerificationConfig
	// MaxBytes bounds the bundle and each of its files (default DefaultMaxBytes).
	MaxBytes int64
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

// VerificationConfig builds the verification of signed bundles from a public key (PEM) or an
// HMAC secret file, its algorithm (RS256 when empty, as OPA), the key id the signatures name
// (default "default") and the scope they must claim (none when empty).
func VerificationConfig(keyFile, alg, keyID, scope string) (*bundle.VerificationConfig, error) {
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("verification key: %w", err)
	}
	if alg == "" {
		alg = "RS256"
	}
	if keyID == "" {
		keyID = "default"
	}
	kc, err := keys.NewKeyConfig(string(key), alg, scope)
	if err != nil {
		return nil, fmt.Errorf("verification key %s: %w", keyFile, err)
	}
	return bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{keyID: kc}, keyID, scope, nil), nil
}

// ReadPath reads a bundle from a directory or a bundle file.
func ReadPath(p string, opts Options) (*Bundle, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, &Error{Source: p, Err: err}
	}
	if fi.IsDir() {
		b, err := read(bundle.NewDirectoryLoader(p), opts)
		if err != nil {
			return nil, &Error{Source: p, Err: err}
		}
		return b, nil
	}
	if fi.Size() > opts.maxBytes() {
		return nil, &Error{Source: p, Err: fmt.Errorf("the file is larger than %d bytes", opts.maxBytes())}
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, &Error{Source: p, Err: err}
	}
	b, err := ReadTarball(raw, opts)
	if err != nil {
		return nil, &Error{Source: p, Err: err}
	}
	return b, nil
}

// ReadTarball reads a bundle file's bytes (a gzip'd tar, as `opa build` writes it).
func ReadTarball(raw []byte, opts Options) (*Bundle, error) {
	return read(bundle.NewTarballLoaderWithBaseURL(bytes.NewReader(raw), ""), opts)
}

func read(loader bundle.DirectoryLoader, opts Options) (*Bundle, error) {
	r := bundle.NewCustomReader(loader).
		WithRegoVersion(ast.RegoV1).
		WithSizeLimitBytes(opts.maxBytes())
	if opts.Verification != nil {
		r = r.WithBundleVerificationConfig(opts.Verification)
	} else {
		r = r.WithSkipBundleVerification(true)
	}
	b, err := r.Read()
	if err != nil {
		return nil, err
	}
	return convert(b)
}

// convert checks an OPA bundle against what Realmgate accepts and keeps what it compiles.
func convert(b bundle.Bundle) (*Bundle, error) {
	if b.Type() != bundle.SnapshotBundleType {
		return nil, errors.New("delta bundles are not supported: build a snapshot bundle")
	}
	if b.Manifest.Roots == nil || len(*b.Manifest.Roots) == 0 {
		return nil, fmt.Errorf("the .manifest declares no roots: declare roots under %s, for example {\"roots\": [%q]}", Root, Root)
	}
	out := &Bundle{Revision: b.Manifest.Revision}
	for _, root := range *b.Manifest.Roots {
		if root == "" {
			// OPA reads a manifest without roots as the one root "", all of data.
			return nil, fmt.Errorf("the .manifest declares no roots: declare roots under %s, for example {\"roots\": [%q]}", Root, Root)
		}
		if !underRoot(root) {
			return nil, fmt.Errorf("the .manifest root %q is outside %s: a bundle may only carry the deployment's own rules and data", root, Root)
		}
		out.Roots = append(out.Roots, root)
	}
	if len(b.WasmModules) > 0 || len(b.PlanModules) > 0 {
		return nil, errors.New("the bundle holds compiled (wasm or plan) policies: only Rego source is accepted")
	}
	if err := checkData(b.Data); err != nil {
		return nil, err
	}
	if len(b.Data) > 0 {
		out.Data = b.Data
	}
	for _, m := range b.Modules {
		mod := Module{Path: m.Path, Source: string(m.Raw)}
		if m.Parsed != nil && !inRoots(strings.ReplaceAll(strings.TrimPrefix(m.Parsed.Package.Path.String(), "data."), ".", "/"), out.Roots) {
			// OPA's reader checks the roots too; this also covers a package written with a
			// quoted path ("realmgate.user[\"x.y\"]").
			return nil, fmt.Errorf("%s: package %s is outside the .manifest roots", m.Path, m.Parsed.Package.Path)
		}
		if strings.HasSuffix(m.Path, "_test.rego") {
			out.Tests = append(out.Tests, mod)
		} else {
			out.Modules = append(out.Modules, mod)
		}
	}
	sort.Slice(out.Modules, func(i, j int) bool { return out.Modules[i].Path < out.Modules[j].Path })
	sort.Slice(out.Tests, func(i, j int) bool { return out.Tests[i].Path < out.Tests[j].Path })
	digest, err := out.digest()
	if err != nil {
		return nil, err
	}
	out.Digest = digest
	if out.Revision == "" {
		out.Revision = digest[:16]
	}
	return out, nil
}

// underRoot reports whether a manifest root lies inside Root.
func underRoot(root string) bool {
	root = strings.Trim(root, "/")
	return root == Root || strings.HasPrefix(root, Root+"/") && path.Clean(root) == root
}

// inRoots reports whether a slash-separated data path lies in one of roots.
func inRoots(p string, roots []string) bool {
	for _, r := range roots {
		r = strings.Trim(r, "/")
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// checkData refuses data outside data.realmgate.user (OPA's reader also holds it to the roots).
func checkData(data map[string]any) error {
	for k, v := range data {
		if k != "realmgate" {
			return fmt.Errorf("data.%s is outside data.realmgate.user", k)
		}
		rg, ok := v.(map[string]any)
		if !ok {
			return errors.New("data.realmgate is not an object")
		}
		for k := range rg {
			if k != "user" {
				return fmt.Errorf("data.realmgate.%s is outside data.realmgate.user", k)
			}
		}
	}
	return nil
}

func (b *Bundle) digest() (string, error) {
	h := sha256.New()
	for _, set := range [][]Module{b.Modules, b.Tests} {
		for _, m := range set {
			fmt.Fprintf(h, "%s\x00%d\x00%s", m.Path, len(m.Source), m.Source)
		}
		h.Write([]byte{1})
	}
	data, err := json.Marshal(b.Data) // map keys sorted: a stable encoding
	if err != nil {
		return "", fmt.Errorf("bundle data: %w", err)
	}
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ErrNotModified is a poll answered 304 Not Modified: the bundle of the ETag sent is current.
var ErrNotModified = errors.New("policybundle: not modified")

// Fetcher downloads a bundle from a URL, sending the ETag of the last bundle it read in
// If-None-Match so that an unchanged bundle is neither sent nor read again.
type Fetcher struct {
	URL    string
	Client *http.Client
	Opts   Options
	// Token, when set, is sent as a bearer token (Authorization: Bearer), as OPA's bundle
	// service credentials do.
	Token string

	etag string
}

// Fetch downloads the bundle. It returns ErrNotModified when the server answers 304 to the ETag
// of the last bundle read. The ETag is only kept once a bundle was read and checked, so that a
// bundle refused is fetched again at the next poll.
func (f *Fetcher) Fetch(ctx context.Context) (*Bundle, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.URL, nil)
	if err != nil {
		return nil, &Error{Source: f.URL, Err: err}
	}
	if f.etag != "" {
		req.Header.Set("If-None-Match", f.etag)
	}
	if f.Token != "" {
		req.Header.Set("Authorization", "Bearer "+f.Token)
	}
	req.Header.Set("Accept", "application/gzip, application/octet-stream")
	c := f.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, &Error{Source: f.URL, Err: err}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, ErrNotModified
	default:
		return nil, &Error{Source: f.URL, Err: fmt.Errorf("the server answered %s", resp.Status)}
	}
	max := f.Opts.maxBytes()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, &Error{Source: f.URL, Err: err}
	}
	if int64(len(raw)) > max {
		return nil, &Error{Source: f.URL, Err: fmt.Errorf("the bundle is larger than %d bytes", max)}
	}
	b, err := ReadTarball(raw, f.Opts)
	if err != nil {
		return nil, &Error{Source: f.URL, Err: err}
	}
	f.etag = resp.Header.Get("ETag")
	return b, nil
}

// Forget drops the ETag, so that the next Fetch downloads the bundle whatever it is.
func (f *Fetcher) Forget() { f.etag = "" }

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/js"
	"github.com/realmgate/realmgate/pki"
)

// The flags of hostd adapter test for what a daemon would give an adapter from its project:
// a JavaScript adapter's engine module and <connectivity>, an outbound allow-list, and the
// host PKI capability's CA. With them a Worklight JavaScript PKI bridge (NAME-impl.js) is
// tested as the daemon would run it.
type jsTestFlags struct {
	engine       string
	connectivity string
	allow        multiFlag
	pkiCA        string
	cache        string
}

func (f *jsTestFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.engine, "js-engine", "", "JavaScript engine module (hostd adapter build-js-engine); default: built from source, which needs a checkout, clang for wasm and the QuickJS source")
	fs.StringVar(&f.connectivity, "connectivity", "", "a JavaScript adapter's back end, as its <connectivity>: http://HOST:PORT (also allowed outbound)")
	fs.Var(&f.allow, "allow", "HOST:PORT the adapter may request over HTTP (repeatable)")
	fs.StringVar(&f.cache, "cache", "", "folder of compiled modules kept across runs (default: a temporary folder)")
	fs.StringVar(&f.pkiCA, "pki-ca", "", "folder of ca.pem and ca-key.pem: grants the host PKI capability with that CA, as <capability name=\"pki\" ca=\"...\"/>")
}

// isJavaScript reports whether the file to test is a JavaScript adapter's script.
func isJavaScript(file string) bool { return strings.HasSuffix(file, ".js") }

// apply adds what the flags say to cfg; for a JavaScript adapter it finds or builds the engine
// module (into dir) and pins it.
func (f *jsTestFlags) apply(ctx context.Context, cfg *adapters.Config, dir string) error {
	if f.connectivity != "" {
		u, err := url.Parse(f.connectivity)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			return fmt.Errorf("--connectivity %q is not http(s)://HOST:PORT", f.connectivity)
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		f.allow = append(f.allow, net.JoinHostPort(u.Hostname(), port))
		cfg.Settings[js.SettingConnectivity] = u.Scheme + "://" + u.Host
	}
	for _, hp := range f.allow {
		host, portS, err := net.SplitHostPort(hp)
		port, perr := strconv.Atoi(portS)
		if err != nil || perr != nil || host == "" || port < 1 || port > 65535 {
			return fmt.Errorf("--allow %q is not HOST:PORT", hp)
		}
		cfg.AllowHTTP = append(cfg.AllowHTTP, adapters.HostPort{Host: strings.ToLower(host), Port: port})
	}
	if f.pkiCA != "" {
		ca, err := pki.LoadCA(f.pkiCA)
		if err != nil {
			return fmt.Errorf("--pki-ca: %w", err)
		}
		cfg.PKI = &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: filepath.Base(f.pkiCA)}
	}
	if cfg.Kind != js.Kind {
		return nil
	}
	module := f.engine
	if module == "" {
		src, err := js.EngineSource()
		if err != nil {
			return fmt.Errorf("no --js-engine, and the engine's source is not found: %w", err)
		}
		module = filepath.Join(dir, "jsengine.wasm")
		if err := js.BuildEngine(ctx, src, module); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(module)
	if err != nil {
		return fmt.Errorf("--js-engine: %w", err)
	}
	sum := sha256.Sum256(b)
	cfg.Module, cfg.SHA256 = module, hex.EncodeToString(sum[:])
	return nil
}

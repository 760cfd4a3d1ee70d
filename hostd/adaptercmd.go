package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/conformance"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// cmdAdapterTest runs the adapter conformance suite and the PKI-bridge contract check against a
// wasm module or a plugin, without a daemon, with the conformance package's own runner (the
// daemon's binary does not link the testing package). It exits 1 when a check fails.
func cmdAdapterTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hostd adapter test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	plugin := fs.String("plugin", "", "plugin command to test instead of a wasm module (argv, split on spaces)")
	var settings, settingFiles multiFlag
	fs.Var(&settings, "setting", "adapter setting NAME=VALUE (repeatable)")
	fs.Var(&settingFiles, "setting-file", "adapter setting NAME=FILE, the value read from FILE (repeatable), e.g. ca-key=ca-key.pem")
	issuer := fs.String("issuer", "", "PEM CA certificate the bridge signs with: generated certificates must verify against it")
	verbose := fs.Bool("v", false, "print every check")
	var jsf jsTestFlags // adaptertestjs.go
	jsf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hostd adapter test [flags] MODULE.wasm | NAME-impl.js | --plugin CMD")
		fs.PrintDefaults()
	}
	// Flags may come after the module.
	var module string
	rest := args
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		rest = fs.Args()
		if len(rest) > 0 {
			if module != "" {
				fmt.Fprintln(stderr, "hostd adapter test: give one module")
				return 2
			}
			module, rest = rest[0], rest[1:]
		}
	}
	if (module == "") == (*plugin == "") {
		fs.Usage()
		return 2
	}
	cfg := adapters.Config{Settings: map[string]string{}}
	for _, s := range settings {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			fmt.Fprintf(stderr, "hostd adapter test: --setting %q is not NAME=VALUE\n", s)
			return 2
		}
		cfg.Settings[k] = v
	}
	for _, s := range settingFiles {
		k, f, ok := strings.Cut(s, "=")
		if !ok {
			fmt.Fprintf(stderr, "hostd adapter test: --setting-file %q is not NAME=FILE\n", s)
			return 2
		}
		b, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(stderr, "hostd adapter test:", err)
			return 1
		}
		cfg.Settings[k] = string(b)
	}
	var fx conformance.PKIFixture
	if *issuer != "" {
		b, err := os.ReadFile(*issuer)
		if err != nil {
			fmt.Fprintln(stderr, "hostd adapter test:", err)
			return 1
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			fmt.Fprintf(stderr, "hostd adapter test: %s holds no PEM certificate\n", *issuer)
			return 1
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			fmt.Fprintln(stderr, "hostd adapter test: --issuer:", err)
			return 1
		}
		fx.Issuer = cert
	}
	file := module
	if *plugin != "" {
		cfg.Kind = "plugin"
		cfg.Command = strings.Fields(*plugin)
		file = cfg.Command[0]
	} else if isJavaScript(module) {
		cfg.Kind = "js"
	} else {
		cfg.Kind = "wasm"
		cfg.Module = module
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		fmt.Fprintln(stderr, "hostd adapter test:", err)
		return 1
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		fmt.Fprintln(stderr, "hostd adapter test:", err)
		return 1
	}
	sum := sha256.Sum256(data)
	cfg.SHA256 = hex.EncodeToString(sum[:])
	switch cfg.Kind {
	case "plugin":
		cfg.Command[0] = abs
	case "js":
		cfg.Script = abs
	default:
		cfg.Module = abs
	}
	fmt.Fprintf(stdout, "testing %s adapter %s (sha256 %s)\n", cfg.Kind, file, cfg.SHA256)

	cacheDir, err := os.MkdirTemp("", "hostd-adapter-test-")
	if err != nil {
		fmt.Fprintln(stderr, "hostd adapter test:", err)
		return 1
	}
	defer os.RemoveAll(cacheDir)
	if err := jsf.apply(ctx, &cfg, cacheDir); err != nil {
		fmt.Fprintln(stderr, "hostd adapter test:", err)
		return 1
	}
	open := func(t conformance.T, base adapters.Config) adapters.Adapter {
		c := base
		c.Kind, c.Module, c.Command, c.SHA256 = cfg.Kind, cfg.Module, cfg.Command, cfg.SHA256
		c.Script, c.AllowHTTP, c.PKI = cfg.Script, cfg.AllowHTTP, cfg.PKI
		for k, v := range cfg.Settings {
			if c.Settings == nil {
				c.Settings = map[string]string{}
			}
			c.Settings[k] = v
		}
		c.CacheDir = cacheDir
		if jsf.cache != "" {
			c.CacheDir = jsf.cache
		}
		a, err := adapters.Open(t.Context(), c)
		if err != nil {
			t.Fatalf("opening the adapter: %v", err)
		}
		return a
	}
	r := conformance.NewRunner(ctx, stdout, *verbose)
	r.Run("Conformance", func(t conformance.T) {
		probe := open(t, conformance.Config(conformance.NewLogRecorder()))
		procs := probe.Procedures()
		probe.Close(context.Background())
		for _, p := range conformance.CoreProcedures {
			if !slices.Contains(procs, p) {
				t.Skipf("the adapter does not export the core conformance procedures (%s); it exports %s",
					strings.Join(conformance.CoreProcedures, ", "), strings.Join(procs, ", "))
			}
		}
		conformance.Run(t, open)
	})
	r.Run("PKIBridge", func(t conformance.T) {
		a := open(t, conformance.Config(conformance.NewLogRecorder()))
		defer a.Close(context.Background())
		conformance.PKIBridge(t, a, fx)
	})
	_, failed, _ := r.Counts()
	verdict := "PASS"
	if failed > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(stdout, "%s: %s\n", verdict, r.Summary())
	if failed > 0 {
		return 1
	}
	return 0
}

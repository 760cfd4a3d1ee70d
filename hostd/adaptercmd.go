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
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// cmdAdapterTest runs the adapter conformance suite and the PKI-bridge contract check against a
// wasm module or a plugin, without a daemon. The suites are Go tests (package adaptertest), run
// here through the testing package's own runner, which ends the process with its exit code.
func cmdAdapterTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hostd adapter test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	plugin := fs.String("plugin", "", "plugin command to test instead of a wasm module (argv, split on spaces)")
	var settings, settingFiles multiFlag
	fs.Var(&settings, "setting", "adapter setting NAME=VALUE (repeatable)")
	fs.Var(&settingFiles, "setting-file", "adapter setting NAME=FILE, the value read from FILE (repeatable), e.g. ca-key=ca-key.pem")
	issuer := fs.String("issuer", "", "PEM CA certificate the bridge signs with: generated certificates must verify against it")
	verbose := fs.Bool("v", false, "print every check")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hostd adapter test [flags] MODULE.wasm | --plugin CMD")
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
	var fx adaptertest.PKIFixture
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
	if cfg.Kind == "plugin" {
		cfg.Command[0] = abs
	} else {
		cfg.Module = abs
	}
	fmt.Fprintf(stdout, "testing %s adapter %s (sha256 %s)\n", cfg.Kind, file, cfg.SHA256)

	open := func(t *testing.T, base adapters.Config) adapters.Adapter {
		c := base
		c.Kind, c.Module, c.Command, c.SHA256 = cfg.Kind, cfg.Module, cfg.Command, cfg.SHA256
		for k, v := range cfg.Settings {
			if c.Settings == nil {
				c.Settings = map[string]string{}
			}
			c.Settings[k] = v
		}
		c.CacheDir = t.TempDir()
		a, err := adapters.Open(t.Context(), c)
		if err != nil {
			t.Fatalf("opening the adapter: %v", err)
		}
		return a
	}
	tests := []testing.InternalTest{
		{Name: "Conformance", F: func(t *testing.T) {
			probe := open(t, adaptertest.Config(adaptertest.NewLogRecorder()))
			procs := probe.Procedures()
			probe.Close(context.Background())
			for _, p := range adaptertest.CoreProcedures {
				if !slices.Contains(procs, p) {
					t.Skipf("the adapter does not export the core conformance procedures (%s); it exports %s",
						strings.Join(adaptertest.CoreProcedures, ", "), strings.Join(procs, ", "))
				}
			}
			adaptertest.Run(t, open)
		}},
		{Name: "PKIBridge", F: func(t *testing.T) {
			a := open(t, adaptertest.Config(adaptertest.NewLogRecorder()))
			defer a.Close(context.Background())
			adaptertest.PKIBridge(t, a, fx)
		}},
	}
	testArgs := []string{os.Args[0]}
	if *verbose {
		testArgs = append(testArgs, "-test.v")
	}
	os.Args = testArgs
	testing.Init()
	// testing.Main exits the process with the suites' result.
	testing.Main(func(string, string) (bool, error) { return true, nil }, tests, nil, nil)
	return 0
}

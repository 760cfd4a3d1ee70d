package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/internal/jscheck"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
)

const usage = `hostd: the Realmgate daemon

Usage:
  hostd serve --config DIR [--settings FILE] [--listen 127.0.0.1:10080] [--data DIR] [--admin-token-file F]
  hostd check --config DIR [--verbose] [--bundle PATH]
  hostd migrate --config DIR [--dry-run]
  hostd policy compile --config DIR --out DIR
  hostd policy test --config DIR [--coverage] [--min PCT] [--format text|json]
  hostd policy explain --config DIR --resource KIND:NAME [--passed REALM,...] [--facts FILE] [--trace] [--format text|json]
  hostd policy explain --config DIR --decision ID --log FILE [--facts FILE] [--trace] [--format text|json]
  hostd policy explain --config DIR --test NAME [--passed REALM,...] [--input FILE]
  hostd policy diff --config OLD --config NEW [--format text|markdown|json]   (DIR or DIR@REV)
  hostd ca init [--data DIR] [--algorithm ecdsa-p256|rsa-3072|ed25519]
  hostd adapter test [--setting N=V] [--setting-file N=FILE] [--issuer CA.pem] MODULE.wasm | --plugin CMD
  hostd adapter test [--js-engine FILE] [--connectivity URL] [--allow H:P] [--pki-ca DIR] [--cache DIR] [--issuer CA.pem] NAME-impl.js
  hostd adapter build-js-engine --out FILE

Run "hostd COMMAND -h" for a command's flags.
`

// run is main without the process: it returns the exit code, so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdout, stderr)
	case "check":
		return cmdCheck(ctx, args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, args[1:], stdout, stderr)
	case "policy":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		switch args[1] {
		case "compile":
			return cmdPolicyCompile(ctx, args[2:], stdout, stderr)
		case "test":
			return cmdPolicyTest(ctx, args[2:], stdout, stderr)
		case "explain":
			return cmdPolicyExplain(ctx, args[2:], stdout, stderr)
		case "lint":
			return cmdPolicyLint(ctx, args[2:], stdout, stderr)
		case "diff":
			return cmdPolicyDiff(ctx, args[2:], stdout, stderr)
		}
	case "adapter":
		if len(args) >= 2 && args[1] == "test" {
			return cmdAdapterTest(ctx, args[2:], stdout, stderr)
		}
		if len(args) >= 2 && args[1] == "build-js-engine" {
			return cmdBuildJSEngine(ctx, args[2:], stdout, stderr) // jsenginecmd.go
		}
	case "ca":
		if len(args) >= 2 && args[1] == "init" {
			return cmdCAInit(args[2:], stdout, stderr)
		}
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "hostd: unknown command %q\n\n%s", strings.Join(args, " "), usage)
	return 2
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("hostd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", stderr)
	dir := fs.String("config", "", "project directory (holds server/conf/authenticationConfig.xml)")
	settingsFile := fs.String("settings", "", "settings file (default CONFIG/hostd.yaml, if there is one)")
	listen := fs.String("listen", "", "address to listen on (default 127.0.0.1:10080, or hostd.yaml's listen)")
	data := fs.String("data", "", "folder of the embedded store and generated keys (default ./data)")
	tokenFile := fs.String("admin-token-file", "", "file holding the admin API bearer token (or set HOSTD_ADMIN_TOKEN)")
	adapterCache := fs.String("adapter-cache", "", "folder of compiled wasm modules (default DATA/adapter-cache)")
	logFormat := fs.String("log-format", "json", "log format: json or text")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "hostd serve: --config DIR is required")
		return 2
	}
	log, err := newLogger(stdout, *logFormat, *logLevel)
	if err != nil {
		fmt.Fprintln(stderr, "hostd serve:", err)
		return 2
	}
	var settings daemon.Settings
	if *settingsFile != "" {
		settings, err = daemon.LoadSettingsFile(*settingsFile)
	} else {
		settings, err = daemon.LoadSettings(*dir)
	}
	if err != nil {
		fmt.Fprintln(stderr, "hostd serve:", err)
		return 1
	}
	if *listen != "" {
		settings.Listen = *listen
	}
	if *data != "" {
		settings.Data = *data
	}
	if *tokenFile != "" {
		settings.AdminTokenFile = *tokenFile
	}
	if *adapterCache != "" {
		settings.AdapterCacheDir = *adapterCache
	}
	d, err := daemon.Start(ctx, daemon.Options{
		ConfigDir:  *dir,
		Settings:   settings,
		Logger:     log,
		AdminToken: os.Getenv("HOSTD_ADMIN_TOKEN"),
	})
	if err != nil {
		printError(stderr, *dir, err)
		return 1
	}
	<-ctx.Done()
	if err := d.Shutdown(context.Background()); err != nil {
		fmt.Fprintln(stderr, "hostd serve: shutdown:", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use json or text", format)
}

// printError prints a load error as one "FILE:LINE: ..." line per diagnostic.
func printError(w io.Writer, dir string, err error) {
	var le *project.LoadError
	if errors.As(err, &le) {
		printDiagnostics(w, dir, le.Diagnostics)
		return
	}
	fmt.Fprintln(w, "hostd:", err)
}

func printDiagnostics(w io.Writer, dir string, ds project.Diagnostics) {
	for _, d := range ds {
		if d.Pos.File != "" && !filepath.IsAbs(d.Pos.File) && !strings.HasPrefix(d.Pos.File, "(") {
			d.Pos.File = filepath.Join(dir, d.Pos.File)
		}
		fmt.Fprintln(w, d.String())
	}
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stderr)
	dir := fs.String("config", "", "project directory")
	verbose := fs.Bool("verbose", false, "also list, per JavaScript adapter, every server API it uses and whether it is supported")
	bundle := fs.String("bundle", "", "a policy bundle (directory or .tar.gz) to compile with the project, as the daemon would")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "hostd check: --config DIR is required")
		return 2
	}
	scripts := jscheck.New()
	diags := project.Check(*dir, project.LoadOptions{AdapterKinds: adapters.Kinds(), Scripts: scripts,
		DataSources: daemon.DataSourceChecker()})
	if !diags.HasErrors() {
		// The XML is sound: compile the Rego too, so policy errors are found now.
		if _, _, err := daemon.LoadProjectWithBundle(ctx, *dir, *bundle); err != nil {
			var le *project.LoadError
			if !errors.As(err, &le) {
				fmt.Fprintln(stderr, "hostd check:", err)
				return 1
			}
			diags = le.Diagnostics
		}
	}
	printDiagnostics(stdout, *dir, diags)
	if *verbose {
		if err := jscheck.WriteReport(stdout, *dir, scripts.Reports()); err != nil {
			fmt.Fprintln(stderr, "hostd check:", err)
			return 1
		}
	}
	nerr := len(diags.Errors())
	fmt.Fprintf(stdout, "%s: %s\n", *dir, checkSummary(nerr, len(diags)-nerr))
	if nerr > 0 {
		return 1
	}
	return 0
}

func cmdPolicyCompile(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("policy compile", stderr)
	dir := fs.String("config", "", "project directory")
	out := fs.String("out", "", "folder to write the Rego into")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || *out == "" {
		fmt.Fprintln(stderr, "hostd policy compile: --config DIR and --out DIR are required")
		return 2
	}
	p, err := project.Load(*dir, project.LoadOptions{})
	if err != nil {
		printError(stderr, *dir, err)
		return 1
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		fmt.Fprintln(stderr, "hostd policy compile:", err)
		return 1
	}
	for _, m := range mods {
		if !m.Generated && m.Path != "realmgate/lib.rego" {
			continue // the user's own files stay where they are
		}
		path := filepath.Join(*out, filepath.FromSlash(m.Path))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(stderr, "hostd policy compile:", err)
			return 1
		}
		if err := os.WriteFile(path, []byte(m.Source), 0o644); err != nil {
			fmt.Fprintln(stderr, "hostd policy compile:", err)
			return 1
		}
		fmt.Fprintln(stdout, path)
	}
	return 0
}

// cmdCAInit creates the provisioning CA in the data folder.
func cmdCAInit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ca init", stderr)
	data := fs.String("data", "./data", "data folder (the CA goes into DATA/ca)")
	dir := fs.String("dir", "", "CA folder (default DATA/ca)")
	alg := fs.String("algorithm", string(pki.KeyECDSAP256), "key algorithm: ecdsa-p256, rsa-3072 or ed25519")
	cn := fs.String("cn", "Realmgate provisioning CA", "the CA's common name")
	org := fs.String("organization", "", "the CA's organization (O)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		*dir = filepath.Join(*data, "ca")
	}
	ca, err := pki.InitCA(*dir, pki.CAOptions{CommonName: *cn, Organization: *org, KeyAlgorithm: pki.KeyAlgorithm(*alg)})
	if err != nil {
		fmt.Fprintln(stderr, "hostd ca init:", err)
		return 1
	}
	fmt.Fprintf(stdout, "created %s: %s, valid until %s\n", *dir, ca.Cert.Subject, ca.Cert.NotAfter.Format("2006-01-02"))
	return 0
}

// checkSummary counts errors and warnings in English: "1 error, 2 warnings".
func checkSummary(errors, warnings int) string {
	return counted(errors, "error") + ", " + counted(warnings, "warning")
}

func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

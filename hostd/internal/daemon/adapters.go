package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/sqlsource"
	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/project"

	// The backends hostd runs, registered by kind.
	_ "github.com/realmgate/realmgate/adapters/wasm"
	// JavaScript adapters run on the wasm backend, in the engine module (jsengine.go).
	_ "github.com/realmgate/realmgate/adapters/js"
	_ "github.com/realmgate/realmgate/plugins"
)

// loadedAdapters are the open adapters of one runtime, by name. It implements
// engine.InitRunner and server's procedure runner.
type loadedAdapters map[string]adapters.Adapter

var _ engine.InitRunner = loadedAdapters(nil)

// Call runs adapter.procedure.
func (la loadedAdapters) Call(ctx context.Context, adapter, procedure string, input json.RawMessage) (json.RawMessage, error) {
	a, ok := la[adapter]
	if !ok {
		return nil, &adapters.Error{Code: adapters.CodeUnavailable, Adapter: adapter, Procedure: procedure,
			Message: "adapter " + adapter + " has no backend in this deployment"}
	}
	return a.Call(ctx, procedure, input)
}

// CallInit runs adapter.procedure on an instance that ran init (engine.InitRunner). Without a
// backend, the call fails at init, which would have run first.
func (la loadedAdapters) CallInit(ctx context.Context, adapter string, init adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error) {
	a, ok := la[adapter]
	if !ok {
		return nil, &adapters.Error{Code: adapters.CodeUnavailable, Adapter: adapter, Procedure: init.Procedure,
			Message: "adapter " + adapter + " has no backend in this deployment"}
	}
	return adapters.CallInit(ctx, a, init, procedure, input)
}

// Has reports whether the adapter has a running backend.
func (la loadedAdapters) Has(adapter string) bool {
	_, ok := la[adapter]
	return ok
}

// Close closes every adapter.
func (la loadedAdapters) Close(ctx context.Context) error {
	var errs []error
	for name, a := range la {
		if err := a.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("adapter %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// requiredFunctions lists, per adapter, the functions realms call beyond its declared procedures
// (login and logout functions of adapter-based realms).
func requiredFunctions(p *project.Project) map[string][]string {
	out := map[string][]string{}
	for _, r := range p.Realms {
		if r.Class == nil || r.Class.Kind != "adapter" {
			continue
		}
		for _, prm := range []string{"login-function", "logout-function"} {
			if v, ok := r.Params.Get(prm); ok {
				if ref, ok := adapters.ParseProcRef(v); ok {
					out[ref.Adapter] = append(out[ref.Adapter], ref.Procedure)
				}
			}
		}
	}
	return out
}

// openAdapters opens the backend of every adapter that declares one. An adapter that cannot be
// opened (module missing or not matching its pin, missing procedures, a plugin that does not start)
// fails the load with the adapter file's line.
func openAdapters(ctx context.Context, p *project.Project, s Settings, log *slog.Logger, once adapters.SingleUse) (loadedAdapters, error) {
	la := loadedAdapters{}
	extra := requiredFunctions(p)
	names := make([]string, 0, len(p.Adapters))
	for name := range p.Adapters {
		names = append(names, name)
	}
	sort.Strings(names)
	var diags project.Diagnostics
	guestSlots := 0 // the wasm calls that may run at once
	keys := hostKeys{data: s.Data, loaded: map[string]*pki.CA{}}
	sources := dataSources{mapped: s.DataSources, data: s.Data, names: true}
	for _, name := range names {
		a := p.Adapters[name]
		b := a.Backend
		if b == nil {
			continue
		}
		module, pin := b.Module, b.SHA256
		if b.Kind == project.BackendJS {
			var diag *project.Diagnostic
			if module, pin, diag = jsEngine(ctx, s, b, log); diag != nil {
				diags = append(diags, *diag)
				continue
			}
		}
		if b.Source != "" && s.Development {
			built, err := buildFromSource(ctx, name, b.Source)
			if err != nil {
				diags = append(diags, project.Diagnostic{Pos: b.Pos, Severity: project.Error, Message: err.Error()})
				continue
			}
			module, pin = built, ""
			log.Info("adapter built from source (development mode)", "adapter", name, "source", b.Source, "module", built)
		} else if b.Source != "" && !fileExists(b.Module) {
			diags = append(diags, project.Diagnostic{Pos: b.Pos, Severity: project.Error,
				Message: fmt.Sprintf("adapter %s: module %s is not built", name, b.Module),
				Fix:     "build it from " + b.Source + " and pin it with sha256, or set development: true in hostd.yaml"})
			continue
		}
		if pin == "" && !s.Development {
			diags = append(diags, project.Diagnostic{Pos: b.Pos, Severity: project.Error,
				Message: fmt.Sprintf("adapter %s is not pinned by SHA-256", name),
				Fix:     `add sha256="..." to <backend> (hostd check prints it), or set development: true in hostd.yaml`})
			continue
		}
		procs := append([]string(nil), a.ProcedureOrder...)
		procs = append(procs, extra[name]...)
		cfg := adapters.Config{
			Name:       name,
			Kind:       b.Kind,
			Module:     module,
			Command:    b.Command,
			Script:     b.Script,
			SHA256:     pin,
			Procedures: dedupe(procs),
			Settings:   b.Settings,
			Limits: adapters.Limits{
				MemoryPages:   b.MemoryPages,
				CallTimeout:   time.Duration(b.CallTimeoutMS) * time.Millisecond,
				Instances:     b.Instances,
				MaxConcurrent: b.MaxConcurrent,
				MaxQueue:      maxQueue(b.MaxQueue),
				CancelGrace:   time.Duration(b.CancelGraceMS) * time.Millisecond,
			},
			CacheDir:  cacheDir(s),
			Logger:    log.With("adapter", name),
			SingleUse: once,
		}
		for _, hp := range a.AllowHTTP {
			cfg.AllowHTTP = append(cfg.AllowHTTP, adapters.HostPort{Host: hp.Host, Port: hp.Port})
		}
		if b.Kind == project.BackendJS {
			cfg.Settings = jsSettings(a)
		}
		if b.PKI != nil {
			grant, err := keys.grant(b.PKI)
			if err != nil {
				diags = append(diags, project.Diagnostic{Pos: b.PKI.Pos, Severity: project.Error,
					Message: fmt.Sprintf("adapter %s: the pki capability's CA cannot be loaded: %v", name, err),
					Fix:     fmt.Sprintf("create it with hostd ca init --dir %s, or put its ca.pem and ca-key.pem (mode 0600) there", filepath.Join(s.Data, filepath.FromSlash(b.PKI.CA)))})
				continue
			}
			cfg.PKI = grant
		}
		var src *sqlsource.Source // the SQL adapter's data source (datasources.go)
		if a.DataSource != nil {
			var diag *project.Diagnostic
			if src, diag = sources.open(a, cfg, log); diag != nil {
				diags = append(diags, *diag)
				continue
			}
			cfg.SQL = src
		}
		ad, err := adapters.Open(ctx, cfg)
		if err != nil {
			if src != nil {
				src.Close()
			}
			diags = append(diags, project.Diagnostic{Pos: b.Pos, Severity: project.Error,
				Message: fmt.Sprintf("adapter %s cannot be loaded: %v", name, err)})
			continue
		}
		if src != nil {
			ad = withDataSource{Adapter: ad, src: src}
		}
		// Every backend runs behind its adapter's concurrency limit and queue, so that a slow or
		// stuck adapter holds a bounded number of requests.
		limited := adapters.Limit(ad, name, cfg.Limits)
		la[name] = limited
		if b.Kind == project.BackendWasm || b.Kind == project.BackendJS {
			n, _ := limited.Capacity()
			guestSlots += min(n, cfg.Limits.WithDefaults().Instances)
		}
	}
	if len(diags) > 0 {
		la.Close(context.Background())
		return nil, &project.LoadError{Diagnostics: diags}
	}
	reserveGuestProcs(guestSlots, log)
	return la, nil
}

// maxQueue turns the XML's maxQueue (nil: not set; 0: no call waits) into Limits.MaxQueue
// (0: the default; negative: no call waits).
func maxQueue(q *int) int {
	switch {
	case q == nil:
		return 0
	case *q == 0:
		return -1
	}
	return *q
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// cacheDir is where compiled wasm modules are kept.
func cacheDir(s Settings) string {
	if s.AdapterCacheDir != "" {
		return s.AdapterCacheDir
	}
	return filepath.Join(s.Data, "adapter-cache")
}

// hostKeys loads the CAs that adapters' pki capabilities name, once per load: the keys stay in
// the daemon, and a wasm guest signs through the host function (adapters.PKIGrant).
type hostKeys struct {
	data   string
	loaded map[string]*pki.CA
}

// grant builds the runtime grant of g, loading its CA from the data folder (pki.LoadCA: the
// key file must be private to its owner, the certificate a CA's, the key its key).
func (k hostKeys) grant(g *project.PKIGrant) (*adapters.PKIGrant, error) {
	out := &adapters.PKIGrant{AllowCA: g.IssueCA, MaxValidity: time.Duration(g.MaxValidityDays) * 24 * time.Hour}
	if g.CA == "" {
		return out, nil
	}
	ca, ok := k.loaded[g.CA]
	if !ok {
		var err error
		if ca, err = pki.LoadCA(filepath.Join(k.data, filepath.FromSlash(g.CA))); err != nil {
			return nil, err
		}
		k.loaded[g.CA] = ca
	}
	out.Issuer, out.Key, out.KeyName = ca.Cert, ca.Key, g.CA
	return out, nil
}

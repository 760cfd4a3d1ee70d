package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/realmgate/realmgate/hostd/internal/metrics"
	"github.com/realmgate/realmgate/hostd/internal/policybundle"
	"github.com/realmgate/realmgate/internal/secretfile"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
)

// bundles is the policy bundle of the daemon (policy.bundle in hostd.yaml): where it comes from,
// the one serving, and the last one refused. A new bundle is activated the way a reload is: a
// new runtime is built with it and swapped in only when the project and the bundle compiled
// together and the bundle's own Rego tests passed. A bundle refused (it does not read, its
// signature does not verify, it does not compile, a test fails) leaves the one serving in place,
// and shows in /readyz and in realmgate_bundle_loads_total{result="error"}.
type bundles struct {
	settings BundleSettings
	opts     policybundle.Options
	fetcher  *policybundle.Fetcher // nil for a path
	metrics  *metrics.Bundles
	log      *slog.Logger

	mu      sync.Mutex
	current *policybundle.Bundle
	// activatedAt is when current was activated; failure and failedAt describe the last bundle
	// refused since (cleared by the next activation); failedDigest is that bundle's digest,
	// when it was read, so that it is not compiled again at every poll.
	activatedAt  time.Time
	failure      string
	failedAt     time.Time
	failedDigest string
}

// newBundles prepares the reading of the configured bundle (nothing is read yet).
func newBundles(st BundleSettings, m *metrics.Metrics, log *slog.Logger) (*bundles, error) {
	b := &bundles{settings: st, opts: policybundle.Options{MaxBytes: st.MaxBytes}, metrics: m.Bundles(), log: log}
	if st.VerificationKeyFile != "" {
		vc, err := policybundle.VerificationConfig(st.VerificationKeyFile, st.Algorithm, st.KeyID, st.Scope)
		if err != nil {
			return nil, fmt.Errorf("policy.bundle: %w", err)
		}
		b.opts.Verification = vc
	}
	if st.URL != "" {
		b.fetcher = &policybundle.Fetcher{URL: st.URL, Opts: b.opts, Client: &http.Client{Timeout: 30 * time.Second}}
		if st.BearerTokenFile != "" {
			tok, err := secretfile.Read(st.BearerTokenFile)
			if err != nil {
				return nil, fmt.Errorf("policy.bundle.bearerTokenFile: %w", err)
			}
			b.fetcher.Token = strings.TrimSpace(string(tok))
		}
	}
	return b, nil
}

func (b *bundles) name() string {
	if b.settings.Name != "" {
		return b.settings.Name
	}
	return DefaultBundleName
}

func (b *bundles) every() time.Duration {
	if b.settings.PollInterval > 0 {
		return time.Duration(b.settings.PollInterval)
	}
	return DefaultBundlePollInterval
}

// read reads the bundle from its path, or fetches it (policybundle.ErrNotModified: unchanged).
func (b *bundles) read(ctx context.Context) (*policybundle.Bundle, error) {
	if b.fetcher != nil {
		return b.fetcher.Fetch(ctx)
	}
	return policybundle.ReadPath(b.settings.Path, b.opts)
}

// serving returns the bundle serving (nil before the first).
func (b *bundles) serving() *policybundle.Bundle {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.current
}

func (b *bundles) activated(nb *policybundle.Bundle, now time.Time) {
	b.mu.Lock()
	b.current, b.activatedAt = nb, now
	b.failure, b.failedAt, b.failedDigest = "", time.Time{}, ""
	b.mu.Unlock()
	b.metrics.Activated(nb.Revision, now)
}

// refused records a bundle that was not activated; digest is "" when it did not read.
func (b *bundles) refused(err error, digest string, now time.Time) {
	msg := err.Error()
	b.mu.Lock()
	repeated := b.failure == msg
	b.failure, b.failedAt, b.failedDigest = msg, now, digest
	b.mu.Unlock()
	b.metrics.Refused(now)
	if !repeated {
		b.log.Error("policy bundle refused; the policy serving stays", "bundle", b.name(), "err", msg)
	}
}

// bundleStatus is "bundle" in /readyz.
type bundleStatus struct {
	Name        string    `json:"name"`
	Revision    string    `json:"revision,omitempty"`
	ActivatedAt time.Time `json:"activatedAt,omitzero"`
	// Error is why the last bundle read since the one serving was refused.
	Error    string    `json:"error,omitempty"`
	FailedAt time.Time `json:"failedAt,omitzero"`
}

func (b *bundles) status() any {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := bundleStatus{Name: b.name(), Error: b.failure, FailedAt: b.failedAt, ActivatedAt: b.activatedAt}
	if b.current != nil {
		s.Revision = b.current.Revision
	}
	return s
}

// loadProjectBundle loads the project as LoadProject does and, with a bundle, compiles the
// bundle's modules and data with it, runs the bundle's Rego tests and reads its remote-disable
// rules: the evaluator returned decides with the bundle. Problems of the bundle's Rego come back
// as *project.LoadError too, with the bundle's file paths under "bundle/".
func loadProjectBundle(ctx context.Context, dir string, b *policybundle.Bundle) (*project.Project, *policies.Evaluator, bundleRules, error) {
	if b == nil {
		p, ev, err := LoadProject(ctx, dir)
		return p, ev, nil, err
	}
	// The project's policies are compiled once, with the bundle: a project rule may call a
	// function the bundle defines.
	p, err := loadProjectModel(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	rules, err := remoteDisableRules(b, p)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("policy bundle %s: %w", b.Revision, err)
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, m := range b.Modules {
		mods = append(mods, policies.Module{Path: "bundle" + m.Path, Source: m.Source})
	}
	ev, err := policies.NewEvaluatorWithData(ctx, mods, b.Data)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("policy bundle %s: %w", b.Revision, err)
	}
	if len(b.Tests) > 0 {
		if err := runBundleTests(ctx, mods, b); err != nil {
			return nil, nil, nil, err
		}
	}
	return p, ev, rules, nil
}

// runBundleTests runs the bundle's *_test.rego files against the policy set and its data.
func runBundleTests(ctx context.Context, mods []policies.Module, b *policybundle.Bundle) error {
	srcs := make(map[string]string, len(mods)+len(b.Tests))
	for _, m := range mods {
		srcs[m.Path] = m.Source
	}
	for _, m := range b.Tests {
		srcs["bundle"+m.Path] = m.Source
	}
	results, err := policies.RunTestsWithData(ctx, srcs, b.Data)
	if err != nil {
		return fmt.Errorf("policy bundle %s: its tests: %w", b.Revision, err)
	}
	var failed []string
	for _, r := range results {
		if !r.Passed() {
			failed = append(failed, r.Package+"."+r.Name+" ("+r.Location+")")
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("policy bundle %s: %d of its tests failed: %s", b.Revision, len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// startBundle reads the bundle at start: a daemon does not start without the policy it was
// configured with.
func (d *Daemon) startBundle(ctx context.Context) (*policybundle.Bundle, error) {
	if !d.settings.Policy.Bundle.Configured() {
		return nil, nil
	}
	bs, err := newBundles(d.settings.Policy.Bundle, d.metrics, d.log)
	if err != nil {
		return nil, err
	}
	d.bundles = bs
	b, err := bs.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy.bundle: %w", err)
	}
	return b, nil
}

// pollBundle reads the bundle again and activates it when it changed.
func (d *Daemon) pollBundle(ctx context.Context) {
	bs := d.bundles
	b, err := bs.read(ctx)
	switch {
	case errors.Is(err, policybundle.ErrNotModified):
		return
	case err != nil:
		bs.refused(err, "", time.Now())
		return
	}
	bs.mu.Lock()
	unchanged := bs.current != nil && bs.current.Digest == b.Digest || bs.failedDigest == b.Digest
	bs.mu.Unlock()
	if unchanged {
		return
	}
	d.activateBundle(ctx, b)
}

// activateBundle builds a runtime with the bundle and swaps it in, or leaves the one serving.
func (d *Daemon) activateBundle(ctx context.Context, b *policybundle.Bundle) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	next, err := d.loadRuntimeWith(ctx, b)
	if err != nil {
		d.bundles.refused(err, b.Digest, time.Now())
		return err
	}
	d.runtimes.Swap(next)
	now := time.Now()
	d.metrics.Loaded(now)
	d.bundles.activated(b, now)
	next.Engine.AuditReload(ctx, "policy-bundle "+b.Revision)
	d.log.Info("policy bundle activated", "bundle", d.bundles.name(), "bundle_revision", b.Revision, "revision", next.Engine.Revision())
	return nil
}

// watchBundle polls the bundle every poll interval until stopped.
func (d *Daemon) watchBundle() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d.bundles.every())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				d.pollBundle(ctx)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// LoadProjectWithBundle is LoadProject with the policy bundle at bundlePath (a directory or a
// bundle file; "" for none) compiled beside the project's policies, as the daemon would activate
// it, its tests and remote-disable rules included: `hostd check --bundle`. Its signature is not
// checked here; the daemon checks it when it reads the bundle.
func LoadProjectWithBundle(ctx context.Context, dir, bundlePath string) (*project.Project, *policies.Evaluator, error) {
	if bundlePath == "" {
		return LoadProject(ctx, dir)
	}
	b, err := policybundle.ReadPath(bundlePath, policybundle.Options{})
	if err != nil {
		return nil, nil, err
	}
	p, ev, _, err := loadProjectBundle(ctx, dir, b)
	return p, ev, err
}

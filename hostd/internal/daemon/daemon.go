package daemon

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/console"
	"github.com/realmgate/realmgate/hostd/internal/keys"
	"github.com/realmgate/realmgate/hostd/internal/metrics"
	"github.com/realmgate/realmgate/hostd/internal/policybundle"
	"github.com/realmgate/realmgate/hostd/internal/server"
	"github.com/realmgate/realmgate/internal/jscheck"
	"github.com/realmgate/realmgate/internal/secretfile"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/memnonce"
)

// LoadProject loads and validates a project, compiles its Rego and prepares the evaluator. Every
// problem, in the XML or in the user's policies, comes back in a *project.LoadError.
func LoadProject(ctx context.Context, dir string) (*project.Project, *policies.Evaluator, error) {
	p, err := loadProjectModel(dir)
	if err != nil {
		return nil, nil, err
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		return nil, nil, err
	}
	ev, err := policies.NewEvaluator(ctx, mods)
	if err != nil {
		return nil, nil, err
	}
	return p, ev, nil
}

// loadProjectModel is LoadProject up to its policies: the project loaded and validated.
func loadProjectModel(dir string) (*project.Project, error) {
	// JavaScript adapters are checked with the checker hostd check uses, so that serve and
	// check refuse the same scripts.
	opts := project.LoadOptions{Scripts: jscheck.New(), DataSources: DataSourceChecker()}
	if kinds := adapters.Kinds(); len(kinds) > 0 {
		opts.AdapterKinds = kinds
	}
	p, err := project.Load(dir, opts)
	if err != nil {
		return nil, err
	}
	if diags := checkEmbeddedPKI(p); len(diags) > 0 {
		return nil, &project.LoadError{Diagnostics: diags}
	}
	return p, nil
}

// Daemon is a running hostd.
type Daemon struct {
	settings Settings
	dir      string
	store    store.Store
	// nonces holds the challenge nonces apart from store when this daemon owns its state (the
	// embedded SQLite store): in memory, kept across reloads, gone with a restart, which ends
	// the challenges anyway. Nil when the store is shared: nonces then live in it.
	nonces   store.Nonces
	server   *server.Server
	log      *slog.Logger
	httpSrv  *http.Server
	listener net.Listener
	// stopJanitor stops the expiry sweep.
	stopJanitor func()
	keys        *keys.Set
	cluster     *cluster // nil when the daemon is alone on its store
	tokens      *engine.TokenIssuer
	decisions   *decisionLog
	// feed streams decisions to the admin console (nil without it).
	feed *console.Feed
	// metrics are what /metrics serves: the engine's observer, the adapter and store
	// decorators, the reloads.
	metrics *metrics.Metrics
	// runtimes holds the current runtime; reloadMu makes reloads one at a time.
	runtimes runtimes
	reloadMu sync.Mutex

	// directories holds the LDAP directories of LdapLoginModule login modules (ldap.go).
	directories directories
	// bundles is the policy bundle (policy.bundle), nil when none is configured: bundles.go.
	bundles *bundles
}

// tokenKeys adapts the key set to engine.TokenKeys.
type tokenKeys struct{ set *keys.Set }

func (t tokenKeys) Active() (engine.SigningKey, error) {
	id, alg, signer := t.set.Active()
	return engine.SigningKey{ID: id, Algorithm: alg, Key: signer}, nil
}

func (t tokenKeys) Verifier(kid string) (crypto.PublicKey, string, bool) {
	return t.set.Verifier(kid, time.Now())
}

// Options for Start.
type Options struct {
	ConfigDir string
	Settings  Settings
	Logger    *slog.Logger
	// AdminToken overrides the token file (HOSTD_ADMIN_TOKEN).
	AdminToken string
	// Wrap, when set, wraps the HTTP handler the daemon serves: an embedding program's own
	// middleware, or a test's record of the requests the daemon received (hostd/hostdtest).
	Wrap func(http.Handler) http.Handler
}

// Start opens the store, loads the project and starts serving. It fails, and serves nothing,
// when the configuration has an error; whatever it opened by then (the store, the adapters and
// their plugin processes, the listener) is closed again.
func Start(ctx context.Context, opts Options) (_ *Daemon, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := opts.Settings
	if err := st.Validate(); err != nil {
		return nil, err
	}
	d := &Daemon{settings: st, dir: opts.ConfigDir, log: log, metrics: metrics.New()}

	token := []byte(strings.TrimSpace(opts.AdminToken))
	if len(token) == 0 && st.AdminTokenFile != "" {
		b, err := secretfile.Read(st.AdminTokenFile)
		if err != nil {
			return nil, fmt.Errorf("admin token file: %w", err)
		}
		token = []byte(strings.TrimSpace(string(b)))
	}
	if len(token) > 0 && len(token) < 16 {
		// A short bearer token can be guessed; refuse to serve the admin API with one.
		return nil, fmt.Errorf("the admin token is shorter than 16 characters")
	}

	// undo closes, last first, what Start opened when it fails.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()

	// The data folder receives the store (sessions, nonces) and generated keys: only the daemon's
	// user may enter it.
	tightened, err := secretfile.PrivateDir(st.Data)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if tightened {
		log.Warn("the data folder was open to other users; it is now private (mode 0700)", "dir", st.Data)
	}
	db, err := openStore(ctx, st, log)
	if err != nil {
		return nil, err
	}
	d.store = d.metrics.Store(db)
	if st.Store.Driver != DriverPostgres {
		// The embedded store has one daemon: its challenge nonces may live in memory. On a
		// shared store they stay in it, so that another daemon can take the answer.
		d.nonces = memnonce.New()
	}
	undo = append(undo, func() { db.Close() })

	keysDir := st.Tokens.KeysDir
	if keysDir == "" {
		keysDir = filepath.Join(st.Data, "keys")
	}
	var keySet *keys.Set
	if st.Store.Driver == DriverPostgres {
		// Several daemons may serve this store: they share the token keys and the project
		// generation through it.
		if st.Tokens.Issuer == "" {
			// Each daemon would name its own address as the issuer, and refuse the tokens of
			// the others.
			return nil, errors.New("tokens.issuer: the daemons of a PostgreSQL store mint tokens under one issuer; set it to the URL clients reach them at (the load balancer's)")
		}
		d.cluster = &cluster{blobs: db, every: time.Duration(st.Store.PollInterval)}
		if d.cluster.every <= 0 {
			d.cluster.every = DefaultPollInterval
		}
		if d.cluster.seen, err = d.cluster.generation(ctx); err != nil {
			return nil, fmt.Errorf("reading the project generation: %w", err)
		}
		if keySet, err = openSharedKeys(ctx, db, keysDir, st.Tokens.KeyEncryptionKeyFile, st.Tokens.Algorithm); err != nil {
			return nil, err
		}
	} else {
		var generated bool
		keySet, generated, err = keys.Open(keysDir, st.Tokens.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("token signing keys: %w", err)
		}
		if st.Tokens.KeysDir == "" && !st.Development {
			log.Warn("access tokens are signed with a key hostd generated in its data folder; for production, provision keys in tokens.keysDir and protect them", "dir", keysDir, "generated_now", generated)
		}
	}
	d.keys = keySet
	d.tokens = &engine.TokenIssuer{Keys: tokenKeys{keySet}, Issuer: st.Tokens.Issuer, Audiences: st.Tokens.Audiences, Revocations: d.store}

	reg := d.metrics.Registry()
	d.decisions = newDecisionLog(log.With("log", "decision"))
	// Decision logs in OPA's shape and the policy bundle (decisions.go, bundles.go).
	bundleName := st.Policy.Bundle.Name
	if bundleName == "" {
		bundleName = DefaultBundleName
	}
	if err := d.decisions.openWriters(st.DecisionLogs, bundleName, d.metrics); err != nil {
		return nil, err
	}
	undo = append(undo, func() { d.decisions.closeWriters(context.Background()) })
	firstBundle, err := d.startBundle(ctx)
	if err != nil {
		return nil, err
	}
	var bundleStatus func() any
	if d.bundles != nil {
		bundleStatus = d.bundles.status
	}
	proxies, err := server.ParseTrustedProxies(st.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trustedProxies: %w", err)
	}
	d.server = server.New(server.Options{
		Runtimes:      &d.runtimes,
		Reloader:      d,
		Logger:        log,
		Metrics:       reg,
		MaxBodyBytes:  st.Limits.MaxBodyBytes,
		AdminToken:    token,
		SecureCookies: st.SecureCookies,
		// The cookie's life is the one the janitor reaps users by.
		PersistentCookieAge: time.Duration(st.Session.PersistentCookieAge),

		// Who the client is behind a balancer, and how fast it may answer challenges.
		TrustedProxies: proxies,
		RateLimits:     st.rateLimits(),

		BundleStatus: bundleStatus,
		// The admin console at /console (console.go).
		Console: d.newConsole(token, reg),
	})
	rt, err := d.loadRuntimeWith(ctx, firstBundle)
	if err != nil {
		return nil, err
	}
	if firstBundle != nil {
		d.bundles.activated(firstBundle, time.Now())
	}
	d.runtimes.Swap(rt)
	d.metrics.Loaded(time.Now())
	undo = append(undo, func() {
		if err := d.retireRuntime(context.Background()); err != nil {
			log.Warn("closing the adapters after a failed start", "err", err)
		}
	})
	for _, w := range rt.Project.Diagnostics {
		log.Warn("configuration", "diagnostic", w.String())
	}
	if len(token) == 0 {
		log.Info("admin API is off (no --admin-token-file or HOSTD_ADMIN_TOKEN)")
	}

	ln, err := net.Listen("tcp", st.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", st.Listen, err)
	}
	d.listener = ln
	undo = append(undo, func() { ln.Close() })
	if d.tokens.Issuer == "" {
		d.tokens.Issuer = "http://" + ln.Addr().String()
	}
	handler := d.server.Handler()
	if opts.Wrap != nil {
		handler = opts.Wrap(handler)
	}
	d.httpSrv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	every := time.Duration(st.JanitorInterval)
	if every <= 0 {
		every = time.Minute
	}
	d.stopJanitor = d.janitor(every)
	if d.cluster != nil {
		stopJanitor, stopWatch := d.stopJanitor, d.watchCluster()
		d.stopJanitor = func() { stopWatch(); stopJanitor() }
	}
	if d.bundles != nil {
		stopJanitor, stopWatch := d.stopJanitor, d.watchBundle()
		d.stopJanitor = func() { stopWatch(); stopJanitor() }
	}
	go func() {
		if err := d.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("serve", "err", err)
		}
	}()
	log.Info("hostd serving", "addr", ln.Addr().String(), "config", opts.ConfigDir, "data", st.Data,
		"revision", rt.Engine.Revision(), "development", st.Development)
	return d, nil
}

// loadRuntime loads the configuration, opens its adapters and builds its engine (start and
// reload), with the policy bundle serving. On an error, whatever it opened is closed.
func (d *Daemon) loadRuntime(ctx context.Context) (*runtime, error) {
	return d.loadRuntimeWith(ctx, d.bundles.serving())
}

// loadRuntimeWith is loadRuntime with policy bundle b (nil: none).
func (d *Daemon) loadRuntimeWith(ctx context.Context, b *policybundle.Bundle) (*runtime, error) {
	p, ev, bundleRules, err := loadProjectBundle(ctx, d.dir, b)
	if err != nil {
		return nil, err
	}
	if b != nil {
		d.decisions.bundleRevision(ev.Revision(), b.Revision)
	}
	for _, a := range d.settings.Tokens.Audiences {
		// Every application may ask for a resource server's audience: one named like an
		// application would let any app mint tokens that the named app's back end accepts.
		if p.Apps[a] != nil {
			return nil, fmt.Errorf("tokens.audiences: %q is an application of the project; a token is for its own application without naming it, so list resource servers only", a)
		}
	}
	la, err := openAdapters(ctx, p, d.settings, d.log, storeSingleUse{d.store})
	if err != nil {
		return nil, err
	}
	for name, a := range la {
		la[name] = d.metrics.Adapter(name, p.Adapters[name].Backend.Kind, a)
	}
	cfg := engine.Config{
		SessionIdle:                  time.Duration(d.settings.Session.IdleTimeout),
		SessionMaxLifetime:           time.Duration(d.settings.Session.MaxLifetime),
		SessionPending:               time.Duration(d.settings.Session.PendingTimeout),
		NonceTTL:                     time.Duration(d.settings.Limits.NonceTTL),
		PersistentCookieAge:          time.Duration(d.settings.Session.PersistentCookieAge),
		MaxAttempts:                  d.settings.Limits.MaxAttempts,
		UnauthenticatedPolicyTimeout: time.Duration(d.settings.Limits.UnauthenticatedPolicyTimeout),
		UnauthenticatedInputBytes:    d.settings.Limits.UnauthenticatedInputBytes,
		InputDepth:                   d.settings.Limits.InputDepth,

		BackoffAfter:       d.settings.Limits.BackoffAfter,
		ClientBackoffAfter: d.settings.Limits.ClientBackoffAfter,
		BackoffMax:         time.Duration(d.settings.Limits.BackoffMax),
	}
	prov, err := d.provisioningOptions()
	if err != nil {
		la.Close(ctx)
		return nil, err
	}
	eng, err := engine.New(p, engine.Options{
		Config:              cfg,
		Store:               d.store,
		Nonces:              d.nonces,
		Evaluator:           ev,
		Logger:              d.log,
		Decisions:           d.decisionSinks(),
		Observer:            d.metrics,
		Procedures:          la,
		ProvisioningCA:      prov.ca,
		AttestationRoots:    prov.roots,
		AttestationVerifier: prov.verifier,
		Tokens:              d.tokens,
		KeyRotator:          d.keys,
		Directories:         d.directories.opener,
		BundleRules:         bundleRules.get,
	})
	if err != nil {
		la.Close(ctx)
		return nil, err
	}
	d.directories.retain()
	return newRuntime(server.Runtime{Project: p, Engine: eng}, la), nil
}

// Reload loads the configuration again and makes it the current runtime. Requests in flight
// finish on the runtime they started with, whose adapters close after the last of them. A
// configuration with errors (a *project.LoadError) leaves the running one in place. The reload
// is audited under actor. Reloads run one at a time.
//
// On a store shared by several daemons, a reload reaches them all: the others reload within the
// store's poll interval.
func (d *Daemon) Reload(ctx context.Context, actor string) (server.Reloaded, error) {
	return d.reload(ctx, actor, true)
}

func (d *Daemon) reload(ctx context.Context, actor string, announce bool) (server.Reloaded, error) {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	next, err := d.loadRuntime(ctx)
	if err != nil {
		return server.Reloaded{}, err
	}
	d.runtimes.Swap(next)
	d.metrics.Loaded(time.Now())
	next.Engine.AuditReload(ctx, actor)
	res := server.Reloaded{Revision: next.Engine.Revision(), Warnings: make([]string, 0, len(next.Project.Diagnostics))}
	for _, w := range next.Project.Diagnostics {
		res.Warnings = append(res.Warnings, w.String())
	}
	d.log.Info("configuration reloaded", "revision", res.Revision, "actor", actor)
	if announce && d.cluster != nil {
		if err := d.cluster.announce(ctx, res.Revision); err != nil {
			// This daemon runs the new project; the others keep theirs until the next reload.
			d.log.Error("the reload could not be announced to the other daemons of the store", "err", err)
			res.Warnings = append(res.Warnings, "the other daemons of the store were not told to reload: "+err.Error())
		}
	}
	return res, nil
}

// Addr is the address the daemon listens on.
func (d *Daemon) Addr() string { return d.listener.Addr().String() }

// Handler is the daemon's HTTP handler (for benchmarks that bypass the network).
func (d *Daemon) Handler() http.Handler { return d.server.Handler() }

// Shutdown stops accepting requests, waits for those in flight (bounded by the settings'
// timeout) and closes the store.
func (d *Daemon) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(d.settings.ShutdownTimeout))
	defer cancel()
	err := d.httpSrv.Shutdown(ctx)
	d.stopJanitor()
	if cerr := d.retireRuntime(ctx); err == nil {
		err = cerr
	}
	d.directories.close()
	if cerr := d.decisions.closeWriters(ctx); err == nil {
		err = cerr
	}
	if cerr := d.store.Close(); err == nil {
		err = cerr
	}
	d.log.Info("hostd stopped")
	return err
}

// retireRuntime drops the current runtime and waits for its adapters to close after its last
// request, until ctx is done: then it closes them under the requests still running.
func (d *Daemon) retireRuntime(ctx context.Context) error {
	old := d.runtimes.Swap(nil)
	if old == nil {
		return nil
	}
	select {
	case <-old.closed:
	case <-ctx.Done():
		d.log.Warn("closing the adapters under requests still running at shutdown")
		old.close()
	}
	return old.closeErr
}

// janitor removes expired sessions, nonces, failed-login counts and token revocations every
// interval, so that the store does not grow with abandoned sessions. Expired records are
// already refused when read; this only reclaims space. It also removes the persistent users
// not seen for the persistent cookie's life (their cookie has expired, so no client can come
// back as them) and the audit records past audit.retention.
func (d *Daemon) janitor(every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if n, err := d.store.DeleteExpiredSessions(ctx, now); err != nil {
					d.log.Warn("sweeping expired sessions", "err", err)
				} else if n > 0 {
					d.log.Debug("expired sessions removed", "count", n)
				}
				// Nonces stored by a version that kept them in the store expire there too.
				if _, err := d.store.DeleteExpiredNonces(ctx, now); err != nil {
					d.log.Warn("sweeping expired nonces", "err", err)
				}
				if d.nonces != nil {
					if _, err := d.nonces.DeleteExpiredNonces(ctx, now); err != nil {
						d.log.Warn("sweeping expired nonces", "err", err)
					}
				}
				if _, err := d.store.DeleteExpiredLoginFailures(ctx, now); err != nil {
					d.log.Warn("sweeping expired failed-login counts", "err", err)
				}
				if _, err := d.store.DeleteExpiredTokenRevocations(ctx, now); err != nil {
					d.log.Warn("sweeping expired token revocations", "err", err)
				}
				d.reap(ctx, now)
				d.rotateIfDue(ctx, now)
			}
		}
	}()
	return func() { cancel(); <-done }
}

// reap removes the records that do not expire but outlive their use: persistent users last
// seen before now minus the persistent cookie's life, and audit records older than the audit
// retention (none when it is 0).
func (d *Daemon) reap(ctx context.Context, now time.Time) {
	age := time.Duration(d.settings.Session.PersistentCookieAge)
	if age <= 0 {
		age = engine.DefaultConfig.PersistentCookieAge
	}
	if n, err := d.store.DeleteUsersNotSeenSince(ctx, now.Add(-age)); err != nil {
		d.log.Warn("sweeping persistent users not seen", "err", err)
	} else if n > 0 {
		d.log.Info("persistent users not seen within the cookie's life removed", "count", n)
	}
	if keep := time.Duration(d.settings.Audit.Retention); keep > 0 {
		if n, err := d.store.DeleteAuditBefore(ctx, now.Add(-keep)); err != nil {
			d.log.Warn("sweeping audit records past their retention", "err", err)
		} else if n > 0 {
			d.log.Info("audit records past their retention removed", "count", n)
		}
	}
}

// rotateIfDue rotates the token signing key on its schedule and drops retired keys whose tokens
// have all expired.
func (d *Daemon) rotateIfDue(ctx context.Context, now time.Time) {
	every := time.Duration(d.settings.Tokens.RotateEvery)
	if every > 0 && now.Sub(d.keys.ActiveSince()) >= every {
		if rt := d.runtimes.acquire(); rt != nil {
			if err := d.keys.Rotate(ctx, now, rt.Engine.KeyRetention()); err != nil {
				d.log.Error("scheduled key rotation failed", "err", err)
			} else {
				id, _, _ := d.keys.Active()
				d.log.Info("token signing key rotated", "kid", id)
			}
			rt.Release()
		}
	}
	if err := d.keys.Prune(ctx, now); err != nil {
		d.log.Warn("pruning retired token keys", "err", err)
	}
}

// Issuer is the iss of the tokens the daemon mints.
func (d *Daemon) Issuer() string { return d.tokens.Issuer }

type provisioning struct {
	ca       *pki.CA
	roots    *x509.CertPool
	verifier *engine.AttestationVerifier
}

// provisioningOptions loads the provisioning CA and the attestation settings.
func (d *Daemon) provisioningOptions() (provisioning, error) {
	var out provisioning
	dir := d.settings.Provisioning.CADir
	if dir == "" {
		dir = filepath.Join(d.settings.Data, "ca")
	}
	ca, err := pki.LoadCA(dir)
	switch {
	case err == nil:
		out.ca = ca
		if d.cluster != nil {
			if err := d.cluster.shareCA(context.Background(), ca, dir); err != nil {
				return out, err
			}
		}
	case errors.Is(err, fs.ErrNotExist) && d.settings.Development:
		if ca, err = pki.InitCA(dir, pki.CAOptions{CommonName: "Realmgate development provisioning CA"}); err != nil {
			return out, fmt.Errorf("creating the development provisioning CA: %w", err)
		}
		d.log.Info("created a development provisioning CA", "dir", dir)
		out.ca = ca
	case errors.Is(err, fs.ErrNotExist):
		d.log.Info("no provisioning CA: device auto-provisioning is refused until hostd ca init creates one", "dir", dir)
	default:
		return out, fmt.Errorf("provisioning CA: %w", err)
	}
	if files := d.settings.Authenticity.AndroidRoots; len(files) > 0 {
		out.roots = x509.NewCertPool()
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return out, fmt.Errorf("authenticity.androidRoots: %w", err)
			}
			if !out.roots.AppendCertsFromPEM(b) {
				return out, fmt.Errorf("authenticity.androidRoots: %s holds no PEM certificate", f)
			}
		}
	}
	if v := d.settings.Authenticity.Adapter; v != "" {
		ref, ok := adapters.ParseProcRef(v)
		if !ok {
			return out, fmt.Errorf("authenticity.adapter %q is not Adapter.procedure", v)
		}
		out.verifier = &ref
	}
	return out, nil
}

// checkEmbeddedPKI opens the PKCS#12 file of every user-certificate realm with the embedded PKI
// that a security test uses, so a file that does not open is a load error with its line.
func checkEmbeddedPKI(p *project.Project) project.Diagnostics {
	used := map[string]bool{}
	for _, t := range p.Tests {
		for _, r := range t.Realms {
			used[r.Realm] = true
		}
	}
	var diags project.Diagnostics
	for name, r := range p.Realms {
		if !used[name] || r.Class == nil || r.Class.Kind != "userCertificate" {
			continue
		}
		if class, _ := r.Params.Get("pki-bridge-class"); class != engine.BridgeEmbedded {
			continue
		}
		if _, err := engine.LoadEmbeddedPKI(p, r); err != nil {
			pos := r.Pos
			for _, prm := range r.Params {
				if prm.Name == "embedded-pki-bridge-ca-p12-file-path" {
					pos = prm.Pos
				}
			}
			diags = append(diags, project.Diagnostic{Pos: pos, Severity: project.Error,
				Message: fmt.Sprintf("realm %q: the embedded PKI's PKCS#12 file does not open: %v", name, err),
				Fix:     "give the path of a PKCS#12 file holding the CA certificate and key, and its password"})
		}
	}
	return diags
}

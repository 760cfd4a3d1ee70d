package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/realmgate/realmgate/hostd/internal/server"
)

// Actor is who the admin API audits the changes of an operator signed in with the admin token
// under; an operator let through by the security test protecting the console is
// "console:<user>".
const Actor = "console:admin"

//go:embed assets
var assetFS embed.FS

//go:embed templates/*.html
var templateFS embed.FS

// Options configure a Console.
type Options struct {
	// Token is the admin token an operator signs in with; it is also sent, in-process, with
	// the console's requests to the admin API.
	Token []byte
	// API serves the admin API (the daemon's HTTP handler): every read of the store and every
	// change goes through it.
	API http.Handler
	// Runtimes gives the loaded project (applications, tests, adapters) and the engine (the
	// remote-disable preview).
	Runtimes server.Runtimes
	// Metrics is read for adapter health; nil shows none.
	Metrics prometheus.Gatherer
	// Feed streams decisions to the decisions page; nil shows none.
	Feed *Feed
	// SecureCookies marks the session cookie Secure even on plain HTTP (a TLS proxy in front).
	SecureCookies bool
	Logger        *slog.Logger
	// Now is the clock of sessions; nil is time.Now.
	Now func() time.Time
}

// Console serves /console and below. Build it with New.
type Console struct {
	opts     Options
	log      *slog.Logger
	sessions *sessions
	signIns  throttle
	pages    map[string]*template.Template
	// mux routes the console's paths; handler is it behind the cross-origin check.
	mux     *http.ServeMux
	handler http.Handler
}

// New builds the console.
func New(opts Options) *Console {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts, log: opts.Logger, sessions: newSessions(opts.Now)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.pages = parseTemplates()
	c.mux = c.routes()
	// Cross-origin POSTs are refused before any handler, the CSRF token besides.
	c.handler = http.NewCrossOriginProtection().Handler(c.mux)
	return c
}

// Serves reports whether the console has a page or an asset at the request's path (the server
// serves a project's own static files at the others).
func (c *Console) Serves(r *http.Request) bool {
	_, pattern := c.mux.Handler(r)
	return pattern != "" && pattern != catchAll
}

// catchAll is the pattern of the console's "no such page".
const catchAll = "/console/"

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	c.handler.ServeHTTP(w, r)
}

func (c *Console) routes() *http.ServeMux {
	mux := http.NewServeMux()
	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET /console/assets/", http.StripPrefix("/console/assets/", http.FileServerFS(assets)))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /console/login", c.loginForm)
	mux.HandleFunc("POST /console/login", c.login)

	page := func(pattern string, h func(w http.ResponseWriter, r *http.Request, s *session)) {
		mux.Handle(pattern, c.signedIn(h))
	}
	page("POST /console/logout", c.logout)
	page("GET /console/{$}", c.appsPage)
	page("GET /console/adapters", c.adaptersPage)
	page("GET /console/remote-disable", c.rulesPage)
	page("POST /console/remote-disable/preview", c.rulesPreview)
	page("POST /console/remote-disable", c.saveRules)
	page("GET /console/devices", c.devicesPage)
	page("POST /console/devices/status", c.setDeviceStatus)
	page("GET /console/certificates", c.certificatesPage)
	page("POST /console/certificates/revoke", c.revoke)
	page("GET /console/decisions", c.decisionsPage)
	page("GET /console/decisions/stream", c.decisionStream)
	page("GET /console/health", c.healthPage)
	page("GET /console/audit", c.auditPage)
	page(catchAll, func(w http.ResponseWriter, r *http.Request, s *session) {
		c.fail(w, r, s, http.StatusNotFound, "There is no console page "+r.Method+" "+r.URL.Path+".")
	})
	return mux
}

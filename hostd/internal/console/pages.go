package console

import (
	"bytes"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/internal/server"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// page is what every template gets.
type page struct {
	Title string
	// Nav names the page in the navigation bar.
	Nav  string
	CSRF string
	// Flash says what the last change did; Error why it failed.
	Flash, Error string
	Data         any
}

var funcs = template.FuncMap{
	"add": func(a, b int) int { return a + b },
	"time": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"join": strings.Join,
}

// parseTemplates parses each page with the layout; a template that does not parse is a bug of
// the build, found by every test.
func parseTemplates() map[string]*template.Template {
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		out[base] = template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
	}
	return out
}

// render writes a page; with fragment set it writes only that template of the page (an htmx
// swap).
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, p any) {
	c.renderTemplate(w, status, name, "layout.html", s, p)
}

func (c *Console) renderTemplate(w http.ResponseWriter, status int, name, tmpl string, s *session, p any) {
	t := c.pages[name]
	var pg page
	switch v := p.(type) {
	case page:
		pg = v
	case map[string]any:
		pg.Data = v
		if e, ok := v["Error"].(string); ok {
			pg.Error = e
		}
	}
	if s != nil {
		pg.CSRF = s.csrf
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, pg); err != nil {
		c.log.Error("console template", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail shows an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	c.render(w, r, status, "error", s, page{Title: "Error", Error: msg})
}

// runtime holds the current runtime for the handler; nil when the daemon has none loaded (the
// page then says so).
func (c *Console) runtime(w http.ResponseWriter, r *http.Request, s *session) (*server.Runtime, func()) {
	if c.opts.Runtimes == nil {
		c.fail(w, r, s, http.StatusServiceUnavailable, "The configuration is not loaded.")
		return nil, func() {}
	}
	rt, release := c.opts.Runtimes.Acquire()
	if rt == nil {
		release()
		c.fail(w, r, s, http.StatusServiceUnavailable, "The configuration is not loaded.")
		return nil, func() {}
	}
	return rt, release
}

// realmView is a realm as a step of a security test draws it.
type realmView struct {
	Name string
	// Role is "user", "device" or "" for the test's other realms.
	Role string
	// Class is the authenticator, short ("FormBasedAuthenticator"), or "built-in".
	Class string
}

// testView is a security test drawn as its steps.
type testView struct {
	Name, Kind string
	Steps      [][]realmView
	// Unprotected: the resource needs no authentication.
	Unprotected bool
	// Inherited: a procedure without a test of its own takes the calling environment's.
	Inherited bool
}

func viewTest(p *project.Project, name string) testView {
	if name == "" {
		return testView{Inherited: true}
	}
	if name == project.Unprotected {
		return testView{Name: name, Unprotected: true}
	}
	t := p.Tests[name]
	if t == nil {
		return testView{Name: name}
	}
	v := testView{Name: t.Name, Kind: t.Kind}
	for _, step := range t.Steps {
		var rs []realmView
		for _, realm := range step {
			rv := realmView{Name: realm, Class: "built-in"}
			switch realm {
			case t.UserRealm:
				rv.Role = "user"
			case t.DeviceRealm:
				rv.Role = "device"
			}
			if def := p.Realms[realm]; def != nil && def.ClassName != "" {
				rv.Class = def.ClassName[strings.LastIndexByte(def.ClassName, '.')+1:]
			}
			rs = append(rs, rv)
		}
		v.Steps = append(v.Steps, rs)
	}
	return v
}

type envView struct {
	App, Env, Version string
	Mobile            bool
	Test              testView
}

type staticView struct {
	ID       string
	Patterns []string
	Test     testView
}

func (c *Console) appsPage(w http.ResponseWriter, r *http.Request, s *session) {
	rt, release := c.runtime(w, r, s)
	defer release()
	if rt == nil {
		return
	}
	p := rt.Project
	var envs []envView
	for _, app := range sortedKeys(p.Apps) {
		a := p.Apps[app]
		for _, env := range sortedKeys(a.Envs) {
			e := a.Envs[env]
			envs = append(envs, envView{App: app, Env: env, Version: e.Version, Mobile: e.Mobile, Test: viewTest(p, e.SecurityTest)})
		}
	}
	var statics []staticView
	for _, sr := range p.StaticResources {
		statics = append(statics, staticView{ID: sr.ID, Patterns: sr.URLPatterns, Test: viewTest(p, sr.SecurityTest)})
	}
	c.render(w, r, http.StatusOK, "apps", s, page{Title: "Applications", Nav: "apps", Data: map[string]any{
		"Envs": envs, "Static": statics, "Revision": rt.Engine.Revision(),
	}})
}

type procView struct {
	Name string
	Test testView
}

type adapterView struct {
	Name, Backend string
	Instances     int
	Procedures    []procView
}

func (c *Console) adaptersPage(w http.ResponseWriter, r *http.Request, s *session) {
	rt, release := c.runtime(w, r, s)
	defer release()
	if rt == nil {
		return
	}
	p := rt.Project
	var out []adapterView
	for _, name := range sortedKeys(p.Adapters) {
		a := p.Adapters[name]
		av := adapterView{Name: name, Backend: "none (procedures answer 501)"}
		if a.Backend != nil {
			av.Backend, av.Instances = a.Backend.Kind, a.Backend.Instances
		}
		for _, proc := range a.ProcedureOrder {
			if p.Internal[name+"."+proc] {
				continue // called by realms only
			}
			av.Procedures = append(av.Procedures, procView{Name: proc, Test: viewTest(p, a.Procedures[proc].SecurityTest)})
		}
		out = append(out, av)
	}
	c.render(w, r, http.StatusOK, "adapters", s, page{Title: "Adapters", Nav: "adapters", Data: out})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// appEnv is an application environment the rules editor can choose.
type appEnv struct{ App, Env, Version string }

func appEnvs(p *project.Project) []appEnv {
	var out []appEnv
	for _, app := range sortedKeys(p.Apps) {
		for _, env := range sortedKeys(p.Apps[app].Envs) {
			out = append(out, appEnv{app, env, p.Apps[app].Envs[env].Version})
		}
	}
	return out
}

// blankRules is how many empty rows the rules editor offers for new rules.
const blankRules = 2

// maxRules bounds the rules of one environment the editor takes.
const maxRules = 64

type rulesData struct {
	Envs     []appEnv
	App, Env string
	Rules    []store.Rule
	// Versions are the versions the preview shows, as typed.
	Versions string
	Preview  []engine.RulePreview
	// PreviewError is why the rules as typed cannot be stored.
	PreviewError string
}

// defaultVersions are the versions the preview shows first: the descriptor's version of the
// environment, and the versions of the devices seen for the application.
func (c *Console) defaultVersions(p *project.Project, app, env string) string {
	var vs []string
	if a := p.Apps[app]; a != nil && a.Envs[env] != nil && a.Envs[env].Version != "" {
		vs = append(vs, a.Envs[env].Version)
	}
	vs = append(vs, "1.0.0")
	return strings.Join(slices.Compact(vs), ", ")
}

func (c *Console) rulesPage(w http.ResponseWriter, r *http.Request, s *session) {
	rt, release := c.runtime(w, r, s)
	defer release()
	if rt == nil {
		return
	}
	envs := appEnvs(rt.Project)
	d := rulesData{Envs: envs, App: r.URL.Query().Get("app"), Env: r.URL.Query().Get("env")}
	if d.App == "" && len(envs) > 0 {
		d.App, d.Env = envs[0].App, envs[0].Env
	}
	pg := page{Title: "Remote disable", Nav: "rules", Flash: r.URL.Query().Get("saved")}
	if d.App != "" {
		var body struct {
			Rules []store.Rule `json:"rules"`
		}
		if err := c.call(r.Context(), r, http.MethodGet, "/admin/v1/apps/"+url.PathEscape(d.App)+"/"+url.PathEscape(d.Env)+"/remote-disable", nil, &body); err != nil {
			pg.Error = apiMessage(err)
		}
		d.Rules = body.Rules
	}
	d.Versions = c.defaultVersions(rt.Project, d.App, d.Env)
	d.Preview, _ = engine.PreviewRules(d.Rules, splitVersions(d.Versions))
	for range blankRules {
		d.Rules = append(d.Rules, store.Rule{})
	}
	pg.Data = d
	c.render(w, r, http.StatusOK, "rules", s, pg)
}

// parseRules reads the rules editor's rows: parallel lists of versions, action, message,
// downloadLink and messageId. A row without a message and without versions is an empty row
// and is skipped.
func parseRules(form url.Values) ([]store.Rule, error) {
	versions, actions, messages := form["versions"], form["action"], form["message"]
	links, ids := form["downloadLink"], form["messageId"]
	n := len(versions)
	if len(actions) != n || len(messages) != n || len(links) != n || len(ids) != n {
		return nil, errors.New("the rules form is incomplete: reload the page")
	}
	rules := []store.Rule{}
	for i := range n {
		r := store.Rule{
			Versions: strings.TrimSpace(versions[i]), Action: actions[i], Message: strings.TrimSpace(messages[i]),
			DownloadLink: strings.TrimSpace(links[i]), MessageID: strings.TrimSpace(ids[i]),
		}
		if r.Versions == "" && r.Message == "" && r.DownloadLink == "" && r.MessageID == "" {
			continue
		}
		if len(rules) == maxRules {
			return nil, errors.New("too many rules for one environment")
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// maxPreviewVersions bounds the versions one preview evaluates.
const maxPreviewVersions = 32

// splitVersions reads a comma- or space-separated list of versions.
func splitVersions(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
	if len(f) > maxPreviewVersions {
		f = f[:maxPreviewVersions]
	}
	return slices.Compact(f)
}

// rulesPreview answers the editor's htmx request with the preview of the rules as typed,
// stored or not: which of the versions they block, notify or let through.
func (c *Console) rulesPreview(w http.ResponseWriter, r *http.Request, s *session) {
	d := rulesData{Versions: r.PostForm.Get("preview-versions")}
	rules, err := parseRules(r.PostForm)
	if err == nil {
		d.Preview, err = engine.PreviewRules(rules, splitVersions(d.Versions))
	}
	if err != nil {
		d.PreviewError = apiMessage(err)
	}
	c.renderTemplate(w, http.StatusOK, "rules", "preview", s, page{Data: d})
}

// saveRules stores the rules through the admin API (PUT .../remote-disable).
func (c *Console) saveRules(w http.ResponseWriter, r *http.Request, s *session) {
	app, env := r.PostForm.Get("app"), r.PostForm.Get("env")
	rules, err := parseRules(r.PostForm)
	if err == nil {
		err = c.call(r.Context(), r, http.MethodPut, "/admin/v1/apps/"+url.PathEscape(app)+"/"+url.PathEscape(env)+"/remote-disable",
			map[string]any{"rules": rules}, nil)
	}
	if err != nil {
		c.fail(w, r, s, statusOf(err), "The rules were not saved: "+apiMessage(err))
		return
	}
	http.Redirect(w, r, "/console/remote-disable?"+url.Values{"app": {app}, "env": {env}, "saved": {"Rules saved."}}.Encode(), http.StatusSeeOther)
}

// apiMessage is what an operator is told of a failed change.
func apiMessage(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		return ee.Message
	}
	return err.Error()
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusBadRequest
}

type deviceRow struct {
	ID                string    `json:"id"`
	Entity            string    `json:"entity"`
	App               string    `json:"app"`
	OS                string    `json:"os"`
	Model             string    `json:"model"`
	DisplayName       string    `json:"displayName"`
	Status            string    `json:"status"`
	LastSeen          time.Time `json:"lastSeen"`
	CertificateSerial string    `json:"certificateSerial"`
}

func (c *Console) devicesPage(w http.ResponseWriter, r *http.Request, s *session) {
	var body struct {
		Devices []deviceRow `json:"devices"`
	}
	pg := page{Title: "Devices", Nav: "devices", Flash: r.URL.Query().Get("done")}
	if err := c.call(r.Context(), r, http.MethodGet, "/admin/v1/devices", nil, &body); err != nil {
		pg.Error = apiMessage(err)
	}
	pg.Data = body.Devices
	c.render(w, r, http.StatusOK, "devices", s, pg)
}

// setDeviceStatus blocks or unblocks a device through the admin API. The device's id comes in
// the form, never in the form's URL: a client chooses its device id, and one like
// "../certificates/..." in a URL would send an operator's click elsewhere.
func (c *Console) setDeviceStatus(w http.ResponseWriter, r *http.Request, s *session) {
	id, status := r.PostForm.Get("id"), r.PostForm.Get("status")
	if err := c.call(r.Context(), r, http.MethodPut, "/admin/v1/devices/"+url.PathEscape(id)+"/status", map[string]string{"status": status}, nil); err != nil {
		c.fail(w, r, s, statusOf(err), "The device was not changed: "+apiMessage(err))
		return
	}
	http.Redirect(w, r, "/console/devices?"+url.Values{"done": {"Device " + id + " is now " + status + "."}}.Encode(), http.StatusSeeOther)
}

type certificateRow struct {
	Serial    string     `json:"serial"`
	Entity    string     `json:"entity"`
	Owner     string     `json:"owner"`
	Realm     string     `json:"realm"`
	Issuer    string     `json:"issuer"`
	NotAfter  time.Time  `json:"notAfter"`
	IssuedAt  time.Time  `json:"issuedAt"`
	RevokedAt *time.Time `json:"revokedAt"`
	Reason    string     `json:"reason"`
}

func (c *Console) certificatesPage(w http.ResponseWriter, r *http.Request, s *session) {
	var body struct {
		Certificates []certificateRow `json:"certificates"`
	}
	pg := page{Title: "Certificates", Nav: "certificates", Flash: r.URL.Query().Get("done")}
	if err := c.call(r.Context(), r, http.MethodGet, "/admin/v1/certificates", nil, &body); err != nil {
		pg.Error = apiMessage(err)
	}
	sort.SliceStable(body.Certificates, func(i, j int) bool {
		return body.Certificates[i].IssuedAt.After(body.Certificates[j].IssuedAt)
	})
	pg.Data = body.Certificates
	c.render(w, r, http.StatusOK, "certificates", s, pg)
}

// revoke revokes a certificate through the admin API (the serial comes in the form, as a
// device's id does).
func (c *Console) revoke(w http.ResponseWriter, r *http.Request, s *session) {
	serial := r.PostForm.Get("serial")
	if err := c.call(r.Context(), r, http.MethodPost, "/admin/v1/certificates/"+url.PathEscape(serial)+"/revoke",
		map[string]string{"reason": r.PostForm.Get("reason")}, nil); err != nil {
		c.fail(w, r, s, statusOf(err), "The certificate was not revoked: "+apiMessage(err))
		return
	}
	http.Redirect(w, r, "/console/certificates?"+url.Values{"done": {"Certificate " + serial + " revoked."}}.Encode(), http.StatusSeeOther)
}

func (c *Console) decisionsPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, http.StatusOK, "decisions", s, page{Title: "Decisions", Nav: "decisions", Data: c.opts.Feed != nil})
}

type auditRow struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
}

// auditPageSize is how many of the latest audit records the audit page shows.
const auditPageSize = 200

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	pg := page{Title: "Audit", Nav: "audit"}
	var all []auditRow
	var after int64
	for range 50 { // the API pages from the oldest; keep the latest auditPageSize
		var body struct {
			Records []auditRow `json:"records"`
		}
		if err := c.call(r.Context(), r, http.MethodGet, "/admin/v1/audit?after="+strconv.FormatInt(after, 10)+"&limit=500", nil, &body); err != nil {
			pg.Error = apiMessage(err)
			break
		}
		if len(body.Records) == 0 {
			break
		}
		all = append(all, body.Records...)
		if len(all) > auditPageSize {
			all = all[len(all)-auditPageSize:]
		}
		after = body.Records[len(body.Records)-1].ID
	}
	slices.Reverse(all)
	pg.Data = all
	c.render(w, r, http.StatusOK, "audit", s, pg)
}

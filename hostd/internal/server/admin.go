package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

const adminActor = "admin"

// reloadGrace is how long the adapters of a replaced configuration stay open for requests in
// flight.
const reloadGrace = 30 * time.Second

func (s *Server) adminRoutes(mux *http.ServeMux, handle func(pattern, route string, h http.HandlerFunc)) {
	admin := func(pattern, route string, h http.HandlerFunc) {
		handle(pattern, "admin_"+route, s.adminAuth(h))
	}
	admin("GET /admin/v1/apps/{app}/{env}/remote-disable", "remote_disable", s.getRules)
	admin("PUT /admin/v1/apps/{app}/{env}/remote-disable", "remote_disable", s.putRules)
	admin("DELETE /admin/v1/apps/{app}/{env}/remote-disable", "remote_disable", s.deleteRules)
	admin("GET /admin/v1/devices", "devices", s.listDevices)
	admin("PUT /admin/v1/devices/{id}/status", "devices", s.setDeviceStatus)
	admin("POST /admin/v1/devices/{id}/reset", "devices", s.resetDevice)
	admin("GET /admin/v1/certificates", "certificates", s.listCertificates)
	admin("POST /admin/v1/certificates/{serial}/revoke", "certificates", s.revokeCertificate)
	admin("GET /admin/v1/security-tests", "security_tests", s.securityTests)
	admin("POST /admin/v1/reload", "reload", s.reload)
	admin("GET /admin/v1/audit", "audit", s.listAudit)
	admin("POST /admin/v1/keys/rotate", "keys", s.rotateKeys)
	admin("/admin/", "unknown", func(w http.ResponseWriter, r *http.Request) {
		if s.methodNotAllowed(w, r) {
			return
		}
		s.writeError(w, r, newError(codeNotFound, "no admin endpoint "+r.Method+" "+r.URL.Path))
	})
}

// adminAuth requires the admin bearer token. Without a configured token the admin API does not
// exist (404), so that an unconfigured daemon exposes nothing.
func (s *Server) adminAuth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.opts.AdminToken) == 0 {
			s.writeError(w, r, newError(codeNotFound, "the admin API is off: start hostd with --admin-token-file or HOSTD_ADMIN_TOKEN"))
			return
		}
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(token), s.opts.AdminToken) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="realmgate-admin"`)
			s.writeError(w, r, newError(codeUnauthorized, "send Authorization: Bearer <admin token>"))
			return
		}
		if s.rt.Load() == nil {
			s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the configuration is not loaded"})
			return
		}
		h(w, r)
	}
}

func (s *Server) adminEnv(w http.ResponseWriter, r *http.Request) (app, env string, ok bool) {
	app, env = r.PathValue("app"), strings.ToLower(r.PathValue("env"))
	a := s.rt.Load().Project.Apps[app]
	if a == nil || a.Envs[env] == nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnknownApplication, Message: "no application environment " + app + "/" + env})
		return "", "", false
	}
	return app, env, true
}

type rulesBody struct {
	Rules []store.Rule `json:"rules"`
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request) {
	app, env, ok := s.adminEnv(w, r)
	if !ok {
		return
	}
	rules, err := s.opts.Store.GetRules(r.Context(), app, env)
	if err != nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the rule store is unavailable", Err: err})
		return
	}
	if rules == nil {
		rules = []store.Rule{}
	}
	writeJSON(w, http.StatusOK, rulesBody{Rules: rules})
}

func (s *Server) putRules(w http.ResponseWriter, r *http.Request) {
	app, env, ok := s.adminEnv(w, r)
	if !ok {
		return
	}
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in rulesBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		s.writeError(w, r, newError(codeBadRequest, `the body must be {"rules": [{"versions", "action", "message", "downloadLink", "messageId"}]}: `+err.Error()))
		return
	}
	if in.Rules == nil {
		in.Rules = []store.Rule{}
	}
	if len(in.Rules) > 100 {
		s.writeError(w, r, newError(codeBadRequest, "at most 100 rules per environment"))
		return
	}
	if err := s.rt.Load().Engine.SetRules(r.Context(), adminActor, app, env, in.Rules); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (s *Server) deleteRules(w http.ResponseWriter, r *http.Request) {
	app, env, ok := s.adminEnv(w, r)
	if !ok {
		return
	}
	if err := s.rt.Load().Engine.SetRules(r.Context(), adminActor, app, env, []store.Rule{}); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rulesBody{Rules: []store.Rule{}})
}

type deviceJSON struct {
	ID                string    `json:"id"`
	Entity            string    `json:"entity"`
	App               string    `json:"app,omitempty"`
	OS                string    `json:"os,omitempty"`
	Model             string    `json:"model,omitempty"`
	DisplayName       string    `json:"displayName,omitempty"`
	Status            string    `json:"status"`
	CreatedAt         time.Time `json:"createdAt"`
	LastSeen          time.Time `json:"lastSeen"`
	CertificateSerial string    `json:"certificateSerial,omitempty"`
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) {
	devs, err := s.opts.Store.ListDevices(r.Context())
	if err != nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the device store is unavailable", Err: err})
		return
	}
	out := make([]deviceJSON, 0, len(devs))
	for _, d := range devs {
		out = append(out, deviceJSON{d.ID, d.Entity, d.App, d.OS, d.Model, d.DisplayName, d.Status, d.CreatedAt, d.LastSeen, d.CertificateSerial})
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

func (s *Server) setDeviceStatus(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &in); err != nil || (in.Status != store.DeviceActive && in.Status != store.DeviceBlocked) {
		s.writeError(w, r, newError(codeBadRequest, `the body must be {"status": "active" | "blocked"}`))
		return
	}
	id := r.PathValue("id")
	if err := s.opts.Store.SetDeviceStatus(r.Context(), id, in.Status); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.writeError(w, r, newError(codeNotFound, "no device "+quote(id)))
			return
		}
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the device store is unavailable", Err: err})
		return
	}
	eng := s.rt.Load().Engine
	eng.DeviceStatusChanged(id)
	if in.Status == store.DeviceBlocked {
		// Its access tokens end with the block (for online validation; offline validators keep
		// accepting them until they expire).
		if err := eng.RevokeDeviceTokens(r.Context(), id); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.audit(r, "device.status", id, map[string]any{"status": in.Status})
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": in.Status})
}

// resetDevice revokes the certificate a device holds (for one entity, or all), so that a new key
// may be provisioned for its id without the old key's proof: a lost or wiped device. The engine
// audits it.
func (s *Server) resetDevice(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in struct {
		Entity string `json:"entity"`
		Reason string `json:"reason"`
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || len(in.Reason) > 1024 || len(in.Entity) > 256 {
			s.writeError(w, r, newError(codeBadRequest, `the body must be {"entity": "application:APP" | "group:NAME" | "device", "reason": "..."}, each optional, or empty`))
			return
		}
	}
	id := r.PathValue("id")
	reset, err := s.rt.Load().Engine.ResetDevice(r.Context(), adminActor, id, in.Entity, in.Reason)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.writeError(w, r, newError(codeNotFound, "no provisioned device "+quote(id)))
			return
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": "reset", "entities": reset})
}

type certificateJSON struct {
	Serial    string     `json:"serial"`
	Entity    string     `json:"entity"`
	Owner     string     `json:"owner"`
	Realm     string     `json:"realm,omitempty"`
	Issuer    string     `json:"issuer"`
	NotBefore time.Time  `json:"notBefore"`
	NotAfter  time.Time  `json:"notAfter"`
	IssuedAt  time.Time  `json:"issuedAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}

func (s *Server) listCertificates(w http.ResponseWriter, r *http.Request) {
	certs, err := s.opts.Store.ListCertificates(r.Context())
	if err != nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the certificate store is unavailable", Err: err})
		return
	}
	out := make([]certificateJSON, 0, len(certs))
	for _, c := range certs {
		out = append(out, certificateJSON{c.Serial, c.Entity, c.Owner, c.Realm, c.Issuer, c.NotBefore, c.NotAfter, c.IssuedAt, c.RevokedAt, c.Reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
}

func (s *Server) revokeCertificate(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Reason) > 1024 {
		s.writeError(w, r, newError(codeBadRequest, `the body must be {"reason": "..."} or empty`))
		return
	}
	serial := strings.ToLower(r.PathValue("serial"))
	if err := s.opts.Store.RevokeCertificate(r.Context(), serial, in.Reason, time.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.writeError(w, r, newError(codeNotFound, "no certificate with serial "+serial))
			return
		}
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the certificate store is unavailable", Err: err})
		return
	}
	s.audit(r, "certificate.revoke", serial, map[string]any{"reason": in.Reason})
	writeJSON(w, http.StatusOK, map[string]any{"serial": serial, "status": "revoked"})
}

// TestView is how the admin API shows a security test: its effective realms and steps.
type TestView struct {
	Name        string     `json:"name"`
	Kind        string     `json:"kind"`
	Predefined  bool       `json:"predefined,omitempty"`
	Source      string     `json:"source,omitempty"`
	Steps       [][]string `json:"steps"`
	UserRealm   string     `json:"userRealm,omitempty"`
	DeviceRealm string     `json:"deviceRealm,omitempty"`
	NotEnforced []string   `json:"notEnforced,omitempty"`
	Expansion   string     `json:"expansion,omitempty"`
	ProtectedBy []string   `json:"protects,omitempty"`
}

// TestViews describes every security test of a project and what each protects.
func TestViews(p *project.Project) []TestView {
	protects := map[string][]string{}
	for _, id := range sortedKeys(p.Apps) {
		app := p.Apps[id]
		for _, env := range sortedKeys(app.Envs) {
			t := app.Envs[env].SecurityTest
			protects[t] = append(protects[t], "app "+id+"/"+env)
		}
	}
	for _, name := range sortedKeys(p.Adapters) {
		a := p.Adapters[name]
		for _, pn := range a.ProcedureOrder {
			if t := a.Procedures[pn].SecurityTest; t != "" {
				protects[t] = append(protects[t], "procedure "+name+"."+pn)
			}
		}
	}
	for _, sr := range p.StaticResources {
		protects[sr.SecurityTest] = append(protects[sr.SecurityTest], "static "+sr.ID+" "+strings.Join(sr.URLPatterns, ";"))
	}
	out := make([]TestView, 0, len(p.TestOrder))
	for _, name := range p.TestOrder {
		t := p.Tests[name]
		v := TestView{
			Name: t.Name, Kind: t.Kind, Predefined: t.Predefined, Steps: t.Steps,
			UserRealm: t.UserRealm, DeviceRealm: t.DeviceRealm, NotEnforced: t.NotEnforced,
			Expansion: t.Expansion, ProtectedBy: protects[name],
		}
		if !t.Predefined {
			v.Source = t.Pos.String()
		}
		out = append(out, v)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func (s *Server) securityTests(w http.ResponseWriter, r *http.Request) {
	rt := s.rt.Load()
	writeJSON(w, http.StatusOK, map[string]any{"revision": rt.Engine.Revision(), "securityTests": TestViews(rt.Project)})
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		s.writeError(w, r, newError(codeConflict, "this server cannot reload its configuration"))
		return
	}
	rt, err := s.opts.Reload(r.Context())
	if err != nil {
		s.metrics.reloads.WithLabelValues("failed").Inc()
		var le *project.LoadError
		if errors.As(err, &le) {
			lines := make([]string, 0, len(le.Diagnostics))
			for _, d := range le.Diagnostics {
				lines = append(lines, d.String())
			}
			s.writeError(w, r, &apiError{Code: "invalid_configuration", Message: "the configuration has errors; the running one is kept",
				Details: map[string]any{"diagnostics": lines}})
			return
		}
		s.writeError(w, r, err)
		return
	}
	if old := s.rt.Swap(rt); old != nil && old.Adapters != nil {
		// Requests in flight may still call the old adapters: close them after a grace period.
		go func() {
			time.Sleep(reloadGrace)
			if err := old.Adapters.Close(context.Background()); err != nil {
				s.log.Warn("closing the adapters of the previous configuration", "err", err)
			}
		}()
	}
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.audit(r, "config.reload", rt.Project.Dir, map[string]any{"revision": rt.Engine.Revision()})
	warnings := make([]string, 0, len(rt.Project.Diagnostics))
	for _, d := range rt.Project.Diagnostics {
		warnings = append(warnings, d.String())
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "revision": rt.Engine.Revision(), "warnings": warnings})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 100
	}
	recs, err := s.opts.Store.ListAudit(r.Context(), after, limit)
	if err != nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the audit log is unavailable", Err: err})
		return
	}
	type rec struct {
		ID     int64           `json:"id"`
		Time   time.Time       `json:"time"`
		Actor  string          `json:"actor"`
		Action string          `json:"action"`
		Target string          `json:"target"`
		Detail json.RawMessage `json:"detail,omitempty"`
	}
	out := make([]rec, 0, len(recs))
	for _, a := range recs {
		out = append(out, rec{a.ID, a.Time, a.Actor, a.Action, a.Target, a.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": out})
}

// audit records an admin change; a failure to audit is logged.
func (s *Server) audit(r *http.Request, action, target string, detail map[string]any) {
	raw, _ := json.Marshal(detail)
	if _, err := s.opts.Store.AppendAudit(r.Context(), store.AuditRecord{
		Time: time.Now(), Actor: adminActor, Action: action, Target: target, Detail: raw,
	}); err != nil {
		s.log.Error("audit record not written", "action", action, "err", err)
	}
}

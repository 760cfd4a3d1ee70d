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

	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// adminActor is who the admin API's changes are audited under: the holder of the admin token.
const adminActor = "admin"

// actorKey carries, in a request's context, who an in-process caller of the admin API acts for.
type actorKey struct{}

// WithActor returns ctx carrying the actor the admin API audits a change under, for a caller in
// the same process (the admin console, "console:admin"). Only code of the daemon can set it: a
// client over the network has no way to choose the name its changes are audited under.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// actorOf is who a change of the admin API is audited under.
func actorOf(r *http.Request) string {
	if a, ok := r.Context().Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return adminActor
}

// adminHandler serves an admin request with the runtime it holds.
type adminHandler func(w http.ResponseWriter, r *http.Request, rt *Runtime)

func (s *Server) adminRoutes(handle func(pattern, route string, h http.HandlerFunc)) {
	admin := func(pattern, route string, h adminHandler) {
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
	admin("/admin/", "unknown", func(w http.ResponseWriter, r *http.Request, _ *Runtime) {
		if s.methodNotAllowed(w, r) {
			return
		}
		s.writeError(w, r, newError(codeNotFound, "no admin endpoint "+r.Method+" "+r.URL.Path))
	})
}

// adminAuth requires the admin bearer token, then holds the runtime for the handler. Without a
// configured token the admin API does not exist (404), so that an unconfigured daemon exposes
// nothing.
func (s *Server) adminAuth(h adminHandler) http.HandlerFunc {
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
		rt, release := s.acquire()
		defer release()
		if rt == nil {
			s.writeError(w, r, notLoaded())
			return
		}
		h(w, r, rt)
	}
}

// adminEnv reads the application environment of a remote-disable path; an unknown one is
// answered before the body is read.
func (s *Server) adminEnv(w http.ResponseWriter, r *http.Request, rt *Runtime) (app, env string, ok bool) {
	app, env = r.PathValue("app"), strings.ToLower(r.PathValue("env"))
	if err := rt.Engine.CheckEnvironment(app, env); err != nil {
		s.writeError(w, r, err)
		return "", "", false
	}
	return app, env, true
}

type rulesBody struct {
	Rules []store.Rule `json:"rules"`
}

func (s *Server) getRules(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	app, env, ok := s.adminEnv(w, r, rt)
	if !ok {
		return
	}
	rules, err := rt.Engine.Rules(r.Context(), app, env)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rulesBody{Rules: rules})
}

func (s *Server) putRules(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	app, env, ok := s.adminEnv(w, r, rt)
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
	if err := rt.Engine.SetRules(r.Context(), actorOf(r), app, env, in.Rules); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, in)
}

func (s *Server) deleteRules(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	app, env, ok := s.adminEnv(w, r, rt)
	if !ok {
		return
	}
	if err := rt.Engine.SetRules(r.Context(), actorOf(r), app, env, []store.Rule{}); err != nil {
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

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	devs, err := rt.Engine.Devices(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]deviceJSON, 0, len(devs))
	for _, d := range devs {
		out = append(out, deviceJSON{d.ID, d.Entity, d.App, d.OS, d.Model, d.DisplayName, d.Status, d.CreatedAt, d.LastSeen, d.CertificateSerial})
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}

func (s *Server) setDeviceStatus(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	body, err := s.readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.writeError(w, r, newError(codeBadRequest, `the body must be {"status": "active" | "blocked"}`))
		return
	}
	id := r.PathValue("id")
	if err := rt.Engine.SetDeviceStatus(r.Context(), actorOf(r), id, in.Status); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "status": in.Status})
}

// resetDevice revokes the certificate a device holds (for one entity, or all), so that a new key
// may be provisioned for its id without the old key's proof: a lost or wiped device. The engine
// audits it.
func (s *Server) resetDevice(w http.ResponseWriter, r *http.Request, rt *Runtime) {
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
	reset, err := rt.Engine.ResetDevice(r.Context(), actorOf(r), id, in.Entity, in.Reason)
	if err != nil {
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

func (s *Server) listCertificates(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	certs, err := rt.Engine.Certificates(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]certificateJSON, 0, len(certs))
	for _, c := range certs {
		out = append(out, certificateJSON{c.Serial, c.Entity, c.Owner, c.Realm, c.Issuer, c.NotBefore, c.NotAfter, c.IssuedAt, c.RevokedAt, c.Reason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
}

func (s *Server) revokeCertificate(w http.ResponseWriter, r *http.Request, rt *Runtime) {
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
	serial, err := rt.Engine.RevokeCertificate(r.Context(), actorOf(r), r.PathValue("serial"), in.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"serial": serial, "status": "revoked"})
}

func (s *Server) securityTests(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	writeJSON(w, http.StatusOK, map[string]any{"revision": rt.Engine.Revision(), "securityTests": rt.Engine.SecurityTests()})
}

// reload loads the configuration again through the Reloader. The runtime this request holds is
// the one being replaced: its adapters close once this and every other request on it is done.
func (s *Server) reload(w http.ResponseWriter, r *http.Request, _ *Runtime) {
	if s.opts.Reloader == nil {
		s.writeError(w, r, newError(codeConflict, "this server cannot reload its configuration"))
		return
	}
	res, err := s.opts.Reloader.Reload(r.Context(), actorOf(r))
	if err != nil {
		s.metrics.reloads.WithLabelValues("failed").Inc()
		var le *project.LoadError
		if errors.As(err, &le) {
			lines := make([]string, 0, len(le.Diagnostics))
			for _, d := range le.Diagnostics {
				lines = append(lines, d.String())
			}
			s.writeError(w, r, &apiError{Code: codeInvalidConfiguration, Message: "the configuration has errors; the running one is kept",
				Details: map[string]any{"diagnostics": lines}})
			return
		}
		s.writeError(w, r, err)
		return
	}
	s.metrics.reloads.WithLabelValues("ok").Inc()
	warnings := res.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "revision": res.Revision, "warnings": warnings})
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit")) // 0, the default page, when absent or not a number
	recs, err := rt.Engine.AuditRecords(r.Context(), after, limit)
	if err != nil {
		s.writeError(w, r, err)
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

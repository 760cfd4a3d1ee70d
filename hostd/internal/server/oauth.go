package server

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// TokenKeys is what the OAuth endpoints need of the signing keys beyond signing.
type TokenKeys interface {
	JWKS(now time.Time) jose.JSONWebKeySet
	Rotate(now time.Time, retain time.Duration) error
}

// jwksMaxAge is how long clients may cache the JWKS; keys stay published at least this much past
// their last token's expiry.
const jwksMaxAge = 60 * time.Second

func (s *Server) oauthRoutes(handle func(pattern, route string, h http.HandlerFunc)) {
	handle("GET /oauth/jwks", "jwks", s.jwks)
	handle("POST /oauth/token", "token", s.token)
	handle("POST /oauth/validation", "validation", s.validation)
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if s.opts.TokenKeys == nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeNotImplemented, Message: "access tokens are not configured"})
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age="+itoa(int(jwksMaxAge/time.Second)))
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(s.opts.TokenKeys.JWKS(time.Now()))
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// formOrJSON reads the parameters of an OAuth request from a form or a JSON object body.
func (s *Server) formOrJSON(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, newError(codeTooLarge, "the request body is larger than the limit")
			}
			return nil, &apiError{Code: "invalid_request", Message: "the form body does not parse"}
		}
		return r.PostForm, nil
	}
	body, err := s.readBody(r)
	if err != nil {
		return nil, &apiError{Code: "invalid_request", Message: "send a form (application/x-www-form-urlencoded) or a JSON object"}
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, &apiError{Code: "invalid_request", Message: "the body must be a JSON object"}
	}
	v := url.Values{}
	for k, x := range m {
		str, ok := x.(string)
		if !ok {
			return nil, &apiError{Code: "invalid_request", Message: k + " must be a string"}
		}
		v.Set(k, str)
	}
	return v, nil
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if s.opts.Tokens == nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeNotImplemented, Message: "access tokens are not configured"})
		return
	}
	rt, ac, env, ok := s.begin(w, r)
	if !ok {
		return
	}
	params, err := s.formOrJSON(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	scope := strings.TrimSpace(params.Get("scope"))
	if scope == "" {
		scope = env.SecurityTest
	}
	if strings.ContainsAny(scope, " \t") {
		s.writeError(w, r, &apiError{Code: "invalid_scope", Message: "scope is one security test name"})
		return
	}
	if _, ok := rt.Project.Tests[scope]; !ok || scope == project.Unprotected {
		s.writeError(w, r, &apiError{Code: "invalid_scope", Message: "scope " + quote(scope) + " is not a security test of this server"})
		return
	}
	audience, err := audienceParam(params)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	acc, tok, err := rt.Engine.IssueToken(r.Context(), s.opts.Tokens, engine.AccessRequest{
		App:       ac,
		SessionID: sessionID(r),
		Resource:  engine.Resource{Kind: engine.ResourceToken, Name: scope, Test: scope, Attributes: map[string]any{"scope": scope}},
		Passive:   s.passive(r),
		Facts:     map[string]any{"method": r.Method, "path": r.URL.Path},
	}, audience)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookies(w, r, acc.Cookies)
	if acc.Challenge != nil {
		writeJSON(w, http.StatusUnauthorized, acc.Challenge)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"scope": tok.Scope, "token_type": "Bearer", "access_token": tok.AccessToken, "expires_in": tok.ExpiresIn,
	})
}

// audienceParam reads the audience a token request or a validation names: the audience
// parameter, or RFC 8707's resource; both may be given if they agree. Empty when neither is.
func audienceParam(params url.Values) (string, error) {
	var aud string
	for _, name := range []string{"audience", "resource"} {
		vs := params[name]
		if len(vs) > 1 {
			return "", &apiError{Code: string(engine.CodeInvalidTarget), Message: "give one " + name + " parameter"}
		}
		if len(vs) == 0 || vs[0] == "" {
			continue
		}
		if aud != "" && vs[0] != aud {
			return "", &apiError{Code: string(engine.CodeInvalidTarget), Message: "audience and resource name different resource servers"}
		}
		aud = vs[0]
	}
	return aud, nil
}

// validation is RFC 7662-style introspection: anything invalid, for another audience than the
// one named, or revoked (its session logged out, its device was blocked) is {"active": false};
// why is logged, not answered. A revocation store that does not answer is 503, never active.
func (s *Server) validation(w http.ResponseWriter, r *http.Request) {
	if s.opts.Tokens == nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeNotImplemented, Message: "access tokens are not configured"})
		return
	}
	params, err := s.formOrJSON(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token := params.Get("token")
	if token == "" {
		s.writeError(w, r, &apiError{Code: "invalid_request", Message: "send token=..."})
		return
	}
	audience, err := audienceParam(params)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.opts.Tokens.Introspect(r.Context(), token, params.Get("scope"), audience)
	if err != nil {
		var ee *engine.Error
		if errors.As(err, &ee) && ee.Code == engine.CodeUnavailable {
			s.writeError(w, r, err)
			return
		}
		s.log.Info("token validation failed", "reason", err.Error())
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	out := map[string]any{
		"active": true, "scope": c.Scope, "client_id": c.ClientID, "token_type": "Bearer",
		"exp": c.Expiry.Time().Unix(), "iat": c.IssuedAt.Time().Unix(), "iss": c.Issuer, "jti": c.ID,
		"data": c.Data,
	}
	if c.Subject != "" {
		out["sub"] = c.Subject
	}
	if c.Audience != "" {
		out["aud"] = c.Audience
	}
	if c.SessionRef != "" {
		out["sid"] = c.SessionRef
	}
	writeJSON(w, http.StatusOK, out)
}

// rotateKeys makes a new signing key active; the old one stays published until its last token
// expired (the longest token lifetime of the configuration, plus the JWKS cache time).
func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request) {
	if s.opts.TokenKeys == nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeNotImplemented, Message: "access tokens are not configured"})
		return
	}
	retain := RetainKeys(s.rt.Load().Project)
	if err := s.opts.TokenKeys.Rotate(time.Now(), retain); err != nil {
		s.writeError(w, r, &engine.Error{Code: engine.CodeUnavailable, Message: "the signing keys could not be rotated", Err: err})
		return
	}
	set := s.opts.TokenKeys.JWKS(time.Now())
	s.audit(r, "keys.rotate", set.Keys[0].KeyID, map[string]any{"retainSeconds": int(retain / time.Second)})
	writeJSON(w, http.StatusOK, map[string]any{"status": "rotated", "kid": set.Keys[0].KeyID, "published": len(set.Keys)})
}

// RetainKeys is how long a rotated-out key must stay published for a project: the longest token
// lifetime of its tests plus the JWKS cache time and clock leeway.
func RetainKeys(p *project.Project) time.Duration {
	longest := engine.DefaultTokenLifetime
	for _, t := range p.Tests {
		longest = max(longest, engine.Lifetime(t))
	}
	return longest + jwksMaxAge + 5*time.Second
}

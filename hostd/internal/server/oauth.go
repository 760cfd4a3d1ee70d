package server

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/realmgate/realmgate/engine"
)

// codeInvalidRequest is OAuth's code for a request the endpoint cannot read.
const codeInvalidRequest = "invalid_request"

func (s *Server) oauthRoutes(handle func(pattern, route string, h http.HandlerFunc)) {
	handle("GET /oauth/jwks", "jwks", s.jwks)
	handle("POST /oauth/token", "token", s.token)
	handle("POST /oauth/validation", "validation", s.validation)
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	rt, release := s.acquire()
	defer release()
	if rt == nil {
		s.writeError(w, r, notLoaded())
		return
	}
	set, err := rt.Engine.TokenKeySet()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(engine.JWKSMaxAge/time.Second)))
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(set)
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
			return nil, &apiError{Code: codeInvalidRequest, Message: "the form body does not parse"}
		}
		return r.PostForm, nil
	}
	body, err := s.readBody(r)
	if err != nil {
		return nil, &apiError{Code: codeInvalidRequest, Message: "send a form (application/x-www-form-urlencoded) or a JSON object"}
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, &apiError{Code: codeInvalidRequest, Message: "the body must be a JSON object"}
	}
	v := url.Values{}
	for k, x := range m {
		str, ok := x.(string)
		if !ok {
			return nil, &apiError{Code: codeInvalidRequest, Message: k + " must be a string"}
		}
		v.Set(k, str)
	}
	return v, nil
}

// token is POST /oauth/token: the engine grants a token for the scope (or challenges).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	rt, release, ac, _, ok := s.begin(w, r)
	defer release()
	if !ok {
		return
	}
	params, err := s.formOrJSON(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	acc, tok, err := rt.Engine.GrantToken(r.Context(), engine.TokenGrant{
		App:       ac,
		SessionID: sessionID(r),
		Passive:   s.passive(r),
		Facts:     map[string]any{"method": r.Method, "path": r.URL.Path},
		Scope:     params.Get("scope"),
		Audience:  params["audience"],
		Resource:  params["resource"],
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookies(w, r, acc.Cookies)
	if acc.Challenge != nil {
		writeChallenge(w, acc.Challenge)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"scope": tok.Scope, "token_type": "Bearer", "access_token": tok.AccessToken, "expires_in": tok.ExpiresIn,
	})
}

// validation is RFC 7662-style introspection: a token the engine does not find active is
// {"active": false}; why is logged, not answered.
func (s *Server) validation(w http.ResponseWriter, r *http.Request) {
	rt, release := s.acquire()
	defer release()
	if rt == nil {
		s.writeError(w, r, notLoaded())
		return
	}
	params, err := s.formOrJSON(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token := params.Get("token")
	if token == "" {
		s.writeError(w, r, &apiError{Code: codeInvalidRequest, Message: "send token=..."})
		return
	}
	in, err := rt.Engine.IntrospectToken(r.Context(), engine.TokenQuery{
		Token: token, Scope: params.Get("scope"), Audience: params["audience"], Resource: params["resource"],
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !in.Active {
		s.log.Info("token validation failed", "reason", in.Reason.Error())
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	c := in.Claims
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

// rotateKeys makes a new signing key active; the engine keeps the old one published until its
// last token expired.
func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request, rt *Runtime) {
	rot, err := rt.Engine.RotateTokenKeys(r.Context(), actorOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "rotated", "kid": rot.KeyID, "published": rot.Published})
}

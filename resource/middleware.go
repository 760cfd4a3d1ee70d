package resource

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

type contextKey struct{}

// NewContext returns ctx carrying c, as Require hands it to the handler (for tests of handlers).
func NewContext(ctx context.Context, c *Client) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// ClientFromContext returns the client that Require validated for this request, nil outside
// Require.
func ClientFromContext(ctx context.Context) *Client {
	c, _ := ctx.Value(contextKey{}).(*Client)
	return c
}

// Require returns middleware that lets a request through to next only with a valid access token
// of scope in "Authorization: Bearer <token>", and hands next the token's client
// (ClientFromContext). The request body is never read. Refusals (RFC 6750 section 3):
//
//   - no credentials, or another scheme than Bearer: 401, WWW-Authenticate: Bearer scope="s";
//   - a malformed Authorization header (several, an empty or ill-formed token): 400 with
//     error="invalid_request";
//   - an invalid, expired or not yet valid token: 401 with error="invalid_token";
//   - a token without the scope: 403 with error="insufficient_scope";
//   - keys not loaded (issuer unreachable): 503 with Retry-After.
//
// Each has a JSON body {"error", "message"} and Cache-Control: no-store.
func (v *Validator) Require(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := bearerToken(r.Header.Values("Authorization"), v.maxTokenBytes)
			if err == nil {
				var c *Client
				if c, err = v.Validate(r.Context(), tok, scope); err == nil {
					next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
					return
				}
			}
			v.refuse(w, scope, err)
		})
	}
}

// Errors of the Authorization header, before any token is checked.
var (
	errNoToken       = errors.New("no bearer token")
	errMultipleAuth  = errors.New("more than one Authorization header")
	errEmptyToken    = errors.New("bearer token is empty")
	errLongToken     = errors.New("bearer token is too long")
	errMalformedAuth = errors.New("malformed Authorization header")
)

// bearerToken reads the token of "Authorization: Bearer <token>" (RFC 6750 2.1). No header, an
// empty one or another scheme is errNoToken: the client did not try a token.
func bearerToken(values []string, maxLen int) (string, error) {
	switch len(values) {
	case 0:
		return "", errNoToken
	case 1:
	default:
		return "", errMultipleAuth
	}
	v := strings.Trim(values[0], " \t")
	if v == "" {
		return "", errNoToken
	}
	scheme, rest, _ := strings.Cut(v, " ")
	if !isToken(scheme) {
		return "", errMalformedAuth
	}
	if !strings.EqualFold(scheme, "Bearer") {
		return "", errNoToken
	}
	tok := strings.TrimLeft(rest, " ")
	switch {
	case tok == "":
		return "", errEmptyToken
	case len(tok) > maxLen:
		return "", errLongToken
	case !isB64Token(tok):
		return "", errMalformedAuth
	}
	return tok, nil
}

// isToken reports whether s is an RFC 9110 token (an auth scheme).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// isB64Token reports whether s is an RFC 6750 b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	end := len(s)
	for end > 0 && s[end-1] == '=' {
		end--
	}
	if end == 0 {
		return false
	}
	for i := 0; i < end; i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// refusal is how Require answers one failure.
type refusal struct {
	status  int
	code    string // RFC 6750 error code for WWW-Authenticate; empty for none
	body    string // error code of the JSON body
	message string // error_description and the body's message
}

// refusalFor maps a failure to its answer; the descriptions are fixed texts, so nothing of the
// request is echoed back.
func refusalFor(err error) refusal {
	switch {
	case errors.Is(err, errNoToken):
		return refusal{http.StatusUnauthorized, "", "missing_token", "This resource needs an access token: send it as Authorization: Bearer <token>"}
	case errors.Is(err, errMultipleAuth):
		return refusal{http.StatusBadRequest, "invalid_request", "invalid_request", "The request has more than one Authorization header"}
	case errors.Is(err, errEmptyToken):
		return refusal{http.StatusBadRequest, "invalid_request", "invalid_request", "The Bearer token is empty"}
	case errors.Is(err, errLongToken):
		return refusal{http.StatusBadRequest, "invalid_request", "invalid_request", "The Bearer token is too long"}
	case errors.Is(err, errMalformedAuth):
		return refusal{http.StatusBadRequest, "invalid_request", "invalid_request", "The Authorization header is malformed"}
	case errors.Is(err, ErrInvalidToken):
		return refusal{http.StatusUnauthorized, "invalid_token", "invalid_token", "The access token is invalid"}
	case errors.Is(err, ErrExpired):
		return refusal{http.StatusUnauthorized, "invalid_token", "invalid_token", "The access token expired"}
	case errors.Is(err, ErrNotYetValid):
		return refusal{http.StatusUnauthorized, "invalid_token", "invalid_token", "The access token is not valid yet"}
	case errors.Is(err, ErrInsufficientScope):
		return refusal{http.StatusForbidden, "insufficient_scope", "insufficient_scope", "The access token does not grant the scope this resource requires"}
	default:
		return refusal{http.StatusServiceUnavailable, "", "keys_unavailable", "Access tokens cannot be checked now: try again later"}
	}
}

func (v *Validator) refuse(w http.ResponseWriter, scope string, err error) {
	rf := refusalFor(err)
	h := w.Header()
	if rf.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", strconv.Itoa(int((v.minRefresh+999e6)/1e9)))
	} else {
		desc := rf.message
		if rf.code == "" || rf.code == "insufficient_scope" {
			desc = ""
		}
		h.Set("WWW-Authenticate", WWWAuthenticate(scope, rf.code, desc))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(rf.status)
	body, _ := json.Marshal(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{rf.body, rf.message})
	w.Write(append(body, '\n'))
}

// WWWAuthenticate formats a Bearer challenge (RFC 6750 section 3): Bearer, then scope, error and
// error_description as quoted strings, each left out when empty. Quotes and backslashes in the
// values are escaped, control characters become "?", so no value can end the string early or
// split the header.
func WWWAuthenticate(scope, code, description string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	for _, p := range [...]struct{ name, value string }{{"scope", scope}, {"error", code}, {"error_description", description}} {
		if p.value == "" {
			continue
		}
		b.WriteString(sep)
		b.WriteString(p.name)
		b.WriteString(`="`)
		for i := 0; i < len(p.value); i++ {
			switch c := p.value[i]; {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c == 0x7f:
				b.WriteByte('?')
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
		sep = ", "
	}
	return b.String()
}

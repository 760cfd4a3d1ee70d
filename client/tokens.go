package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// AccessToken is an OAuth 2.0 access token for an external resource server, obtained from the
// server for one scope (a security test).
type AccessToken struct {
	Scope     string
	Value     string
	ExpiresAt time.Time
}

// expired reports whether the token is expired (or about to: within skew) at now.
func (t *AccessToken) expired(now time.Time) bool {
	return t == nil || !now.Add(tokenSkew).Before(t.ExpiresAt)
}

// tokenSkew renews a token shortly before it expires, so it does not expire in flight.
const tokenSkew = 2 * time.Second

// tokens caches the last token per scope, and which of them was obtained last.
type tokens struct {
	mu     sync.Mutex
	byName map[string]*AccessToken
	last   *AccessToken
}

// get returns the last token of scope; the empty scope names the last token of any scope.
func (t *tokens) get(scope string) *AccessToken {
	t.mu.Lock()
	defer t.mu.Unlock()
	if scope == "" {
		return t.last
	}
	return t.byName[scope]
}

func (t *tokens) put(tok *AccessToken) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byName == nil {
		t.byName = map[string]*AccessToken{}
	}
	t.byName[tok.Scope] = tok
	t.last = tok
}

func (t *tokens) drop(scope string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byName, scope)
	if t.last != nil && t.last.Scope == scope {
		t.last = nil
	}
}

// ObtainAccessToken gets a new access token for scope (a security test name; empty for the
// environment's own test) from POST /oauth/token, answering whatever challenges the scope's
// realms raise first, as any protected request does.
func (c *Client) ObtainAccessToken(ctx context.Context, scope string) (*AccessToken, error) {
	if len(scope) > 256 || strings.ContainsAny(scope, " \t\r\n") {
		return nil, fmt.Errorf("realmgate: invalid scope %q", scope)
	}
	in := map[string]string{}
	if scope != "" {
		in["scope"] = scope
	}
	var out struct {
		Scope       string `json:"scope"`
		TokenType   string `json:"token_type"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	start := time.Now()
	if err := c.callJSON(ctx, http.MethodPost, c.endpoint("oauth", "token"), in, &out); err != nil {
		return nil, err
	}
	if !strings.EqualFold(out.TokenType, "Bearer") || out.AccessToken == "" || out.ExpiresIn <= 0 || out.Scope == "" ||
		(scope != "" && out.Scope != scope) {
		return nil, fmt.Errorf("realmgate: token reply: %w", ErrMalformedResponse)
	}
	tok := &AccessToken{Scope: out.Scope, Value: out.AccessToken, ExpiresAt: start.Add(time.Duration(out.ExpiresIn) * time.Second)}
	c.tokens.put(tok)
	return tok, nil
}

// LastAccessToken returns the last token obtained for scope or, when scope is empty, the last
// token obtained for any scope (as Worklight's getLastAccessToken() without a scope); nil when
// there is none or it has expired. A token a resource server refused (see CallResource) is no
// longer the last one.
func (c *Client) LastAccessToken(scope string) *AccessToken {
	tok := c.tokens.get(scope)
	if tok.expired(time.Now()) {
		return nil
	}
	return tok
}

// RequiredAccessTokenScope reads a resource server's answer: when status is 401 or 403 and
// wwwAuthenticate is a Bearer challenge naming a scope, it returns that scope and true. A 403
// without error="insufficient_scope" (a refusal for another reason) is not a request for a token.
func RequiredAccessTokenScope(status int, wwwAuthenticate string) (string, bool) {
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		return "", false
	}
	params, ok := parseBearerChallenge(wwwAuthenticate)
	if !ok {
		return "", false
	}
	scope := params["scope"]
	if scope == "" || strings.ContainsAny(scope, " \t") {
		return "", false
	}
	if status == http.StatusForbidden && params["error"] != "insufficient_scope" {
		return "", false
	}
	return scope, true
}

// parseBearerChallenge parses `Bearer k="v", k2=v2` (RFC 6750 section 3). It is strict and
// bounded: anything else is not a Bearer challenge.
func parseBearerChallenge(h string) (map[string]string, bool) {
	if len(h) > 4096 {
		return nil, false
	}
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	params := map[string]string{}
	s := strings.TrimSpace(rest)
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, false
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimSpace(s[eq+1:])
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			val, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		params[key] = val
		s = strings.TrimSpace(s)
		if s != "" {
			if s[0] != ',' {
				return nil, false
			}
			s = strings.TrimSpace(s[1:])
		}
	}
	return params, true
}

// CallResource sends a request to an external resource server with the access token it needs.
// It sends the last token of scopeHint (if any and not expired; an empty hint sends no token,
// never the last token of another scope: a token goes only to a server that asked for its
// scope); when the server answers 401 or 403 with a Bearer challenge naming a scope, it obtains a
// token for that scope (answering the scope's challenges) and retries once. The request body must be replayable (GetBody, or nil).
// The resource server gets no cookies or application headers: only the bearer token.
func (c *Client) CallResource(ctx context.Context, req *http.Request, scopeHint string) (*http.Response, error) {
	getBody, err := replayable(req)
	if err != nil {
		return nil, err
	}
	send := func(tok *AccessToken) (*http.Response, error) {
		r := req.Clone(ctx)
		if getBody != nil {
			body, err := getBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		r.Header.Del("Authorization")
		if tok != nil {
			r.Header.Set("Authorization", "Bearer "+tok.Value)
		}
		return c.resourceClient().Do(r)
	}
	var hinted *AccessToken
	if scopeHint != "" {
		hinted = c.LastAccessToken(scopeHint)
	}
	resp, err := send(hinted)
	if err != nil {
		return nil, err
	}
	scope, ok := RequiredAccessTokenScope(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	if !ok {
		return resp, nil
	}
	drainClose(resp)
	c.tokens.drop(scope)
	tok, err := c.ObtainAccessToken(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("realmgate: obtaining a token for scope %q: %w", scope, err)
	}
	return send(tok)
}

// resourceClient is a plain HTTP client on the configured transport, without the cookie jar.
func (c *Client) resourceClient() *http.Client {
	return &http.Client{Transport: c.hc.Transport, Timeout: c.hc.Timeout}
}

func drainClose(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_, _ = readBody(resp)
	}
}

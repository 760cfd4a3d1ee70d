package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Identity is an identity object as the server reports it: {"userId", "displayName",
// "attributes"} for a user, {"id", "os", "model", "displayName"} for a device, or whatever a
// realm's login module records.
type Identity map[string]any

// InitResult is the reply to Init.
type InitResult struct {
	App          string   `json:"app"`
	Env          string   `json:"env"`
	SecurityTest string   `json:"securityTest"`
	User         Identity `json:"user"`   // nil when the test established no user
	Device       Identity `json:"device"` // nil when the test established no device
}

// SessionInfo is the server's view of the session (GET /api/v1/session).
type SessionInfo struct {
	App    string                `json:"app"`
	Env    string                `json:"env"`
	Realms map[string]RealmState `json:"realms"`
	User   Identity              `json:"user"`
	Device Identity              `json:"device"`
}

// RealmState is what the session holds for one realm it passed.
type RealmState struct {
	Identity Identity `json:"identity"`
}

// Init connects the application: POST /api/v1/apps/{app}/{env}/init, settling the security test
// of the application's environment.
func (c *Client) Init(ctx context.Context) (*InitResult, error) {
	var out InitResult
	if err := c.callJSON(ctx, http.MethodPost, c.endpoint("api", "v1", "apps", c.app, c.env, "init"), struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// InvokeProcedure calls an adapter procedure with params as its positional parameters and
// returns the procedure's result. A procedure that reports failure ({"isSuccessful": false})
// gives an *Error whose Message joins the procedure's errors.
func (c *Client) InvokeProcedure(ctx context.Context, adapter, procedure string, params ...any) (json.RawMessage, error) {
	for _, s := range []string{adapter, procedure} {
		if s == "" || s == "." || s == ".." {
			return nil, fmt.Errorf("realmgate: invalid adapter or procedure name %q", s)
		}
	}
	if params == nil {
		params = []any{}
	}
	in := map[string]any{"parameters": params}
	u := c.endpoint("api", "v1", "adapters", adapter, procedure)
	resp, b, err := c.roundTrip(ctx, http.MethodPost, u, in)
	if err != nil {
		return nil, err
	}
	var out struct {
		IsSuccessful *bool           `json:"isSuccessful"`
		Result       json.RawMessage `json:"result"`
		Errors       []string        `json:"errors"`
		Error        string          `json:"error"`
	}
	jsonErr := json.Unmarshal(b, &out)
	if jsonErr == nil && out.IsSuccessful != nil && !*out.IsSuccessful {
		e := &Error{Status: resp.StatusCode, Code: cleanCode(out.Error), Message: sanitize(strings.Join(out.Errors, "; "), maxMessageLen)}
		if e.Code == "" {
			e.Code = CodeProcedureFailed
		}
		return nil, e
	}
	if resp.StatusCode != http.StatusOK {
		return nil, parseError(resp.StatusCode, b, "")
	}
	if jsonErr != nil || out.IsSuccessful == nil {
		return nil, fmt.Errorf("realmgate: %s.%s reply: %w", adapter, procedure, ErrMalformedResponse)
	}
	if len(out.Result) == 0 {
		return json.RawMessage("null"), nil
	}
	return out.Result, nil
}

// Logout forgets realm's result in this session (POST /api/v1/logout/{realm}); the next request
// the realm protects challenges it again.
func (c *Client) Logout(ctx context.Context, realm string) error {
	if err := checkRealmName(realm); err != nil {
		return fmt.Errorf("realmgate: %w", err)
	}
	var out struct {
		Status string `json:"status"`
	}
	if err := c.callJSON(ctx, http.MethodPost, c.endpoint("api", "v1", "logout", realm), struct{}{}, &out); err != nil {
		return err
	}
	if out.Status != "logged_out" {
		return fmt.Errorf("realmgate: logout of %s: %w: status %q", realm, ErrMalformedResponse, sanitize(out.Status, maxCodeLen))
	}
	c.mu.Lock()
	delete(c.identities, realm)
	c.mu.Unlock()
	return nil
}

// Session asks the server for the session's realms and identities (GET /api/v1/session) and
// takes them as the client's view of Identities.
func (c *Client) Session(ctx context.Context) (*SessionInfo, error) {
	var out SessionInfo
	if err := c.callJSON(ctx, http.MethodGet, c.endpoint("api", "v1", "session"), nil, &out); err != nil {
		return nil, err
	}
	ids := make(map[string]json.RawMessage, len(out.Realms))
	for realm, st := range out.Realms {
		if st.Identity == nil {
			ids[realm] = nil
			continue
		}
		b, err := json.Marshal(st.Identity)
		if err != nil {
			return nil, fmt.Errorf("realmgate: session identity of %s: %w", realm, err)
		}
		ids[realm] = b
	}
	c.mu.Lock()
	c.identities = ids
	c.mu.Unlock()
	return &out, nil
}

// Identities returns the identity each realm reported when this client settled it (nil for a
// realm that reported none), as last refreshed by Session. The map is the caller's to keep.
func (c *Client) Identities() map[string]Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Identity, len(c.identities))
	for realm, raw := range c.identities {
		var id Identity
		if raw != nil {
			// The bytes were checked to be a JSON object when stored.
			_ = json.Unmarshal(raw, &id)
		}
		out[realm] = id
	}
	return out
}

// Get fetches a resource by its path under BaseURL (a static resource, say), settling its
// security test like Do. The caller closes the response body.
func (c *Client) Get(ctx context.Context, path string) (*http.Response, error) {
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// callJSON sends in (nil: no body) and decodes a 200 reply into out; other replies are *Error.
func (c *Client) callJSON(ctx context.Context, method, u string, in, out any) error {
	resp, b, err := c.roundTrip(ctx, method, u, in)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return parseError(resp.StatusCode, b, "")
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("realmgate: %s %s reply: %w: %w", method, resp.Request.URL.Path, ErrMalformedResponse, err)
	}
	return nil
}

// roundTrip sends a JSON request through Do and reads the reply, bounded by MaxResponseBytes.
func (c *Client) roundTrip(ctx context.Context, method, u string, in any) (*http.Response, []byte, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, nil, fmt.Errorf("realmgate: encoding request: %w", err)
		}
	}
	var req *http.Request
	var err error
	if body != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := readBody(resp)
	if err != nil {
		return nil, nil, err
	}
	return resp, b, nil
}

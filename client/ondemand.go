package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// Login logs the session in to realm without a protected request
// (POST /api/v1/login/{realm}), as a Worklight app did with WL.Client.login(realm): the server
// answers with the realm's challenge, which the client settles with the handler registered for
// the realm (and the anti-XSRF token a new session gets), then asks again and returns the
// identity the realm logged in. A session already logged in to realm gets its identity at
// once. A realm that cannot be logged in to this way is an *Error with code
// "login_not_allowed" (403); an unknown one "unknown_realm" (404).
func (c *Client) Login(ctx context.Context, realm string) (Identity, error) {
	if err := checkRealmName(realm); err != nil {
		return nil, fmt.Errorf("realmgate: %w", err)
	}
	var out struct {
		Realm    string   `json:"realm"`
		Status   string   `json:"status"`
		Identity Identity `json:"identity"`
	}
	if err := c.callJSON(ctx, http.MethodPost, c.endpoint("api", "v1", "login", realm), struct{}{}, &out); err != nil {
		return nil, err
	}
	if out.Status != "success" || out.Realm != realm {
		return nil, fmt.Errorf("realmgate: login to %s: %w: status %q", realm, ErrMalformedResponse, sanitize(out.Status, maxCodeLen))
	}
	if out.Identity != nil {
		if b, err := json.Marshal(out.Identity); err == nil {
			c.mu.Lock()
			if c.identities == nil {
				c.identities = map[string]json.RawMessage{}
			}
			c.identities[realm] = b
			c.mu.Unlock()
		}
	}
	return out.Identity, nil
}

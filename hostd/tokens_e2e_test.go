package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

func postForm(t *testing.T, d *daemon.Daemon, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(baseURL(d)+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func jwks(t *testing.T, d *daemon.Daemon) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(baseURL(d) + "/oauth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// verify checks a token against the published JWKS as a resource server would, and returns its
// header and claims.
func verify(t *testing.T, d *daemon.Daemon, token string) (jose.Header, map[string]any) {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	set := jwks(t, d)
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not published", tok.Headers[0].KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature: %v", err)
	}
	return tok.Headers[0], claims
}

func TestAccessTokens(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	ctx := context.Background()
	c := newClient(t, d, "android", "2.1.0")

	// The scope's realms are challenged first; the client answers them and gets the token.
	tok, err := c.ObtainAccessToken(ctx, "mobileTests")
	if err != nil {
		t.Fatal(err)
	}
	if c.LastAccessToken("mobileTests") != tok {
		t.Error("LastAccessToken does not return the token just obtained")
	}
	hdr, claims := verify(t, d, tok.Value)
	if hdr.Algorithm != "ES256" || hdr.ExtraHeaders["typ"] != "at+jwt" {
		t.Errorf("header %+v", hdr)
	}
	if claims["iss"] != d.Issuer() || claims["scope"] != "mobileTests" || claims["client_id"] != app || claims["sub"] != "alice" {
		t.Errorf("claims %v", claims)
	}
	if diff := cmp.Diff(map[string]any{"user_id": "alice", "device_id": "device-android", "application_id": app}, claims["data"]); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 60 {
		t.Errorf("lifetime %v s, want the default 60", exp-iat)
	}

	// A web test has no device realm: no device_id.
	w := newClient(t, d, "mobilewebapp", "2.1.0")
	wtok, err := w.ObtainAccessToken(ctx, "") // the environment's own test
	if err != nil {
		t.Fatal(err)
	}
	_, wclaims := verify(t, d, wtok.Value)
	if wtok.Scope != "webTests" || wclaims["data"].(map[string]any)["device_id"] != nil {
		t.Errorf("web token: scope %s data %v", wtok.Scope, wclaims["data"])
	}

	// Online validation: active with the claims; another scope, garbage, tampering are inactive.
	status, body := postForm(t, d, "/oauth/validation", url.Values{"token": {tok.Value}, "scope": {"mobileTests"}})
	if status != 200 || body["active"] != true || body["sub"] != "alice" || body["client_id"] != app {
		t.Errorf("validation: %d %v", status, body)
	}
	tampered := tok.Value[:len(tok.Value)-4] + "AAAA"
	for name, form := range map[string]url.Values{
		"other scope": {"token": {tok.Value}, "scope": {"webTests"}},
		"garbage":     {"token": {"not.a.token"}},
		"tampered":    {"token": {tampered}},
	} {
		status, body := postForm(t, d, "/oauth/validation", form)
		if status != 200 || fmt.Sprint(body) != "map[active:false]" {
			t.Errorf("%s: %d %v, want exactly {\"active\": false}", name, status, body)
		}
	}

	// Bad requests to the token endpoint.
	r := newRaw(t, d, "android", "2.1.0")
	if status, body, _ := r.do("POST", "/oauth/token", `{"scope":"noSuchTest"}`); status != 400 || body["error"] != "invalid_scope" {
		t.Errorf("unknown scope: %d %v", status, body)
	}
	if status, body, _ := r.do("POST", "/oauth/token", `{"scope":["mobileTests"]}`); status != 400 || body["error"] != "invalid_request" {
		t.Errorf("scope not a string: %d %v", status, body)
	}
	if status, body, _ := r.do("POST", "/oauth/token", `{"scope":"mobileTests"}`); status != 401 || body["challenges"] == nil {
		t.Errorf("token without the realms: %d %v, want the challenge", status, body)
	}
}

func TestKeyRotationKeepsOldTokensValid(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	ctx := context.Background()
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	before, err := c.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	oldHdr, _ := verify(t, d, before.Value)
	for i := 0; i < 2; i++ {
		if status, body := admin(t, d, "POST", "/admin/v1/keys/rotate", "", adminToken); status != 200 {
			t.Fatalf("rotate: %d %v", status, body)
		}
	}
	if n := len(jwks(t, d).Keys); n != 4 {
		t.Errorf("%d keys published after two rotations, want 4 (active, next, two retiring)", n)
	}
	// The token signed before the rotations still validates, online and offline.
	verify(t, d, before.Value)
	if _, body := postForm(t, d, "/oauth/validation", url.Values{"token": {before.Value}}); body["active"] != true {
		t.Errorf("old token after rotation: %v", body)
	}
	after, err := c.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	newHdr, _ := verify(t, d, after.Value)
	if newHdr.KeyID == oldHdr.KeyID {
		t.Error("tokens after rotation are signed with the old key")
	}
}

func TestCallResourceRetriesWithTokenOfTheRequiredScope(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	// A resource server that wants a webTests token, validating online.
	var calls []string
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		calls = append(calls, auth)
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer scope="webTests"`)
			w.WriteHeader(401)
			return
		}
		resp, err := http.PostForm(baseURL(d)+"/oauth/validation", url.Values{"token": {token}, "scope": {"webTests"}})
		if err != nil {
			w.WriteHeader(500)
			return
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if v["active"] != true {
			w.Header().Set("WWW-Authenticate", `Bearer scope="webTests", error="invalid_token"`)
			w.WriteHeader(401)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"hello": v["sub"]})
	}))
	defer rs.Close()
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	req, _ := http.NewRequest("GET", rs.URL+"/statements", nil)
	resp, err := c.CallResource(context.Background(), req, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]any
	json.NewDecoder(resp.Body).Decode(&got)
	if resp.StatusCode != 200 || got["hello"] != "alice" {
		t.Errorf("resource: %d %v", resp.StatusCode, got)
	}
	if len(calls) != 2 || calls[0] != "" || !strings.HasPrefix(calls[1], "Bearer ") {
		t.Errorf("resource calls %q: want one without a token, then one with", calls)
	}
	// The next call reuses the token.
	req, _ = http.NewRequest("GET", rs.URL+"/statements", nil)
	resp, err = c.CallResource(context.Background(), req, "webTests")
	if err != nil || resp.StatusCode != 200 || len(calls) != 3 {
		t.Errorf("second call: %v %v, %d calls", err, resp, len(calls))
	}
	resp.Body.Close()
}

func TestRequiredAccessTokenScope(t *testing.T) {
	tests := []struct {
		status int
		header string
		want   string
		ok     bool
	}{
		{401, `Bearer scope="mobileTests"`, "mobileTests", true},
		{401, `Bearer realm="x", scope="webTests", error="invalid_token"`, "webTests", true},
		{403, `Bearer scope="webTests", error="insufficient_scope"`, "webTests", true},
		{403, `Bearer scope="webTests", error="invalid_token"`, "", false},
		{401, `Basic realm="x"`, "", false},
		{200, `Bearer scope="webTests"`, "", false},
		{401, `Bearer scope="a b"`, "", false},
		{401, `Bearer scope="unterminated`, "", false},
		{401, ``, "", false},
	}
	for _, tc := range tests {
		got, ok := client.RequiredAccessTokenScope(tc.status, tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("RequiredAccessTokenScope(%d, %q) = %q, %v; want %q, %v", tc.status, tc.header, got, ok, tc.want, tc.ok)
		}
	}
}

// TestValidationAcrossRotationsUnderLoad validates tokens in a loop, from several goroutines,
// while the signing key is rotated twice: not one validation may fail.
func TestValidationAcrossRotationsUnderLoad(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	c := newClient(t, d, "mobilewebapp", "2.1.0")
	ctx := context.Background()
	tok, err := c.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	type result struct{ ok, failed int }
	results := make(chan result)
	for g := 0; g < 4; g++ {
		go func() {
			var r result
			current := tok.Value
			for i := 0; ; i++ {
				select {
				case <-stop:
					results <- r
					return
				default:
				}
				if i%10 == 9 { // now and then a token signed by whatever key is active now
					if nt, err := c.ObtainAccessToken(ctx, "webTests"); err == nil {
						current = nt.Value
					}
				}
				resp, err := http.PostForm(baseURL(d)+"/oauth/validation", url.Values{"token": {current}, "scope": {"webTests"}})
				if err != nil {
					r.failed++
					continue
				}
				var v map[string]any
				json.NewDecoder(resp.Body).Decode(&v)
				resp.Body.Close()
				if v["active"] == true {
					r.ok++
				} else {
					r.failed++
				}
			}
		}()
	}
	for i := 0; i < 2; i++ {
		time.Sleep(300 * time.Millisecond)
		if status, body := admin(t, d, "POST", "/admin/v1/keys/rotate", "", adminToken); status != 200 {
			t.Fatalf("rotate: %d %v", status, body)
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	var total result
	for g := 0; g < 4; g++ {
		r := <-results
		total.ok += r.ok
		total.failed += r.failed
	}
	if total.failed != 0 || total.ok < 20 {
		t.Errorf("validations across two rotations: %d ok, %d failed; want no failure", total.ok, total.failed)
	}
	t.Logf("%d validations across two rotations, none failed", total.ok)
}

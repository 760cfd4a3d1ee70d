package resourcetest_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/resource/resourcetest"
)

// shape is what must be alike in a token of the daemon and one of the Issuer: the header's
// members, the claims' names and JSON kinds, the lifetime, and the JWKS's members and caching.
type shape struct {
	Header       map[string]string
	Claims, Data map[string]string // name -> JSON kind
	Lifetime     float64
	KeyMembers   []string
	CacheControl string
	KidIsThumb   bool
}

func kind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case bool:
		return "bool"
	}
	return "null"
}

func segment(t *testing.T, tok string, i int, v any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a compact JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func shapeOf(t *testing.T, tok, jwksURL string) shape {
	t.Helper()
	var header, claims map[string]any
	segment(t, tok, 0, &header)
	segment(t, tok, 1, &claims)
	s := shape{Header: map[string]string{}, Claims: map[string]string{}, Data: map[string]string{}}
	for k, v := range header {
		s.Header[k] = kind(v)
		if k != "kid" {
			s.Header[k] = v.(string)
		}
	}
	for k, v := range claims {
		s.Claims[k] = kind(v)
	}
	data, _ := claims["data"].(map[string]any)
	for k, v := range data {
		s.Data[k] = kind(v)
	}
	exp, _ := claims["exp"].(float64)
	iat, _ := claims["iat"].(float64)
	s.Lifetime = exp - iat

	resp, err := http.Get(jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s.CacheControl = resp.Header.Get("Cache-Control")
	var raw struct{ Keys []map[string]any }
	var set jose.JSONWebKeySet
	var body json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &raw); err != nil || len(raw.Keys) == 0 {
		t.Fatalf("JWKS %s: %v", body, err)
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	for k := range raw.Keys[0] {
		s.KeyMembers = append(s.KeyMembers, k)
	}
	sort.Strings(s.KeyMembers)
	for _, k := range set.Keys {
		if k.KeyID != header["kid"] {
			continue
		}
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		s.KidIsThumb = base64.RawURLEncoding.EncodeToString(tp) == k.KeyID
	}
	return s
}

// TestMintsAsHostd pins the Issuer to the daemon: a token the daemon mints (the banking
// example's mobile test, with a user and a device) and one the Issuer mints for the same facts
// have the same header, the same claims of the same kinds, the same lifetime, and come with key
// sets of the same members, kids and caching. The Issuer exists for what the daemon never does
// (spoiled tokens, key rotation and outages on command); this keeps it from drifting from what
// the daemon does.
func TestMintsAsHostd(t *testing.T) {
	d := hostdtest.Start(t, "../../examples/banking", hostdtest.Options{})
	c, err := client.New(client.Config{BaseURL: d.URL, AppID: "BankApp", Environment: "android", AppVersion: "2.1.0",
		Device: &client.DeviceInfo{ID: "d-1", OS: "android"}})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	tok, err := c.ObtainAccessToken(context.Background(), "mobileTests")
	if err != nil {
		t.Fatal(err)
	}
	hostd := shapeOf(t, tok.Value, d.JWKSURL)

	is := resourcetest.NewIssuer(t, resourcetest.ES256)
	minted := shapeOf(t, is.Mint(resourcetest.Claims{Scope: "mobileTests", ApplicationID: "BankApp", UserID: "alice", DeviceID: "d-1", Audience: "BankApp", Session: "lineage-1"}), is.JWKSURL)
	if diff := cmp.Diff(hostd, minted); diff != "" {
		t.Errorf("the Issuer's token and key set differ from the daemon's (-hostd +Issuer):\n%s", diff)
	}
	if !hostd.KidIsThumb || hostd.Lifetime <= 0 || hostd.Header["typ"] != "at+jwt" {
		t.Errorf("the daemon's token: %+v", hostd)
	}
}

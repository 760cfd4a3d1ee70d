package resource_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/internal/nodetest"
	"github.com/realmgate/realmgate/resource"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// The Node.js package (resource/node) is tested with node --test: its own tests, and vectors
// written here, so that it agrees with this package on every verdict and every HTTP answer.

// vectorFile is what tests/vectors.test.js reads.
type vectorFile struct {
	Issuer string `json:"issuer"`
	// Audience is the validator's required audience ("" for none).
	Audience string          `json:"audience"`
	JWKSURL  string          `json:"jwksUrl"`
	JWKS     json.RawMessage `json:"jwks"`
	Cases    []vector        `json:"cases"`
}

type vector struct {
	Name          string      `json:"name"`
	Token         *string     `json:"token,omitempty"`
	Scope         string      `json:"scope"`
	Want          string      `json:"want,omitempty"`   // the Node error code, or "ok"
	Client        *jsClient   `json:"client,omitempty"` // when Want is "ok"
	Authorization []string    `json:"authorization"`
	HTTP          vectorReply `json:"http"`
}

// jsClient is the Node package's client object, dates in ISO 8601 as Date.toISOString spells
// them ("" for none).
type jsClient struct {
	ApplicationID string `json:"applicationId"`
	UserID        string `json:"userId"`
	DeviceID      string `json:"deviceId"`
	Scope         string `json:"scope"`
	Subject       string `json:"subject"`
	Audience      string `json:"audience"`
	TokenID       string `json:"tokenId"`
	IssuedAt      string `json:"issuedAt"`
	ExpiresAt     string `json:"expiresAt"`
}

// vectorReply is Require's answer; WWWAuthenticate is base64 of the header's bytes.
type vectorReply struct {
	Status          int    `json:"status"`
	WWWAuthenticate string `json:"wwwAuthenticate"`
	Error           string `json:"error"`
	Message         string `json:"message"`
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// nodeCode is the Node package's error code for err.
func nodeCode(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, resource.ErrInvalidToken):
		return "invalid_token"
	case errors.Is(err, resource.ErrExpired):
		return "expired"
	case errors.Is(err, resource.ErrNotYetValid):
		return "not_yet_valid"
	case errors.Is(err, resource.ErrInsufficientScope):
		return "insufficient_scope"
	}
	return "keys_unavailable"
}

// vectorsFor validates each token with v (its verdict, its client) and sends it through Require
// (the HTTP answer), plus Authorization headers that carry no usable token.
func vectorsFor(t *testing.T, v *resource.Validator, tokens []namedToken, headers map[string][]string) []vector {
	t.Helper()
	var out []vector
	add := func(name, scope string, tok *string, auth []string) {
		vc := vector{Name: name, Scope: scope, Authorization: auth}
		if tok != nil {
			vc.Token = tok
			c, err := v.Validate(context.Background(), *tok, scope)
			vc.Want = nodeCode(err)
			if err == nil {
				vc.Client = &jsClient{c.ApplicationID, c.UserID, c.DeviceID, c.Scope, c.Subject, c.Audience, c.TokenID, isoTime(c.IssuedAt), isoTime(c.ExpiresAt)}
			}
		}
		r := httptest.NewRequest("GET", "/", nil)
		if len(auth) > 0 {
			r.Header["Authorization"] = auth
		}
		w := httptest.NewRecorder()
		v.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })).ServeHTTP(w, r)
		var body struct{ Error, Message string }
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: body %q", name, w.Body)
		}
		vc.HTTP = vectorReply{w.Code, base64.StdEncoding.EncodeToString([]byte(w.Header().Get("WWW-Authenticate"))), body.Error, body.Message}
		out = append(out, vc)
	}
	for _, nt := range tokens {
		tok := nt.token
		add(nt.name, nt.scope, &tok, []string{"Bearer " + tok})
	}
	for name, auth := range headers {
		add(name, "mobileTests", nil, auth)
	}
	add("scope needing escapes", "a\"b\\c\nd é", nil, nil)
	return out
}

type namedToken struct{ name, token, scope, want string }

// headerVectors are Authorization headers without a usable token.
var headerVectors = map[string][]string{
	"no Authorization":    nil,
	"empty Authorization": {""},
	"another scheme":      {"Basic YWxpY2U6cHc="},
	"Bearer alone":        {"Bearer"},
	"two tokens":          {"Bearer a.b.c d.e.f"},
	"a quote":             {`Bearer "a.b.c"`},
	"scheme not a token":  {"Bea:rer a.b.c"},
	"only padding":        {"Bearer ==="},
	"two headers":         {"Bearer a.b.c", "Bearer a.b.c"},
	"too long":            {"Bearer " + strings.Repeat("A", 9000)},
	"b64token but no JWS": {"Bearer abc+/=="},
}

func writeVectors(t *testing.T, vf vectorFile) string {
	t.Helper()
	b, err := json.MarshalIndent(vf, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "vectors.json")
	writeFile(t, name, b)
	return name
}

var nodeSummary = regexp.MustCompile(`(?m)^# (pass|fail|skipped) (\d+)$`)

// runNode runs node --test in resource/node with the vector files, and fails unless every test
// passed and none was skipped.
func runNode(t *testing.T, node string, vectors []string, files ...string) {
	t.Helper()
	cmd := exec.Command(node, append([]string{"--test", "--test-reporter=tap"}, files...)...)
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), "REALMGATE_RESOURCE_VECTORS="+strings.Join(vectors, string(os.PathListSeparator)))
	out, err := cmd.CombinedOutput()
	counts := map[string]string{}
	for _, m := range nodeSummary.FindAllStringSubmatch(string(out), -1) {
		counts[m[1]] = m[2]
	}
	if err != nil || counts["fail"] != "0" || counts["skipped"] != "0" || counts["pass"] == "" || counts["pass"] == "0" {
		t.Fatalf("node --test %s: %v %v\n%s", strings.Join(files, " "), err, counts, out)
	}
	t.Logf("node --test %s: %s passed", strings.Join(files, " "), counts["pass"])
}

// TestNode runs the Node package's own tests and the vectors of this package's test issuer.
func TestNode(t *testing.T) {
	node := nodetest.Toolchain(t, "node")
	var files []string
	for _, alg := range []string{rt.ES256, rt.EdDSA} {
		is := rt.NewIssuer(t, alg)
		v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL})
		// Tokens within seconds of the leeway would change verdict by the time node runs.
		var cases []tokenCase
		for _, tc := range tokenCases {
			if !tc.edge {
				cases = append(cases, tc)
			}
		}
		var toks []namedToken
		for _, tc := range cases {
			tok, _ := tc.mint(is)
			toks = append(toks, namedToken{tc.name, tok, tc.requiredScope(), tc.want})
		}
		vs := vectorsFor(t, v, toks, headerVectors)
		// The verdicts written are the ones the Go tests expect.
		for i, tc := range cases {
			if want := map[string]string{"invalid": "invalid_token", "not-yet-valid": "not_yet_valid", "insufficient-scope": "insufficient_scope"}[tc.want]; want != "" && vs[i].Want != want ||
				want == "" && vs[i].Want != tc.want {
				t.Fatalf("%s: Go says %s, want %s", tc.name, vs[i].Want, tc.want)
			}
		}
		files = append(files, writeVectors(t, vectorFile{Issuer: is.URL, JWKSURL: is.JWKSURL, JWKS: is.JWKS(), Cases: vs}))
	}
	// A validator that requires an audience.
	is := rt.NewIssuer(t, rt.ES256)
	v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, Audience: "statements"})
	var toks []namedToken
	for _, tc := range []struct {
		name   string
		claims rt.Claims
		breaks []rt.Break
	}{
		{"its audience", rt.Claims{Audience: "statements"}, nil},
		{"its audience among others", rt.Claims{}, []rt.Break{rt.Claim("aud", []string{"payments", "statements"})}},
		{"another audience", rt.Claims{Audience: "payments"}, nil},
		{"no audience", rt.Claims{}, nil},
		{"its audience and another scope", rt.Claims{Audience: "statements", Scope: "webTests"}, nil},
	} {
		toks = append(toks, namedToken{tc.name, is.Mint(tc.claims, tc.breaks...), "mobileTests", ""})
	}
	vs := vectorsFor(t, v, toks, nil)
	files = append(files, writeVectors(t, vectorFile{Issuer: is.URL, Audience: "statements", JWKSURL: is.JWKSURL, JWKS: is.JWKS(), Cases: vs}))
	runNode(t, node, files)
}

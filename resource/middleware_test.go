package resource_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/realmgate/realmgate/resource"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// answer is what a client sees of a response of Require.
type answer struct {
	Status          int
	WWWAuthenticate string
	RetryAfter      string
	Error           string
	Message         string
	Client          *resource.Client
}

// forbidBody fails the test if the middleware or handler reads the request body.
type forbidBody struct{ t *testing.T }

func (b forbidBody) Read([]byte) (int, error) {
	b.t.Error("request body read")
	return 0, nil
}

func serve(t *testing.T, h http.Handler, auth ...string) answer {
	t.Helper()
	r := httptest.NewRequest("GET", "/accounts", forbidBody{t})
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	a := answer{Status: w.Code, WWWAuthenticate: w.Header().Get("WWW-Authenticate"), RetryAfter: w.Header().Get("Retry-After")}
	if w.Code == http.StatusOK {
		a.Client = new(resource.Client)
		if err := json.Unmarshal(w.Body.Bytes(), a.Client); err != nil {
			t.Fatalf("handler reply %q: %v", w.Body, err)
		}
		return a
	}
	var body struct{ Error, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("refusal body %q: %v", w.Body, err)
	}
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("refusal Content-Type %q", got)
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("refusal Cache-Control %q", got)
	}
	a.Error, a.Message = body.Error, body.Message
	return a
}

// echoClient answers the client of the request as JSON.
var echoClient = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(resource.ClientFromContext(r.Context()))
})

func TestRequire(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, MaxTokenBytes: 4096})
	h := v.Require("mobileTests")(echoClient)
	iat := time.Now().Truncate(time.Second)
	good := is.Mint(rt.Claims{UserID: "alice", DeviceID: "d-1", IssuedAt: iat})
	var jti struct{ Jti string }
	mustUnmarshal(t, mustDecodeSegment(t, good, 1), &jti)
	alice := &resource.Client{ApplicationID: "BankApp", UserID: "alice", DeviceID: "d-1", Scope: "mobileTests", Subject: "alice",
		TokenID: jti.Jti, IssuedAt: iat, ExpiresAt: iat.Add(time.Minute)}

	const (
		noToken  = `Bearer scope="mobileTests"`
		invalid  = `Bearer scope="mobileTests", error="invalid_token", error_description="The access token is invalid"`
		badReq   = `Bearer scope="mobileTests", error="invalid_request", error_description="The Authorization header is malformed"`
		msgNoTok = "This resource needs an access token: send it as Authorization: Bearer <token>"
		msgBad   = "The Authorization header is malformed"
	)
	for _, tc := range []struct {
		name string
		auth []string
		want answer
	}{
		{"good", []string{"Bearer " + good}, answer{Status: 200, Client: alice}},
		{"scheme in lower case, spaces around", []string{"bearer   " + good + " "}, answer{Status: 200, Client: alice}},
		{"no Authorization", nil, answer{401, noToken, "", "missing_token", msgNoTok, nil}},
		{"empty Authorization", []string{""}, answer{401, noToken, "", "missing_token", msgNoTok, nil}},
		{"another scheme", []string{"Basic YWxpY2U6cHc="}, answer{401, noToken, "", "missing_token", msgNoTok, nil}},
		{"Bearer alone", []string{"Bearer"}, answer{400, `Bearer scope="mobileTests", error="invalid_request", error_description="The Bearer token is empty"`, "", "invalid_request", "The Bearer token is empty", nil}},
		{"Bearer and spaces", []string{"Bearer    "}, answer{400, `Bearer scope="mobileTests", error="invalid_request", error_description="The Bearer token is empty"`, "", "invalid_request", "The Bearer token is empty", nil}},
		{"two tokens", []string{"Bearer " + good + " " + good}, answer{400, badReq, "", "invalid_request", msgBad, nil}},
		{"a control character", []string{"Bearer " + good + "\x01"}, answer{400, badReq, "", "invalid_request", msgBad, nil}},
		{"a quote", []string{`Bearer "` + good + `"`}, answer{400, badReq, "", "invalid_request", msgBad, nil}},
		{"a tab after the scheme", []string{"Bearer\t" + good}, answer{400, badReq, "", "invalid_request", msgBad, nil}},
		{"a scheme that is no token", []string{"Bea:rer " + good}, answer{400, badReq, "", "invalid_request", msgBad, nil}},
		{"only padding", []string{"Bearer ==="}, answer{400, badReq, "", "invalid_request", msgBad, nil}},
		{"two headers", []string{"Bearer " + good, "Bearer " + good}, answer{400, `Bearer scope="mobileTests", error="invalid_request", error_description="The request has more than one Authorization header"`, "", "invalid_request", "The request has more than one Authorization header", nil}},
		{"too long", []string{"Bearer " + strings.Repeat("A", 4097)}, answer{400, `Bearer scope="mobileTests", error="invalid_request", error_description="The Bearer token is too long"`, "", "invalid_request", "The Bearer token is too long", nil}},
		{"b64token but no JWS", []string{"Bearer abc+/=="}, answer{401, invalid, "", "invalid_token", "The access token is invalid", nil}},
		{"tampered", []string{"Bearer " + is.Mint(rt.Claims{}, rt.TamperedSignature)}, answer{401, invalid, "", "invalid_token", "The access token is invalid", nil}},
		{"alg none", []string{"Bearer " + is.Mint(rt.Claims{}, rt.AlgNone)}, answer{401, invalid, "", "invalid_token", "The access token is invalid", nil}},
		{"expired", []string{"Bearer " + is.Mint(rt.Claims{}, rt.Expired)}, answer{401, `Bearer scope="mobileTests", error="invalid_token", error_description="The access token expired"`, "", "invalid_token", "The access token expired", nil}},
		{"not yet valid", []string{"Bearer " + is.Mint(rt.Claims{}, rt.NotYetValid)}, answer{401, `Bearer scope="mobileTests", error="invalid_token", error_description="The access token is not valid yet"`, "", "invalid_token", "The access token is not valid yet", nil}},
		{"wrong scope", []string{"Bearer " + is.Mint(rt.Claims{Scope: "webTests"})}, answer{403, `Bearer scope="mobileTests", error="insufficient_scope"`, "", "insufficient_scope", "The access token does not grant the scope this resource requires", nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, serve(t, h, tc.auth...)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}

	t.Run("issuer unreachable", func(t *testing.T) {
		down := rt.NewIssuer(t, rt.ES256)
		down.SetDown(true)
		v := newValidator(t, resource.Config{JWKSURL: down.JWKSURL, Issuer: down.URL})
		want := answer{Status: 503, RetryAfter: "10", Error: "keys_unavailable", Message: "Access tokens cannot be checked now: try again later"}
		if diff := cmp.Diff(want, serve(t, v.Require("mobileTests")(echoClient), "Bearer "+down.Mint(rt.Claims{}))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})

	t.Run("no scope required", func(t *testing.T) {
		h := v.Require("")(echoClient)
		if diff := cmp.Diff(answer{Status: 200, Client: alice}, serve(t, h, "Bearer "+good)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if got, want := serve(t, h).WWWAuthenticate, "Bearer"; got != want {
			t.Errorf("WWW-Authenticate %q, want %q", got, want)
		}
	})

	t.Run("scope needing escapes", func(t *testing.T) {
		h := v.Require("a\"b\\c\nd")(echoClient)
		if got, want := serve(t, h).WWWAuthenticate, `Bearer scope="a\"b\\c?d"`; got != want {
			t.Errorf("WWW-Authenticate %q, want %q", got, want)
		}
	})
}

func TestClientFromContext(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if c := resource.ClientFromContext(r.Context()); c != nil {
		t.Fatalf("ClientFromContext outside Require = %v", c)
	}
	c := &resource.Client{ApplicationID: "BankApp"}
	if got := resource.ClientFromContext(resource.NewContext(r.Context(), c)); got != c {
		t.Fatalf("ClientFromContext = %v, want %v", got, c)
	}
}

func TestWWWAuthenticate(t *testing.T) {
	for _, tc := range []struct{ scope, code, desc, want string }{
		{"", "", "", "Bearer"},
		{"mobileTests", "", "", `Bearer scope="mobileTests"`},
		{"", "invalid_token", "", `Bearer error="invalid_token"`},
		{"a b", "invalid_token", `say "hi"`, `Bearer scope="a b", error="invalid_token", error_description="say \"hi\""`},
		{"\x00\r\n\x7f", "", "", `Bearer scope="????"`},
		{"é", "", "", "Bearer scope=\"é\""},
	} {
		if got := resource.WWWAuthenticate(tc.scope, tc.code, tc.desc); got != tc.want {
			t.Errorf("WWWAuthenticate(%q, %q, %q) = %q, want %q", tc.scope, tc.code, tc.desc, got, tc.want)
		}
	}
}

package resource_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/resource"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// fuzzIssuer mints the seeds of the fuzz targets: good tokens of both algorithms and one of each
// Break. Tokens live a day, so a long fuzz run still reaches the checks after the signature.
func fuzzIssuer(f *testing.F) (is *rt.Issuer, good, bad []string) {
	is = rt.NewIssuer(f, rt.ES256)
	ed, err := rt.NewKey(rt.EdDSA)
	if err != nil {
		f.Fatal(err)
	}
	is.Publish(ed)
	day := rt.Claims{UserID: "alice", DeviceID: "d-1", Lifetime: 24 * time.Hour}
	good = []string{is.Mint(day), is.Mint(day, rt.SignedWith(ed)), is.Mint(rt.Claims{Lifetime: 24 * time.Hour, Scope: "webTests mobileTests"})}
	for _, b := range []rt.Break{rt.TamperedSignature, rt.TamperedPayload, rt.AlgNone, rt.HS256WithPublicKey, rt.UnknownKid,
		rt.WrongIssuer, rt.WrongTyp, rt.Expired, rt.NotYetValid, rt.Header("crit", []string{"x"}), rt.Claim("exp", "x")} {
		bad = append(bad, is.Mint(day, b))
	}
	bad = append(bad, is.Mint(rt.Claims{Scope: "webTests", Lifetime: 24 * time.Hour}))
	return is, good, bad
}

// signingInput is a token without its signature: what a signature covers.
func signingInput(tok string) string {
	if i := strings.LastIndexByte(tok, '.'); i >= 0 {
		return tok[:i]
	}
	return tok
}

// FuzzValidate: no input panics; every error is one of the sentinels; the cache changes no
// answer; and a token is accepted only if its header and claims are those of a token the issuer
// signed (the signature itself may differ: an ECDSA signature (r, s) has a twin (r, n-s)).
func FuzzValidate(f *testing.F) {
	is, good, bad := fuzzIssuer(f)
	signed := map[string]bool{}
	for _, tok := range good {
		signed[signingInput(tok)] = true
		f.Add(tok)
	}
	for _, tok := range bad {
		f.Add(tok)
	}
	// The key set is given, not fetched: a fuzz run makes no requests.
	cached, err := resource.New(resource.Config{Keys: is.JWKS(), Issuer: is.URL, CacheSize: 64})
	if err != nil {
		f.Fatal(err)
	}
	uncached, err := resource.New(resource.Config{Keys: is.JWKS(), Issuer: is.URL, CacheSize: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := cached.Validate(context.Background(), tok, "mobileTests")
		_, err2 := uncached.Validate(context.Background(), tok, "mobileTests")
		if kindOf(err) != kindOf(err2) {
			t.Fatalf("cached: %v; uncached: %v", err, err2)
		}
		switch {
		case err == nil:
			if !signed[signingInput(tok)] {
				t.Fatalf("accepted a token the issuer never signed: %q", tok)
			}
			if c.ApplicationID == "" {
				t.Fatal("accepted a token without an application")
			}
		case strings.HasPrefix(kindOf(err), "other"), errors.Is(err, resource.ErrKeysUnavailable):
			t.Fatalf("unexpected error: %v", err)
		}
	})
}

// FuzzAuthorization sends any Authorization header (a newline separating several) and any
// scope through Require: the answer is never a 5xx, 200 only for a token the issuer signed, and
// WWW-Authenticate is always a well-formed Bearer challenge that gives back the scope.
func FuzzAuthorization(f *testing.F) {
	is, good, bad := fuzzIssuer(f)
	signed := map[string]bool{}
	for _, tok := range good {
		signed[signingInput(tok)] = true
		f.Add("Bearer "+tok, "mobileTests")
	}
	for _, tok := range bad {
		f.Add("Bearer "+tok, "mobileTests")
	}
	for _, h := range []string{"", "Bearer", "Bearer ", "bearer x", "Basic abc", "Bearer a b", "Bearer ===", "Bearer a\nBearer b", "Bea:rer x", "Bearer \x00"} {
		f.Add(h, "mobileTests")
	}
	f.Add("", `a "quoted" \scope`+"\r\n")
	v, err := resource.New(resource.Config{Keys: is.JWKS(), Issuer: is.URL, MaxTokenBytes: 2048})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header, scope string) {
		r := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			r.Header["Authorization"] = strings.Split(header, "\n")
		}
		w := httptest.NewRecorder()
		v.Require(scope)(echoClient).ServeHTTP(w, r)
		switch w.Code {
		case 200:
			if f := strings.Fields(header); len(f) != 2 || !signed[signingInput(f[1])] {
				t.Fatalf("served %q", header)
			}
			return
		case 400, 401, 403:
		default:
			t.Fatalf("status %d for %q", w.Code, header)
		}
		params, err := parseChallenge(w.Header().Get("WWW-Authenticate"))
		if err != nil {
			t.Fatalf("WWW-Authenticate %q: %v", w.Header().Get("WWW-Authenticate"), err)
		}
		if want := sanitize(scope); params["scope"] != want {
			t.Fatalf("scope %q came back as %q", want, params["scope"])
		}
		if w.Code != 401 || params["error"] != "" {
			if want := map[int]string{400: "invalid_request", 401: "invalid_token", 403: "insufficient_scope"}[w.Code]; params["error"] != want {
				t.Fatalf("status %d with error %q", w.Code, params["error"])
			}
		}
	})
}

// sanitize is what WWWAuthenticate makes of control characters.
func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

// parseChallenge reads a Bearer challenge (RFC 7235 section 2.1, auth-params with quoted-string
// values) strictly, and returns its parameters unescaped.
func parseChallenge(h string) (map[string]string, error) {
	rest, ok := strings.CutPrefix(h, "Bearer")
	if !ok {
		return nil, errors.New("not Bearer")
	}
	params := map[string]string{}
	for i := 0; rest != ""; i++ {
		sep := ", "
		if i == 0 {
			sep = " "
		}
		if rest, ok = strings.CutPrefix(rest, sep); !ok {
			return nil, errors.New("no separator")
		}
		name, after, ok := strings.Cut(rest, `="`)
		if !ok || name == "" {
			return nil, errors.New("no name")
		}
		var val []byte
		j := 0
		for ; j < len(after) && after[j] != '"'; j++ {
			c := after[j]
			if c == '\\' {
				j++
				if j == len(after) {
					return nil, errors.New("escape at the end")
				}
				c = after[j]
			}
			if c < 0x20 || c == 0x7f {
				return nil, errors.New("control character")
			}
			val = append(val, c)
		}
		if j == len(after) {
			return nil, errors.New("unterminated string")
		}
		if _, dup := params[name]; dup {
			return nil, errors.New("parameter twice")
		}
		params[name] = string(val)
		rest = after[j+1:]
	}
	return params, nil
}

package resource_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/realmgate/realmgate/resource"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// clock is a settable clock for Config.Now, starting at the real time (tokens are minted with
// the real time).
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newValidator(t testing.TB, cfg resource.Config) *resource.Validator {
	t.Helper()
	v, err := resource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// kindOf names the sentinel err wraps, for comparisons.
func kindOf(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{resource.ErrInvalidToken, "invalid"},
		{resource.ErrExpired, "expired"},
		{resource.ErrNotYetValid, "not-yet-valid"},
		{resource.ErrInsufficientScope, "insufficient-scope"},
		{resource.ErrKeysUnavailable, "keys-unavailable"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return "ok"
}

// tokenCase is a token and what validating it for a scope must give.
type tokenCase struct {
	name   string
	claims rt.Claims
	breaks []rt.Break
	scope  string
	want   string // kindOf the error

	iatOffset time.Duration // issued this long from now
	edge      bool          // within seconds of the leeway: the verdict holds only right after minting
}

// tokenCases are good and bad tokens; tokens that fail two checks prove the order: signature,
// then time, then scope.
var tokenCases = []tokenCase{
	{name: "good", want: "ok"},
	{name: "good without a scope check", scope: "-", want: "ok"},
	{name: "good, one of several scopes", claims: rt.Claims{Scope: "webTests mobileTests"}, want: "ok"},
	{name: "good without user or device", claims: rt.Claims{UserID: "-", DeviceID: "-"}, want: "ok"},
	{name: "typ in full", breaks: []rt.Break{rt.Header("typ", "application/at+jwt")}, want: "ok"},
	{name: "typ in capitals", breaks: []rt.Break{rt.Header("typ", "AT+JWT")}, want: "ok"},
	{name: "expired within the leeway", iatOffset: -62 * time.Second, edge: true, want: "ok"},
	{name: "issued within the leeway ahead", iatOffset: 2 * time.Second, edge: true, want: "ok"},
	{name: "unknown claims are ignored", breaks: []rt.Break{rt.Claim("x", []int{1}), rt.Claim("sid", "s-1")}, want: "ok"},
	{name: "any audience when none is required", claims: rt.Claims{Audience: "elsewhere"}, want: "ok"},
	{name: "aud not a string", breaks: []rt.Break{rt.Claim("aud", 7)}, want: "invalid"},
	{name: "aud holding a number", breaks: []rt.Break{rt.Claim("aud", []any{"a", 7})}, want: "invalid"},

	{name: "tampered signature", breaks: []rt.Break{rt.TamperedSignature}, want: "invalid"},
	{name: "tampered payload", breaks: []rt.Break{rt.TamperedPayload}, want: "invalid"},
	{name: "alg none", breaks: []rt.Break{rt.AlgNone}, want: "invalid"},
	{name: "HS256 keyed with the public key", breaks: []rt.Break{rt.HS256WithPublicKey}, want: "invalid"},
	{name: "unknown kid", breaks: []rt.Break{rt.UnknownKid}, want: "invalid"},
	{name: "wrong issuer", breaks: []rt.Break{rt.WrongIssuer}, want: "invalid"},
	{name: "wrong typ", breaks: []rt.Break{rt.WrongTyp}, want: "invalid"},
	{name: "no typ", breaks: []rt.Break{rt.Header("typ", "")}, want: "invalid"},
	{name: "critical extension", breaks: []rt.Break{rt.Header("crit", []string{"exp"})}, want: "invalid"},
	{name: "no exp", breaks: []rt.Break{rt.Claim("exp", nil)}, want: "invalid"},
	{name: "exp a string", breaks: []rt.Break{rt.Claim("exp", "2999-01-01")}, want: "invalid"},
	{name: "exp null", breaks: []rt.Break{rt.Claim("exp", struct{}{})}, want: "invalid"},
	{name: "scope not a string", breaks: []rt.Break{rt.Claim("scope", []string{"mobileTests"})}, want: "invalid"},
	{name: "no iss", breaks: []rt.Break{rt.Claim("iss", nil)}, want: "invalid"},
	{name: "client_id and data disagree", breaks: []rt.Break{rt.Claim("client_id", "OtherApp")}, want: "invalid"},
	{name: "no application", breaks: []rt.Break{rt.Claim("client_id", nil), rt.Claim("data", map[string]any{})}, want: "invalid"},
	{name: "expired", breaks: []rt.Break{rt.Expired}, want: "expired"},
	{name: "expired beyond the leeway", iatOffset: -67 * time.Second, edge: true, want: "expired"},
	{name: "not yet valid", breaks: []rt.Break{rt.NotYetValid}, want: "not-yet-valid"},
	{name: "nbf in the future", breaks: []rt.Break{rt.NotBeforeIn(time.Minute)}, want: "not-yet-valid"},
	{name: "wrong scope", claims: rt.Claims{Scope: "webTests"}, want: "insufficient-scope"},
	{name: "scope is a prefix only", claims: rt.Claims{Scope: "mobileTestsX"}, want: "insufficient-scope"},

	{name: "tampered and expired", breaks: []rt.Break{rt.Expired, rt.TamperedSignature}, want: "invalid"},
	{name: "alg none and expired", breaks: []rt.Break{rt.Expired, rt.AlgNone}, want: "invalid"},
	{name: "wrong issuer and expired", breaks: []rt.Break{rt.Expired, rt.WrongIssuer}, want: "invalid"},
	{name: "unknown kid and wrong scope", claims: rt.Claims{Scope: "webTests"}, breaks: []rt.Break{rt.UnknownKid}, want: "invalid"},
	{name: "wrong typ and not yet valid", breaks: []rt.Break{rt.NotYetValid, rt.WrongTyp}, want: "invalid"},
	{name: "expired and wrong scope", claims: rt.Claims{Scope: "webTests"}, breaks: []rt.Break{rt.Expired}, want: "expired"},
	{name: "not yet valid and wrong scope", claims: rt.Claims{Scope: "webTests"}, breaks: []rt.Break{rt.NotYetValid}, want: "not-yet-valid"},
}

// mint makes tc's token; UserID and DeviceID default to alice and d-1, "-" leaves them out.
func (tc tokenCase) mint(is *rt.Issuer) (string, rt.Claims) {
	c := tc.claims
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now().Add(tc.iatOffset)
	}
	c.IssuedAt = c.IssuedAt.Truncate(time.Second)
	switch c.UserID {
	case "":
		c.UserID = "alice"
	case "-":
		c.UserID = ""
	}
	switch c.DeviceID {
	case "":
		c.DeviceID = "d-1"
	case "-":
		c.DeviceID = ""
	}
	if c.Scope == "" {
		c.Scope = "mobileTests"
	}
	return is.Mint(c, tc.breaks...), c
}

func (tc tokenCase) requiredScope() string {
	switch tc.scope {
	case "":
		return "mobileTests"
	case "-":
		return ""
	}
	return tc.scope
}

func TestValidate(t *testing.T) {
	for _, alg := range []string{rt.ES256, rt.EdDSA} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			is := rt.NewIssuer(t, alg)
			cached := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL})
			uncached := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, CacheSize: -1})
			for _, tc := range tokenCases {
				t.Run(tc.name, func(t *testing.T) {
					tok, c := tc.mint(is)
					// Uncached, then twice cached: the second answer comes from the cache of
					// verified tokens when the first verified, and must be the same.
					for i, v := range []*resource.Validator{uncached, cached, cached} {
						got, err := v.Validate(context.Background(), tok, tc.requiredScope())
						if diff := cmp.Diff(tc.want, kindOf(err)); diff != "" {
							t.Fatalf("validation %d (-want +got):\n%s", i, diff)
						}
						if err != nil {
							continue
						}
						want := &resource.Client{
							ApplicationID: "BankApp", UserID: c.UserID, DeviceID: c.DeviceID, Scope: c.Scope,
							Subject: c.UserID, Audience: c.Audience, IssuedAt: c.IssuedAt, ExpiresAt: c.IssuedAt.Add(60 * time.Second),
						}
						if got.TokenID == "" {
							t.Error("no TokenID")
						}
						got.TokenID = ""
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("validation %d: client (-want +got):\n%s", i, diff)
						}
					}
				})
			}
		})
	}
}

// TestValidateAudience: a validator with Config.Audience accepts only tokens whose aud holds it,
// and refuses the others as invalid (before any time or scope check); the cache of verified
// tokens changes no answer.
func TestValidateAudience(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	tests := []struct {
		name   string
		claims rt.Claims
		breaks []rt.Break
		want   string
		aud    string // Client.Audience
	}{
		{name: "its audience", claims: rt.Claims{Audience: "statements"}, want: "ok", aud: "statements"},
		{name: "its audience among others", breaks: []rt.Break{rt.Claim("aud", []string{"payments", "statements"})}, want: "ok", aud: "statements"},
		{name: "another audience", claims: rt.Claims{Audience: "payments"}, want: "invalid"},
		{name: "the application", claims: rt.Claims{Audience: "BankApp"}, want: "invalid"},
		{name: "no audience", want: "invalid"},
		{name: "an empty list", breaks: []rt.Break{rt.Claim("aud", []string{})}, want: "invalid"},
		{name: "a prefix of it", claims: rt.Claims{Audience: "statement"}, want: "invalid"},
		{name: "in another case", claims: rt.Claims{Audience: "Statements"}, want: "invalid"},
		{name: "another audience and expired", claims: rt.Claims{Audience: "payments"}, breaks: []rt.Break{rt.Expired}, want: "invalid"},
		{name: "its audience and expired", claims: rt.Claims{Audience: "statements"}, breaks: []rt.Break{rt.Expired}, want: "expired"},
		{name: "its audience and another scope", claims: rt.Claims{Audience: "statements", Scope: "webTests"}, want: "insufficient-scope"},
	}
	for _, cacheSize := range []int{-1, 100} {
		v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, Audience: "statements", CacheSize: cacheSize})
		for _, tc := range tests {
			tok := is.Mint(tc.claims, tc.breaks...)
			for i := range 2 {
				c, err := v.Validate(context.Background(), tok, "mobileTests")
				if got := kindOf(err); got != tc.want {
					t.Errorf("cache %d, %s, validation %d: %s, want %s", cacheSize, tc.name, i, got, tc.want)
				}
				if err == nil && c.Audience != tc.aud {
					t.Errorf("cache %d, %s: Audience %q, want %q", cacheSize, tc.name, c.Audience, tc.aud)
				}
			}
		}
	}
}

// TestValidateMalformed feeds strings that are no tokens at all.
func TestValidateMalformed(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, MaxTokenBytes: 2048})
	good := is.Mint(rt.Claims{})
	for _, tok := range []string{
		"", ".", "..", "a.b", "a.b.c.d", "a.b.c", good + ".", good + "=", good[:len(good)-1],
		good + "A", "eyJhbGciOiJFUzI1NiJ9..", string(make([]byte, 3000)),
		// The signature with a different spelling of its last character (non-zero padding bits).
		good[:len(good)-1] + string(good[len(good)-1]+1),
		// Header members twice, or in another case than their name.
		b64(`{"alg":"ES256","alg":"ES256","typ":"at+jwt","kid":"x"}`) + good[indexDot(good):],
		b64(`{"ALG":"ES256","typ":"at+jwt","kid":"x"}`) + good[indexDot(good):],
		b64(`{"alg":"ES256","typ":"at+jwt","kid":"x"} x`) + good[indexDot(good):],
		b64(`[1]`) + good[indexDot(good):],
	} {
		_, err := v.Validate(context.Background(), tok, "mobileTests")
		if !errors.Is(err, resource.ErrInvalidToken) {
			t.Errorf("Validate(%.40q...) = %v, want ErrInvalidToken", tok, err)
		}
	}
}

// TestRotationUnderLoad validates tokens from several goroutines while the issuer rotates its key
// twice, publishing each new key as it starts signing with it and retiring an old key only once
// the tokens it signed have expired: no validation may fail.
func TestRotationUnderLoad(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	// Unknown kids may refresh the key set at once: the issuer rotates faster here than any
	// MinRefreshInterval would allow.
	v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, MinRefreshInterval: time.Nanosecond})
	var (
		stop     atomic.Bool
		failures atomic.Int64
		done     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	// Each worker validates freshly minted tokens (a new kid after each rotation) and a few it
	// keeps, which were signed with older keys.
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var kept []string
			for i := 0; !stop.Load(); i++ {
				tok := is.Mint(rt.Claims{UserID: "alice"})
				if i%50 == 0 {
					kept = append(kept, tok)
				}
				for _, t := range append(kept[max(0, len(kept)-3):], tok) {
					if _, err := v.Validate(context.Background(), t, "mobileTests"); err != nil {
						failures.Add(1)
						errOnce.Do(func() { firstErr = err })
					}
					done.Add(1)
				}
			}
		}()
	}
	waitFor := func(n int64) {
		for target := done.Load() + n; done.Load() < target; {
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(200)
	first := is.Current()
	second := is.Rotate(rt.ES256)
	waitFor(200)
	is.Rotate(rt.EdDSA)
	waitFor(200)
	// The first key's tokens are all still valid, so it stays; the test retires nothing that a
	// kept token still needs.
	stop.Store(true)
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d validations failed during rotation; first: %v", n, done.Load(), firstErr)
	}
	// Once the old keys' tokens expired the issuer retires them; tokens they signed fail after
	// the next refresh, even from the cache.
	old := is.Mint(rt.Claims{}, rt.SignedWith(first))
	if _, err := v.Validate(context.Background(), old, "mobileTests"); err != nil {
		t.Fatalf("token of a published old key: %v", err)
	}
	is.Retire(first.ID)
	is.Retire(second.ID)
	if err := v.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Validate(context.Background(), old, "mobileTests"); !errors.Is(err, resource.ErrInvalidToken) {
		t.Fatalf("token of a retired key after refresh: %v, want ErrInvalidToken", err)
	}
}

// TestUnknownKidRateLimit: tokens with made-up kids refresh the key set at most once per
// MinRefreshInterval, however many arrive, concurrently or not.
func TestUnknownKidRateLimit(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	clk := newClock()
	v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, MinRefreshInterval: 10 * time.Second, Now: clk.Now})
	if _, err := v.Validate(context.Background(), is.Mint(rt.Claims{}), "mobileTests"); err != nil {
		t.Fatal(err)
	}
	if got := is.Fetches(); got != 1 {
		t.Fatalf("fetches after the first token = %d, want 1", got)
	}
	// Minting with a fresh key per token is slow; a handful of forged tokens with random kids
	// is enough, each used many times.
	var forged []string
	for i := 0; i < 8; i++ {
		forged = append(forged, is.Mint(rt.Claims{}, rt.UnknownKid))
	}
	clk.Advance(10 * time.Second)
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if _, err := v.Validate(context.Background(), forged[(g+i)%len(forged)], "mobileTests"); !errors.Is(err, resource.ErrInvalidToken) {
					t.Errorf("forged kid: %v, want ErrInvalidToken", err)
				}
			}
		}()
	}
	wg.Wait()
	if got := is.Fetches(); got != 2 {
		t.Fatalf("fetches after 800 tokens of unknown kids = %d, want 2", got)
	}
	// A real rotation within the interval is seen only once the interval has passed.
	rotated := is.Mint(rt.Claims{}, rt.SignedWith(is.Rotate(rt.ES256)))
	if _, err := v.Validate(context.Background(), rotated, "mobileTests"); !errors.Is(err, resource.ErrInvalidToken) {
		t.Fatalf("new kid within the interval: %v, want ErrInvalidToken", err)
	}
	clk.Advance(10 * time.Second)
	if _, err := v.Validate(context.Background(), rotated, "mobileTests"); err != nil {
		t.Fatalf("new kid after the interval: %v", err)
	}
	if got := is.Fetches(); got != 3 {
		t.Fatalf("fetches = %d, want 3", got)
	}
}

// TestStaleKeySet: a key set older than its max-age is fetched again in the background; a key
// the issuer withdrew is then refused, and its tokens leave the cache.
func TestStaleKeySet(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	clk := newClock()
	v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, Now: clk.Now})
	tok := is.Mint(rt.Claims{Lifetime: time.Hour})
	if _, err := v.Validate(context.Background(), tok, "mobileTests"); err != nil {
		t.Fatal(err)
	}
	old := is.Current()
	is.Rotate(rt.ES256)
	is.Retire(old.ID)
	clk.Advance(30 * time.Second) // within max-age=60: the cached token and key are still used
	if _, err := v.Validate(context.Background(), tok, "mobileTests"); err != nil {
		t.Fatalf("within max-age: %v", err)
	}
	if got := is.Fetches(); got != 1 {
		t.Fatalf("fetches within max-age = %d, want 1", got)
	}
	clk.Advance(31 * time.Second)
	// The request that finds the key set stale is answered with the keys at hand; the fetch runs
	// in the background. Wait for it to be installed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := v.Validate(context.Background(), tok, "mobileTests")
		if errors.Is(err, resource.ErrInvalidToken) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("stale key set: %v; fetches %d", err, is.Fetches())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := is.Fetches(); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
}

// TestIssuerDown: without any key set, tokens get ErrKeysUnavailable (and the issuer is asked
// at most once per interval); once keys are loaded, an issuer outage keeps them in use.
func TestIssuerDown(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	is.SetDown(true)
	clk := newClock()
	v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, Now: clk.Now})
	tok := is.Mint(rt.Claims{Lifetime: time.Hour})
	for i := 0; i < 5; i++ {
		if _, err := v.Validate(context.Background(), tok, "mobileTests"); !errors.Is(err, resource.ErrKeysUnavailable) {
			t.Fatalf("issuer down: %v, want ErrKeysUnavailable", err)
		}
	}
	if got := is.Fetches(); got != 1 {
		t.Fatalf("fetches while down = %d, want 1", got)
	}
	is.SetDown(false)
	clk.Advance(10 * time.Second)
	if _, err := v.Validate(context.Background(), tok, "mobileTests"); err != nil {
		t.Fatalf("issuer back: %v", err)
	}
	is.SetDown(true)
	clk.Advance(2 * time.Minute) // stale, and the refresh fails
	other := is.Mint(rt.Claims{Lifetime: time.Hour})
	for i := 0; i < 3; i++ {
		if _, err := v.Validate(context.Background(), other, "mobileTests"); err != nil {
			t.Fatalf("issuer down again, keys held: %v", err)
		}
	}
	if err := v.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh with the issuer down succeeded")
	}
	if _, err := v.Validate(context.Background(), is.Mint(rt.Claims{Lifetime: time.Hour}), "mobileTests"); err != nil {
		t.Fatalf("after a failed refresh: %v", err)
	}
}

func TestKeyFileAndKeys(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	ed, err := rt.NewKey(rt.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	is.Publish(ed)
	pemKeys := append(is.Current().PEM(), ed.PEM()...)
	dir := t.TempDir()
	pemFile, jwksFile := dir+"/keys.pem", dir+"/jwks.json"
	writeFile(t, pemFile, pemKeys)
	writeFile(t, jwksFile, is.JWKS())
	for name, cfg := range map[string]resource.Config{
		"PEM file":  {KeyFile: pemFile},
		"JWKS file": {KeyFile: jwksFile},
		"PEM":       {Keys: pemKeys},
		"JWKS":      {Keys: is.JWKS()},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Issuer = is.URL
			v := newValidator(t, cfg)
			for _, tok := range []string{is.Mint(rt.Claims{}), is.Mint(rt.Claims{}, rt.SignedWith(ed))} {
				if _, err := v.Validate(context.Background(), tok, "mobileTests"); err != nil {
					t.Error(err)
				}
			}
			if _, err := v.Validate(context.Background(), is.Mint(rt.Claims{}, rt.UnknownKid), "mobileTests"); !errors.Is(err, resource.ErrInvalidToken) {
				t.Errorf("unknown kid: %v", err)
			}
		})
	}

	// A key file is read again, like a JWKS, when a token names a kid it lacks.
	t.Run("rotated file", func(t *testing.T) {
		clk := newClock()
		file := t.TempDir() + "/keys.pem"
		writeFile(t, file, is.Current().PEM())
		v := newValidator(t, resource.Config{KeyFile: file, Issuer: is.URL, Now: clk.Now})
		tok := is.Mint(rt.Claims{}, rt.SignedWith(ed))
		if _, err := v.Validate(context.Background(), tok, "mobileTests"); !errors.Is(err, resource.ErrInvalidToken) {
			t.Fatalf("before rotation: %v", err)
		}
		writeFile(t, file, pemKeys)
		clk.Advance(10 * time.Second)
		if _, err := v.Validate(context.Background(), tok, "mobileTests"); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	key := is.Current()
	rsaPEM := []byte(`-----BEGIN PUBLIC KEY-----
MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMPDm4CSd6o5rJXeL5l/6Gy/YVavPxWV
L6UNGvKwkUzwpm1Wwm9OK0TJ0v1MB7l4U3F0rrUv2aO7hUM4rKl5pXMCAwEAAQ==
-----END PUBLIC KEY-----
`)
	for name, cfg := range map[string]resource.Config{
		"no issuer":              {JWKSURL: is.JWKSURL},
		"no keys":                {Issuer: is.URL},
		"two sources":            {Issuer: is.URL, JWKSURL: is.JWKSURL, Keys: key.PEM()},
		"not http":               {Issuer: is.URL, JWKSURL: "file:///etc/passwd"},
		"credentials in the URL": {Issuer: is.URL, JWKSURL: "http://u:p@127.0.0.1/oauth/jwks"},
		"leeway over 5 s":        {Issuer: is.URL, JWKSURL: is.JWKSURL, Leeway: 6 * time.Second},
		"missing key file":       {Issuer: is.URL, KeyFile: t.TempDir() + "/none.pem"},
		"empty keys":             {Issuer: is.URL, Keys: []byte{}},
		"RSA key":                {Issuer: is.URL, Keys: rsaPEM},
		"PEM of another type":    {Issuer: is.URL, Keys: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
		"PEM and garbage":        {Issuer: is.URL, Keys: append(key.PEM(), "garbage"...)},
		"garbage and PEM":        {Issuer: is.URL, Keys: append([]byte("garbage\n"), key.PEM()...)},
		"JWKS of no usable key":  {Issuer: is.URL, Keys: []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","alg":"HS256","kid":"x"}]}`)},
		"not JSON":               {Issuer: is.URL, Keys: []byte(`{"keys":`)},
	} {
		if _, err := resource.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestJWKSUnusableKeys: keys that must never verify a token are skipped, the others used.
func TestJWKSUnusableKeys(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	k := is.Current()
	jwk := func(edit func(m map[string]any)) map[string]any {
		b, _ := k.JWK().MarshalJSON()
		var m map[string]any
		mustUnmarshal(t, b, &m)
		edit(m)
		return m
	}
	priv := privateJWK(t, k)
	tok := is.Mint(rt.Claims{})
	for name, key := range map[string]any{
		"encryption key":        jwk(func(m map[string]any) { m["use"] = "enc" }),
		"alg of another type":   jwk(func(m map[string]any) { m["alg"] = "EdDSA" }),
		"HMAC alg":              jwk(func(m map[string]any) { m["alg"] = "HS256" }),
		"private key published": priv,
		"another curve":         jwk(func(m map[string]any) { m["crv"] = "P-384" }),
		"point off the curve":   jwk(func(m map[string]any) { m["y"] = m["x"] }),
	} {
		t.Run(name, func(t *testing.T) {
			good, err := rt.NewKey(rt.ES256)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := good.JWK().MarshalJSON()
			var gm map[string]any
			mustUnmarshal(t, g, &gm)
			v := newValidator(t, resource.Config{Issuer: is.URL, Keys: mustMarshal(t, map[string]any{"keys": []any{key, gm}})})
			if _, err := v.Validate(context.Background(), tok, "mobileTests"); !errors.Is(err, resource.ErrInvalidToken) {
				t.Fatalf("token of a skipped key: %v", err)
			}
			if _, err := v.Validate(context.Background(), is.Mint(rt.Claims{}, rt.SignedWith(good)), "mobileTests"); err != nil {
				t.Fatalf("token of the usable key beside it: %v", err)
			}
		})
	}
}

// TestThumbprint: the kid of a PEM key is the RFC 7638 thumbprint, as hostd names its keys.
func TestThumbprint(t *testing.T) {
	for _, alg := range []string{rt.ES256, rt.EdDSA} {
		k, err := rt.NewKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := resource.Thumbprint(k.Public())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(k.ID, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", alg, diff)
		}
	}
	// RFC 7638 section 3.1 computes it for an RSA key; RFC 8037 appendix A.3 for Ed25519.
	ed := []byte{0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a}
	got, err := resource.Thumbprint(edPublic(ed))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", got); diff != "" {
		t.Errorf("RFC 8037 A.3 (-want +got):\n%s", diff)
	}
	if _, err := resource.Thumbprint(fmt.Stringer(nil)); err == nil {
		t.Error("Thumbprint of nil succeeded")
	}
}

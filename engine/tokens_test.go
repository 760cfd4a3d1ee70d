package engine

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/project"
)

// staticKeys is a TokenKeys over fixed keys.
type staticKeys struct {
	active SigningKey
	others map[string]SigningKey
}

func (k staticKeys) Active() (SigningKey, error) { return k.active, nil }

func (k staticKeys) Verifier(kid string) (crypto.PublicKey, string, bool) {
	if kid == k.active.ID {
		return k.active.Key.Public(), k.active.Algorithm, true
	}
	if o, ok := k.others[kid]; ok {
		return o.Key.Public(), o.Algorithm, true
	}
	return nil, "", false
}

func newSigningKey(t testing.TB, alg, id string) SigningKey {
	t.Helper()
	switch alg {
	case AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return SigningKey{ID: id, Algorithm: alg, Key: priv}
	default:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return SigningKey{ID: id, Algorithm: alg, Key: priv}
	}
}

var (
	userAndDevice = &project.SecurityTest{Name: "mobileTests", UserRealm: "login", DeviceRealm: "dev", AccessTokenExpirationSec: 300}
	deviceOnly    = &project.SecurityTest{Name: "deviceTests", DeviceRealm: "dev"}
)

func TestMintClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ti := &TokenIssuer{Keys: staticKeys{active: newSigningKey(t, AlgES256, "k1")}, Issuer: "https://auth.example", Now: func() time.Time { return now }}
	user := map[string]any{"userId": "alice"}
	device := map[string]any{"id": "phone-1"}
	tests := []struct {
		test *project.SecurityTest
		want TokenClaims
		life int
	}{
		{userAndDevice, TokenClaims{Issuer: "https://auth.example", Audience: "App", Scope: "mobileTests", ClientID: "App", Subject: "alice",
			Data: TokenData{UserID: "alice", DeviceID: "phone-1", ApplicationID: "App"}}, 300},
		{deviceOnly, TokenClaims{Issuer: "https://auth.example", Audience: "App", Scope: "deviceTests", ClientID: "App",
			Data: TokenData{DeviceID: "phone-1", ApplicationID: "App"}}, 60},
	}
	for _, tc := range tests {
		t.Run(tc.test.Name, func(t *testing.T) {
			tok, err := ti.Mint(tc.test, "App", user, device)
			if err != nil {
				t.Fatal(err)
			}
			if tok.ExpiresIn != tc.life {
				t.Errorf("expires_in %d, want %d", tok.ExpiresIn, tc.life)
			}
			got, err := ti.Validate(tok.AccessToken, tc.test.Name)
			if err != nil {
				t.Fatal(err)
			}
			if got.ID == "" || got.IssuedAt.Time().Unix() != now.Unix() || got.Expiry.Time().Unix() != now.Unix()+int64(tc.life) {
				t.Errorf("jti/iat/exp: %+v", got)
			}
			got.ID, got.IssuedAt, got.Expiry = "", nil, nil
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// forge signs arbitrary claims with a key and header type.
func forge(t *testing.T, k SigningKey, typ string, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: jose.JSONWebKey{Key: k.Key, KeyID: k.ID}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestValidateOrderAndRefusals(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	good := newSigningKey(t, AlgES256, "good")
	ed := newSigningKey(t, AlgEdDSA, "ed")
	stranger := newSigningKey(t, AlgES256, "good") // same kid, another key
	ti := &TokenIssuer{Keys: staticKeys{active: good, others: map[string]SigningKey{"ed": ed}}, Issuer: "iss", Now: clock}
	claims := func(iss, scope string, exp time.Time) TokenClaims {
		return TokenClaims{Issuer: iss, Scope: scope, ClientID: "App", IssuedAt: jwt.NewNumericDate(now.Add(-time.Minute)),
			Expiry: jwt.NewNumericDate(exp), ID: "j", Data: TokenData{ApplicationID: "App"}}
	}
	valid := claims("iss", "s", now.Add(time.Minute))
	expired := claims("iss", "s", now.Add(-time.Minute))
	expiredOtherScope := claims("iss", "other", now.Add(-time.Minute))
	alive := forge(t, good, "at+jwt", valid)
	parts := strings.Split(alive, ".")
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt","kid":"good"}`))
	tests := []struct {
		name, token, scope string
		want               error
	}{
		{"valid ES256", alive, "s", nil},
		{"valid EdDSA", forge(t, ed, "at+jwt", valid), "s", nil},
		{"no scope asked", alive, "", nil},
		{"wrong scope", alive, "other", ErrTokenInsufficientScope},
		{"expired", forge(t, good, "at+jwt", expired), "s", ErrTokenExpired},
		{"within the leeway", forge(t, good, "at+jwt", claims("iss", "s", now.Add(-3*time.Second))), "s", nil},
		{"expired and another scope: expiry first", forge(t, good, "at+jwt", expiredOtherScope), "s", ErrTokenExpired},
		{"tampered and expired: signature first", forge(t, stranger, "at+jwt", expired), "s", ErrTokenInvalid},
		{"tampered payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"iss","scope":"s","exp":9999999999}`)) + "." + parts[2], "s", ErrTokenInvalid},
		{"alg none", noneHeader + "." + parts[1] + ".", "s", ErrTokenInvalid},
		{"unknown kid", forge(t, newSigningKey(t, AlgES256, "nosuch"), "at+jwt", valid), "s", ErrTokenInvalid},
		{"wrong issuer", forge(t, good, "at+jwt", claims("evil", "s", now.Add(time.Minute))), "s", ErrTokenInvalid},
		{"wrong typ", forge(t, good, "JWT", valid), "s", ErrTokenInvalid},
		{"no typ", forge(t, good, "", valid), "s", ErrTokenInvalid},
		{"issued in the future", forge(t, good, "at+jwt", TokenClaims{Issuer: "iss", Scope: "s", IssuedAt: jwt.NewNumericDate(now.Add(time.Hour)), Expiry: jwt.NewNumericDate(now.Add(2 * time.Hour))}), "s", ErrTokenInvalid},
		{"garbage", "a.b.c", "s", ErrTokenInvalid},
		{"empty", "", "s", ErrTokenInvalid},
		{"oversized", strings.Repeat("a", maxTokenBytes+1), "s", ErrTokenInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ti.Validate(tc.token, tc.scope)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate: %v, want %v", err, tc.want)
			}
		})
	}
}

// A key whose algorithm does not match the token header is refused (an EdDSA kid presented
// with an ES256 signature).
func TestValidateRefusesAlgorithmMismatch(t *testing.T) {
	ec := newSigningKey(t, AlgES256, "ed") // signs as ES256 under the EdDSA key's id
	ed := newSigningKey(t, AlgEdDSA, "ed")
	ti := &TokenIssuer{Keys: staticKeys{active: ed}, Issuer: "iss"}
	tok := forge(t, ec, "at+jwt", TokenClaims{Issuer: "iss", Scope: "s", Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))})
	if _, err := ti.Validate(tok, "s"); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("Validate: %v, want ErrTokenInvalid", err)
	}
}

func FuzzValidateToken(f *testing.F) {
	k := newSigningKey(f, AlgES256, "k")
	ti := &TokenIssuer{Keys: staticKeys{active: k}, Issuer: "iss"}
	tok, err := ti.Mint(userAndDevice, "App", map[string]any{"userId": "u"}, map[string]any{"id": "d"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.AccessToken, "mobileTests")
	f.Add("a.b.c", "")
	f.Add("eyJhbGciOiJub25lIn0.e30.", "x")
	f.Fuzz(func(t *testing.T, token, scope string) {
		c, err := ti.Validate(token, scope)
		if err == nil && (c == nil || c.Issuer != "iss" || (scope != "" && c.Scope != scope)) {
			t.Fatalf("accepted a token with claims %+v for scope %q", c, scope)
		}
		if err != nil && !errors.Is(err, ErrTokenInvalid) && !errors.Is(err, ErrTokenExpired) && !errors.Is(err, ErrTokenInsufficientScope) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

func BenchmarkMint(b *testing.B) {
	for _, alg := range []string{AlgES256, AlgEdDSA} {
		b.Run(alg, func(b *testing.B) {
			ti := &TokenIssuer{Keys: staticKeys{active: newSigningKey(b, alg, "k")}, Issuer: "iss"}
			user, device := map[string]any{"userId": "u"}, map[string]any{"id": "d"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ti.Mint(userAndDevice, "App", user, device); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

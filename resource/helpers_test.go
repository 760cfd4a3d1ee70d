package resource_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func indexDot(s string) int { return strings.IndexByte(s, '.') }

func edPublic(b []byte) ed25519.PublicKey { return ed25519.PublicKey(b) }

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// privateJWK is k's JWK with its private part, as a careless issuer might publish it.
func privateJWK(t testing.TB, k *rt.Key) map[string]any {
	t.Helper()
	b, err := jose.JSONWebKey{Key: k.Private, KeyID: k.ID, Algorithm: k.Alg, Use: "sig"}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	mustUnmarshal(t, b, &m)
	return m
}

// mustDecodeSegment returns segment i of a compact JWS, decoded.
func mustDecodeSegment(t testing.TB, tok string, i int) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

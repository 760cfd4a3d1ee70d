package resource

import (
	"context"
	"testing"
	"time"

	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// TestCacheBounded: the verified-token cache never holds more than CacheSize tokens, drops
// expired ones first, and keeps serving every token right.
func TestCacheBounded(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	v, err := New(Config{JWKSURL: is.JWKSURL, Issuer: is.URL, CacheSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for i := 0; i < 50; i++ {
		toks = append(toks, is.Mint(rt.Claims{}))
	}
	for round := 0; round < 2; round++ {
		for i, tok := range toks {
			if _, err := v.Validate(context.Background(), tok, "mobileTests"); err != nil {
				t.Fatalf("round %d, token %d: %v", round, i, err)
			}
			if n := v.cache.len(); n > 10 {
				t.Fatalf("cache holds %d tokens, more than 10", n)
			}
		}
	}

	// Ten tokens that expire fill the cache; once they expired, an eleventh token evicts
	// them all rather than a tenth of the cache.
	clk := time.Now()
	v, err = New(Config{JWKSURL: is.JWKSURL, Issuer: is.URL, CacheSize: 10, Now: func() time.Time { return clk }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, err := v.Validate(context.Background(), is.Mint(rt.Claims{Lifetime: time.Second}), "mobileTests"); err != nil {
			t.Fatal(err)
		}
	}
	clk = clk.Add(30 * time.Second)
	if _, err := v.Validate(context.Background(), is.Mint(rt.Claims{Lifetime: time.Hour}), "mobileTests"); err != nil {
		t.Fatal(err)
	}
	if n := v.cache.len(); n != 1 {
		t.Fatalf("cache holds %d tokens after the expired ones were evicted, want 1", n)
	}
}

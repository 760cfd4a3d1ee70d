package resource_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/resource"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// BenchmarkValidate measures offline validation of an ES256 token against its peer, the bare
// signature check (SHA-256 of the signing input and ecdsa.Verify), in the same run:
//
//   - bare-verify, first-seen (cache off: parse, key lookup, verify, claims, time and scope) and
//     cached (a token verified before) each alone, for time and allocations;
//   - ratio: the three interleaved in blocks, reporting first-seen/bare (target at most 1.15)
//     and cached/bare (target at most 0.05).
func BenchmarkValidate(b *testing.B) {
	is := rt.NewIssuer(b, rt.ES256)
	tok := is.Mint(rt.Claims{UserID: "alice", DeviceID: "d-1", Lifetime: 24 * time.Hour})
	pub := is.Current().Public().(*ecdsa.PublicKey)
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	input := tok[:dot]
	bare := func() bool {
		h := sha256.Sum256([]byte(input))
		return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	firstSeen, err := resource.New(resource.Config{Keys: is.JWKS(), Issuer: is.URL, CacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	cached, err := resource.New(resource.Config{Keys: is.JWKS(), Issuer: is.URL})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	validate := func(v *resource.Validator) {
		if _, err := v.Validate(ctx, tok, "mobileTests"); err != nil {
			b.Fatal(err)
		}
	}
	validate(cached)
	if !bare() {
		b.Fatal("bare verify failed")
	}

	b.Run("bare-verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bare()
		}
	})
	b.Run("first-seen", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			validate(firstSeen)
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			validate(cached)
		}
	})
	b.Run("ratio", func(b *testing.B) {
		// Short blocks, each timed, and the median of the per-block ratios: other processes on
		// the machine slow down some blocks, and a median ignores them where a sum would not.
		const block = 8
		var bareT, firstT, cachedT time.Duration
		var firstR, cachedR []float64
		for i := 0; i < b.N; i += block {
			n := min(block, b.N-i)
			start := time.Now()
			for j := 0; j < n; j++ {
				bare()
			}
			t0 := time.Since(start)
			start = time.Now()
			for j := 0; j < n; j++ {
				validate(firstSeen)
			}
			t1 := time.Since(start)
			start = time.Now()
			for j := 0; j < n; j++ {
				validate(cached)
			}
			t2 := time.Since(start)
			bareT, firstT, cachedT = bareT+t0, firstT+t1, cachedT+t2
			firstR = append(firstR, float64(t1)/float64(t0))
			cachedR = append(cachedR, float64(t2)/float64(t0))
		}
		b.ReportMetric(float64(bareT.Nanoseconds())/float64(b.N), "bare-ns/op")
		b.ReportMetric(float64(firstT.Nanoseconds())/float64(b.N), "first-seen-ns/op")
		b.ReportMetric(float64(cachedT.Nanoseconds())/float64(b.N), "cached-ns/op")
		b.ReportMetric(median(firstR), "first-seen/bare")
		b.ReportMetric(median(cachedR), "cached/bare")
	})
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

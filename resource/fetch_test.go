package resource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/resource"
	rt "github.com/realmgate/realmgate/resource/resourcetest"
)

// TestFetchBounds: a JWKS reply that is too big, too slow, not 200 or not a key set fails the
// fetch with a reason, and never installs keys.
func TestFetchBounds(t *testing.T) {
	is := rt.NewIssuer(t, rt.ES256)
	jwks := is.JWKS()
	release := make(chan struct{})
	defer close(release)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"too big", func(w http.ResponseWriter, r *http.Request) {
			// A valid JWKS padded beyond the bound.
			w.Write(append(jwks[:len(jwks)-1], `,"pad":"`+strings.Repeat("x", 2048)+`"}`...))
		}, "larger than 1024 bytes"},
		{"too slow", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			w.Write(jwks[:10])
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, "deadline exceeded"},
		{"not found", http.NotFound, "status 404"},
		{"HTML", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "neither a JWKS document nor PEM"},
		{"no usable key", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }, "no usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			v := newValidator(t, resource.Config{JWKSURL: srv.URL, Issuer: is.URL, MaxKeySetBytes: 1024, FetchTimeout: 200 * time.Millisecond})
			err := v.Refresh(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Refresh: %v, want an error saying %q", err, tc.want)
			}
			if _, err := v.Validate(context.Background(), is.Mint(rt.Claims{}), "mobileTests"); err == nil {
				t.Fatal("a token validated without keys")
			}
		})
	}
}

// TestMaxAge: the JWKS max-age decides when the key set is fetched again, within
// MinRefreshInterval and a day.
func TestMaxAge(t *testing.T) {
	for _, tc := range []struct {
		maxAge int // -1: no Cache-Control
		fresh  time.Duration
	}{
		{60, 59 * time.Second},
		{-1, 5*time.Minute - time.Second}, // RefreshInterval
		{1, 9 * time.Second},              // raised to MinRefreshInterval
		{10 * 86400, 24*time.Hour - time.Second},
	} {
		is := rt.NewIssuer(t, rt.ES256)
		is.SetMaxAge(tc.maxAge)
		clk := newClock()
		v := newValidator(t, resource.Config{JWKSURL: is.JWKSURL, Issuer: is.URL, Now: clk.Now})
		tok := is.Mint(rt.Claims{Lifetime: 1000 * time.Hour})
		if _, err := v.Validate(context.Background(), tok, ""); err != nil {
			t.Fatal(err)
		}
		clk.Advance(tc.fresh)
		v.Validate(context.Background(), tok, "")
		if got := is.Fetches(); got != 1 {
			t.Errorf("max-age %d: fetched again after %v", tc.maxAge, tc.fresh)
		}
		clk.Advance(2 * time.Second)
		v.Validate(context.Background(), tok, "")
		// The refresh runs in the background.
		for deadline := time.Now().Add(10 * time.Second); is.Fetches() == 1 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if got := is.Fetches(); got != 2 {
			t.Errorf("max-age %d: not fetched again after %v", tc.maxAge, tc.fresh+2*time.Second)
		}
	}
}

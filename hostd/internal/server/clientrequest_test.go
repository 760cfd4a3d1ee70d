package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An adapter sees the request's headers and query parameters, without its credentials, and no
// more than the bounds.
func TestClientRequest(t *testing.T) {
	many := func(n int) http.Header {
		h := http.Header{}
		for i := range n {
			h.Set(fmt.Sprintf("X-H%03d", i), "v")
		}
		return h
	}
	for _, tc := range []struct {
		name                string
		header              http.Header
		query               string
		wantHeaders, params int
		check               func(t *testing.T, headers, params map[string]any)
	}{
		{name: "credentials withheld", header: http.Header{
			"Cookie": {"WL_SESSION=s"}, "Authorization": {"Basic x"}, "Proxy-Authorization": {"Basic y"},
			"Wl-Instance-Id": {"token"}, "X-Trace": {"a", "b"}, "Wl-App-Id": {"App"},
		}, query: "a=1&a=2&b=3", wantHeaders: 2, params: 2, check: func(t *testing.T, h, p map[string]any) {
			if diff := cmp.Diff(map[string]any{"X-Trace": "a, b", "Wl-App-Id": "App"}, h); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]any{"a": "1", "b": "3"}, p); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
		}},
		{name: "at most 64 headers", header: many(100), wantHeaders: maxRequestNames},
		{name: "at most 8 KiB", header: http.Header{"X-A": {strings.Repeat("a", 5000)}, "X-B": {strings.Repeat("b", 5000)}, "X-C": {"c"}},
			wantHeaders: 2, check: func(t *testing.T, h, _ map[string]any) {
				if _, ok := h["X-B"]; ok {
					t.Errorf("X-B passed the bound")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/adapters/A/p?"+tc.query, nil)
			r.Header = tc.header
			got := clientRequest(r)
			h, p := got["headers"].(map[string]any), got["parameters"].(map[string]any)
			if len(h) != tc.wantHeaders || len(p) != tc.params {
				t.Errorf("%d headers and %d parameters, want %d and %d", len(h), len(p), tc.wantHeaders, tc.params)
			}
			if tc.check != nil {
				tc.check(t, h, p)
			}
		})
	}
}

package wasm

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// The http host function converts a response when the guest asks (convert.go): the JavaScript
// engine module's invokeHttp relies on it for XML, HTML and the stock filtered.xsl.
func TestHTTPConvert(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/rss":
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write([]byte(`<rss><channel><item><title>One</title><link>l</link></item></channel></rss>`))
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<p class="x">hi</p>`))
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":1}`))
		default:
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`not xml`))
		}
	}))
	defer srv.Close()
	host, portS, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portS)
	c := newHTTPClient([]adapters.HostPort{{Host: host, Port: port}}, adapters.Limits{}.WithDefaults())
	defer c.close()
	for _, tc := range []struct {
		name, path, convert string
		want                map[string]any // members of the answer to compare
	}{
		{"xml", "/rss", "xml", map[string]any{"status": 200.0, "json": map[string]any{"rss": map[string]any{"channel": map[string]any{"item": map[string]any{"link": "l", "title": "One"}}}}}},
		{"stock xsl", "/rss", "stock-xsl", map[string]any{"json": map[string]any{"Items": []any{map[string]any{"description": "", "guid": "", "link": "l", "pubDate": "", "title": "One"}}}}},
		{"html", "/html", "html", map[string]any{"json": map[string]any{"html": map[string]any{"body": map[string]any{"p": map[string]any{"CDATA": "hi", "class": "x"}}, "head": ""}}}},
		{"auto xml", "/rss", "auto", map[string]any{"json": map[string]any{"rss": map[string]any{"channel": map[string]any{"item": map[string]any{"link": "l", "title": "One"}}}}}},
		{"auto json stays a body", "/json", "auto", map[string]any{"body": `{"a":1}`, "json": nil}},
		{"not xml", "/missing", "xml", map[string]any{"status": 404.0, "body": "not xml", "convertError": "the response has no XML element", "json": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := json.Marshal(map[string]any{"method": "GET", "url": srv.URL + tc.path, "convert": tc.convert})
			var got map[string]any
			if err := json.Unmarshal(c.do(context.Background(), req), &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s\nanswer: %v", k, diff, got)
				}
			}
		})
	}
	req, _ := json.Marshal(map[string]any{"url": srv.URL + "/rss", "convert": "xslt"})
	if got := string(c.do(context.Background(), req)); !strings.Contains(got, `convert \"xslt\" is not one of`) {
		t.Errorf("unknown convert = %s", got)
	}
}

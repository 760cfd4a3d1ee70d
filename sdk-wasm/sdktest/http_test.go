package sdktest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// TestHTTP drives each SDK's outbound HTTP helper through the examples' fetch procedure and the
// wasm host, against a server on 127.0.0.1 that is on the adapter's allow-list.
func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Header.Get("X-Realmgate-Example"))
		if r.URL.Path == "/missing" {
			http.Error(w, "not here", http.StatusNotFound)
			return
		}
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+string(body))
	}))
	defer srv.Close()
	host, portText, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portText)

	type out struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
		Echo   string `json:"echo"`
	}
	tests := []struct {
		name  string
		input map[string]string
		want  *out // nil: the call fails
	}{
		{"get", map[string]string{"url": srv.URL + "/a"}, &out{200, "GET /a ", "fetch"}},
		{"post with a body", map[string]string{"url": srv.URL + "/b", "method": "POST", "body": `{"x":"ü☃"}`}, &out{200, `POST /b {"x":"ü☃"}`, "fetch"}},
		{"status passed through", map[string]string{"url": srv.URL + "/missing"}, &out{404, "not here\n", "fetch"}},
		{"port not allowed", map[string]string{"url": "http://127.0.0.1:1/"}, nil},
		{"host not allowed", map[string]string{"url": "http://localhost:" + portText + "/"}, nil},
		{"scheme not allowed", map[string]string{"url": "file:///etc/passwd"}, nil},
	}
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			module, _ := example(t, lang)
			a := openWasm(t, module, adapters.Config{Name: "http", AllowHTTP: []adapters.HostPort{{Host: host, Port: port}}})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					in, _ := json.Marshal(tt.input)
					raw, err := a.Call(t.Context(), "fetch", in)
					if tt.want == nil {
						if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "http", "fetch"); e != nil && !strings.HasPrefix(e.Message, "http: ") {
							t.Errorf("message %q does not carry the host's reason after \"http: \"", e.Message)
						}
						return
					}
					if err != nil {
						t.Fatalf("fetch(%s): %v", in, err)
					}
					var got out
					if err := adaptertest.DecodeStrict(raw, &got); err != nil {
						t.Fatalf("output %s: %v", raw, err)
					}
					if d := cmp.Diff(*tt.want, got); d != "" {
						t.Errorf("fetch(%s) (-want +got):\n%s", in, d)
					}
				})
			}
		})
	}
}

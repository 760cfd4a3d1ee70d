package js_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/js"
)

// The sandbox holds for JavaScript as for any module: a runaway script, a memory bomb, a
// request outside the allow-list and an exception each fail their own call, and the next call
// is served.

const sandboxScript = `
function ok(v) { return {ok: v}; }
function spin() { for (;;) {} }
function bomb() { var a = []; for (;;) { a.push(new Uint8Array(1 << 20)); } }
function stringBomb() { var a = [], s = 'x'; for (;;) { s = s + s; a.push(s); } }
function boom() { throw new Error('procedure failed on purpose'); }
function recurse(n) { return recurse(n + 1); }
function fetch() { return WL.Server.invokeHttp({method: 'get', path: '/data', returnedContentType: 'json'}); }
`

func backend(t *testing.T, hits *atomic.Int32) (*httptest.Server, adapters.HostPort) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"from":"backend","path":"` + r.URL.Path + `"}`))
	}))
	t.Cleanup(srv.Close)
	host, portS, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portS)
	return srv, adapters.HostPort{Host: host, Port: port}
}

func TestSandbox(t *testing.T) {
	var hits atomic.Int32
	srv, _ := backend(t, &hits)
	a, err := openScript(t, sandboxScript, adapters.Config{
		Settings: map[string]string{js.SettingConnectivity: srv.URL},
		Limits:   adapters.Limits{CallTimeout: 2 * time.Second, MemoryPages: 1024, Instances: 1},
		// The allow-list is empty: the back end the script names is not allowed.
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	served := func(t *testing.T) {
		t.Helper()
		out, err := a.Call(ctx, "ok", json.RawMessage(`{"parameters":[1]}`))
		if err != nil || string(out) != `{"ok":1}` {
			t.Fatalf("the next call = %s, %v", out, err)
		}
	}
	for _, tc := range []struct {
		proc string
		code adapters.Code
		msg  string
	}{
		{"spin", adapters.CodeTimeout, ""},
		{"bomb", adapters.CodeOutOfMemory, ""},
		// The engine concatenates long strings lazily (ropes), so doubling a string reaches the
		// longest string JavaScript allows long before it fills the memory: a clean failure.
		{"stringBomb", adapters.CodeFailed, "string too long"},
		{"boom", adapters.CodeFailed, "procedure failed on purpose"},
		{"recurse", adapters.CodeFailed, "RangeError"},
	} {
		t.Run(tc.proc, func(t *testing.T) {
			start := time.Now()
			_, err := a.Call(ctx, tc.proc, json.RawMessage(`{"parameters":[0]}`))
			if adapters.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("%s = %v, want code %s containing %q", tc.proc, err, tc.code, tc.msg)
			}
			t.Logf("%s failed in %v: %v", tc.proc, time.Since(start).Round(time.Millisecond), err)
			served(t)
		})
	}
	t.Run("outside the allow-list", func(t *testing.T) {
		out, err := a.Call(ctx, "fetch", json.RawMessage(`{"parameters":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			IsSuccessful bool     `json:"isSuccessful"`
			Errors       []string `json:"errors"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		if res.IsSuccessful || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "allow-list") {
			t.Errorf("fetch = %s, want isSuccessful false with the host's refusal", out)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("the back end got %d requests", n)
		}
		served(t)
	})
}

func TestInvokeHTTPAllowed(t *testing.T) {
	var hits atomic.Int32
	srv, hp := backend(t, &hits)
	a, err := openScript(t, sandboxScript, adapters.Config{
		Settings:  map[string]string{js.SettingConnectivity: srv.URL},
		AllowHTTP: []adapters.HostPort{hp},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Call(context.Background(), "fetch", json.RawMessage(`{"parameters":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"from":"backend"`) || !strings.Contains(string(out), `"isSuccessful":true`) || hits.Load() != 1 {
		t.Errorf("fetch = %s (%d requests)", out, hits.Load())
	}
}

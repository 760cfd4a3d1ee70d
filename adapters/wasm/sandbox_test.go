package wasm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/wasm"
)

// hostileDir is a guest that misbehaves on purpose (testdata/hostile).
const hostileDir = "testdata/hostile"

// openHostile opens the hostile guest with one instance, so that every call after a discarded
// instance runs on a fresh one.
func openHostile(t *testing.T, edit func(*adapters.Config)) (adapters.Adapter, *adaptertest.LogRecorder) {
	t.Helper()
	rec := adaptertest.NewLogRecorder()
	a, err := openModule(t, adaptertest.BuildGoWasm(t, hostileDir), func(c *adapters.Config) {
		c.Name = "hostile"
		c.CacheDir = adaptertest.CompilationCacheDir(t)
		c.Logger = rec.Logger()
		c.Limits = adapters.Limits{MemoryPages: 256, CallTimeout: 2 * time.Second, Instances: 1}
		if edit != nil {
			edit(c)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, rec
}

func checkEcho(t *testing.T, a adapters.Adapter, after string) {
	t.Helper()
	in := `{"after":"` + after + `"}`
	out, err := a.Call(t.Context(), "echo", json.RawMessage(in))
	if err != nil || string(out) != in {
		t.Fatalf("echo after %s = %s, %v; want %s", after, out, err, in)
	}
}

// TestHostileGuests: each misbehaviour fails its call with a clear error, and the next call on
// the same adapter works.
func TestHostileGuests(t *testing.T) {
	t.Parallel()
	a, rec := openHostile(t, nil)
	for _, tc := range []struct {
		procedure string
		code      adapters.Code
		message   string // a substring of the error's Message
		cause     string // a substring of the error's cause (for logs), or ""
	}{
		{"loop", adapters.CodeTimeout, "the call ran past its deadline (call timeout 2s) and was stopped", ""},
		{"sleep", adapters.CodeTimeout, "the call ran past its deadline (call timeout 2s) and was stopped", ""},
		{"grow", adapters.CodeOutOfMemory, "the guest tried to grow its memory past the limit of 256 pages (16 MiB)", "out of memory"},
		{"panic", adapters.CodeFailed, "the guest trapped in realmgate_proc_panic", "panic: hostile guest panics"},
		{"panicServed", adapters.CodeFailed, "internal error in the procedure: assignment to entry in nil map", ""},
		{"trap", adapters.CodeFailed, "the guest trapped in realmgate_proc_trap: wasm error: out of bounds memory access", ""},
		{"badJSON", adapters.CodeBadOutput, `the output is not valid JSON: "{\"unterminated\":"`, ""},
		{"badPointer", adapters.CodeBadOutput, "the result [4294967040, +16) is out of range of the guest's memory", ""},
		{"badLength", adapters.CodeBadOutput, "the output of 2147483647 bytes exceeds the limit of 1048576 bytes", ""},
		{"failRaw", adapters.CodeFailed, "failed, but returned output", ""},
	} {
		t.Run(tc.procedure, func(t *testing.T) {
			_, err := a.Call(t.Context(), tc.procedure, json.RawMessage(`{}`))
			e := adaptertest.CheckError(t, err, tc.code, "hostile", tc.procedure)
			if e != nil && !strings.Contains(e.Message, tc.message) {
				t.Errorf("Message = %q, want it to say %q", e.Message, tc.message)
			}
			if e != nil && tc.cause != "" && (e.Err == nil || !strings.Contains(e.Err.Error(), tc.cause)) {
				t.Errorf("cause = %v, want it to say %q", e.Err, tc.cause)
			}
			checkEcho(t, a, tc.procedure)
		})
	}
	// The panic's stderr went to the adapter's log at debug.
	if len(rec.Matching(func(e adaptertest.LogEntry) bool {
		line, _ := e.Attrs["line"].(string)
		return e.Message == "guest output" && strings.Contains(line, "hostile guest panics")
	})) == 0 {
		t.Errorf("the guest's panic output is not in the log")
	}
}

// TestNoWayOut: a guest finds no environment, arguments or files, and gets a real clock and
// real random numbers.
func TestNoWayOut(t *testing.T) {
	t.Parallel()
	a, _ := openHostile(t, nil)
	var seen []string
	for range 2 {
		out, err := a.Call(t.Context(), "escape", json.RawMessage(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Env, Args               []string
			File, Root, Cwd, Create string
			Unix                    int64
			Random                  string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Env) != 0 || len(got.Args) > 1 {
			t.Errorf("the guest sees environment %q and arguments %q", got.Env, got.Args)
		}
		for what, msg := range map[string]string{"reading a file": got.File, "listing /": got.Root, "listing .": got.Cwd, "creating a file": got.Create} {
			if msg == "" {
				t.Errorf("%s succeeded inside the sandbox", what)
			}
		}
		if now := time.Now().Unix(); got.Unix < now-86400 || got.Unix > now+86400 {
			t.Errorf("the guest's clock says %d, the host's %d", got.Unix, now)
		}
		seen = append(seen, got.Random)
	}
	if seen[0] == seen[1] || seen[0] == strings.Repeat("0", 32) {
		t.Errorf("the guest's random numbers repeat: %q", seen)
	}
}

// TestInstancesArePooledAndDiscarded: with one instance, calls share it until one traps; the
// next call gets a fresh instance.
func TestInstancesArePooledAndDiscarded(t *testing.T) {
	t.Parallel()
	a, _ := openHostile(t, nil)
	count := func() string {
		t.Helper()
		out, err := a.Call(t.Context(), "count", json.RawMessage(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	var got []string
	got = append(got, count(), count(), count())
	if _, err := a.Call(t.Context(), "fail", json.RawMessage(`{}`)); err == nil {
		t.Fatal("the hostile guest has no procedure fail, want an error")
	}
	got = append(got, count()) // an unknown procedure does not touch the instance
	if _, err := a.Call(t.Context(), "failRaw", json.RawMessage(`{}`)); err == nil {
		t.Fatal("failRaw succeeded")
	}
	got = append(got, count()) // a failure reported with fail keeps the instance
	if _, err := a.Call(t.Context(), "trap", json.RawMessage(`{}`)); err == nil {
		t.Fatal("trap succeeded")
	}
	got = append(got, count(), count()) // a trap discards it
	if diff := cmp.Diff([]string{"1", "2", "3", "4", "5", "1", "2"}, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

// TestLoopingGuestLeavesOthersServing: while one adapter's guest loops, another adapter keeps
// answering, and the looping one answers again after its call is stopped.
func TestLoopingGuestLeavesOthersServing(t *testing.T) {
	t.Parallel()
	looping, _ := openHostile(t, func(c *adapters.Config) { c.Limits.CallTimeout = 3 * time.Second })
	other, _ := openHostile(t, nil)

	var loopDone atomic.Bool
	errc := make(chan error, 1)
	go func() {
		_, err := looping.Call(t.Context(), "loop", json.RawMessage(`{}`))
		loopDone.Store(true)
		errc <- err
	}()
	answeredDuringLoop := 0
	for !loopDone.Load() {
		out, err := other.Call(t.Context(), "echo", json.RawMessage(`"still here"`))
		if err != nil || string(out) != `"still here"` {
			t.Fatalf("the other adapter: %s, %v", out, err)
		}
		if !loopDone.Load() {
			answeredDuringLoop++
		}
		time.Sleep(10 * time.Millisecond)
	}
	adaptertest.CheckError(t, <-errc, adapters.CodeTimeout, "hostile", "loop")
	if answeredDuringLoop == 0 {
		t.Error("the other adapter answered no call while the guest looped")
	}
	checkEcho(t, looping, "loop")
}

// TestCallerDeadline: the caller's context bounds a call as well as CallTimeout does.
func TestCallerDeadline(t *testing.T) {
	t.Parallel()
	a, _ := openHostile(t, func(c *adapters.Config) { c.Limits.CallTimeout = time.Minute })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := a.Call(ctx, "loop", json.RawMessage(`{}`))
	adaptertest.CheckError(t, err, adapters.CodeTimeout, "hostile", "loop")

	ctx, cancel = context.WithCancel(t.Context())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err = a.Call(ctx, "sleep", json.RawMessage(`{}`))
	if e := adaptertest.CheckError(t, err, adapters.CodeTimeout, "hostile", "sleep"); e != nil && !strings.Contains(e.Message, "canceled") {
		t.Errorf("Message = %q, want it to say the call was canceled", e.Message)
	}
	checkEcho(t, a, "canceled call")
}

// TestCloseStopsCallsInFlight: Close waits for calls until its context ends, then stops them;
// they fail with ErrUnavailable.
func TestCloseStopsCallsInFlight(t *testing.T) {
	t.Parallel()
	a, _ := openHostile(t, func(c *adapters.Config) { c.Limits.CallTimeout = time.Minute })
	errc := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		_, err := a.Call(t.Context(), "loop", json.RawMessage(`{}`))
		errc <- err
	}()
	<-started
	time.Sleep(200 * time.Millisecond) // let the call reach the guest
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
	adaptertest.CheckError(t, <-errc, adapters.CodeUnavailable, "hostile", "loop")
	_, err := a.Call(t.Context(), "echo", json.RawMessage(`{}`))
	adaptertest.CheckError(t, err, adapters.CodeUnavailable, "hostile", "echo")
}

func TestGuestLogLimits(t *testing.T) {
	t.Parallel()
	a, rec := openHostile(t, nil)
	if _, err := a.Call(t.Context(), "logFlood", json.RawMessage(`{}`)); err != nil {
		t.Fatal(err)
	}
	flood := rec.Matching(func(e adaptertest.LogEntry) bool { return e.Message == "flood" })
	if len(flood) != 64 {
		t.Errorf("%d flood records reached the log, want the limit of 64", len(flood))
	}
	if len(flood) > 0 {
		want := map[string]any{"adapter": "hostile", "procedure": "logFlood", "i": int64(0)}
		if diff := cmp.Diff(want, flood[0].Attrs); diff != "" {
			t.Errorf("first record's attributes (-want +got):\n%s", diff)
		}
	}
	dropped := rec.Matching(func(e adaptertest.LogEntry) bool { return e.Message == "adapter log records dropped" })
	if len(dropped) != 1 || dropped[0].Attrs["dropped"] != int64(36) {
		t.Errorf("dropped-records notices: %+v, want one counting 36", dropped)
	}
	stderr := rec.Matching(func(e adaptertest.LogEntry) bool {
		return e.Message == "guest output" && e.Attrs["line"] == "to stderr" && e.Level == -4
	})
	if len(stderr) != 1 {
		t.Errorf("guest stderr lines in the log at debug: %+v, want one", stderr)
	}
}

// TestOutboundHTTP: a guest reaches the hosts of its allow-list and nothing else.
func TestOutboundHTTP(t *testing.T) {
	t.Parallel()
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		fmt.Fprint(w, "other")
	}))
	defer other.Close()
	allowedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hello":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "hello %s %s %s", r.Method, r.Header.Get("X-Test"), r.Header.Get("Host"))
		case "/echo-body":
			var b strings.Builder
			_, _ = fmt.Fprint(&b, r.ContentLength, " ")
			buf := make([]byte, 64)
			n, _ := r.Body.Read(buf)
			b.Write(buf[:n])
			fmt.Fprint(w, b.String())
		case "/redirect-same":
			http.Redirect(w, r, "/hello", http.StatusFound)
		case "/redirect-other":
			http.Redirect(w, r, other.URL+"/stolen", http.StatusFound)
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 2048))
		case "/slow":
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		}
	}))
	defer allowedSrv.Close()
	host, portStr, _ := net.SplitHostPort(strings.TrimPrefix(allowedSrv.URL, "http://"))
	port, _ := strconv.Atoi(portStr)

	a, _ := openHostile(t, func(c *adapters.Config) {
		c.AllowHTTP = []adapters.HostPort{{Host: host, Port: port}, {Host: "localhost", Port: 1}}
		c.Limits.MaxHTTPBody = 1024
		c.Limits.HTTPTimeout = 300 * time.Millisecond
		c.Limits.Instances = 2
	})
	otherPort := strings.TrimPrefix(other.URL, "http://127.0.0.1:")
	for _, tc := range []struct {
		name string
		req  map[string]any
		want map[string]any // the output, or nil when the call must fail
		err  string         // a substring of the failure message
	}{
		{name: "allowed", req: map[string]any{"URL": allowedSrv.URL + "/hello", "Headers": map[string]string{"X-Test": "yes", "Host": "evil.example"}},
			want: map[string]any{"status": 200.0, "body": "hello GET yes ", "location": ""}},
		{name: "allowed with a body", req: map[string]any{"Method": "POST", "URL": allowedSrv.URL + "/echo-body", "Body": []byte("payload")},
			want: map[string]any{"status": 200.0, "body": "7 payload", "location": ""}},
		{name: "redirect to the same host is followed", req: map[string]any{"URL": allowedSrv.URL + "/redirect-same"},
			want: map[string]any{"status": 200.0, "body": "hello GET  ", "location": ""}},
		{name: "redirect to another host is not followed", req: map[string]any{"URL": allowedSrv.URL + "/redirect-other"},
			want: map[string]any{"status": 302.0, "body": `<a href="` + other.URL + `/stolen">Found</a>.` + "\n\n", "location": other.URL + "/stolen"}},
		{name: "port not on the list", req: map[string]any{"URL": other.URL + "/x"}, err: "127.0.0.1:" + otherPort + " is not on the adapter's allow-list"},
		{name: "host name not on the list", req: map[string]any{"URL": "http://localhost:" + portStr + "/hello"}, err: "localhost:" + portStr + " is not on the adapter's allow-list"},
		{name: "default port not on the list", req: map[string]any{"URL": "http://" + host + "/"}, err: host + ":80 is not on the adapter's allow-list"},
		{name: "not http", req: map[string]any{"URL": "file:///etc/passwd"}, err: `scheme "file" is not allowed`},
		{name: "user info", req: map[string]any{"URL": "http://u:p@" + host + ":" + portStr + "/"}, err: "user info"},
		{name: "response too large", req: map[string]any{"URL": allowedSrv.URL + "/big"}, err: "the response body exceeds the limit of 1024 bytes"},
		{name: "request too large", req: map[string]any{"Method": "POST", "URL": allowedSrv.URL + "/echo-body", "Body": []byte(strings.Repeat("y", 1025))}, err: "the request body of 1025 bytes exceeds the limit of 1024 bytes"},
		{name: "slow", req: map[string]any{"URL": allowedSrv.URL + "/slow"}, err: "context deadline exceeded"},
		{name: "bad method", req: map[string]any{"Method": "CONNECT", "URL": allowedSrv.URL}, err: `method "CONNECT" is not allowed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := json.Marshal(tc.req)
			out, err := a.Call(t.Context(), "http", in)
			if tc.want == nil {
				e := adaptertest.CheckError(t, err, adapters.CodeFailed, "hostile", "http")
				if e != nil && !strings.Contains(e.Message, tc.err) {
					t.Errorf("Message = %q, want it to say %q", e.Message, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the server not on the allow-list got %d requests", n)
	}
}

// TestOpenThroughRegistry: the backend registered itself as kind "wasm".
func TestOpenThroughRegistry(t *testing.T) {
	t.Parallel()
	found := false
	for _, k := range adapters.Kinds() {
		found = found || k == wasm.Kind
	}
	if !found {
		t.Fatalf("adapters.Kinds() = %v, lacks %q", adapters.Kinds(), wasm.Kind)
	}
}

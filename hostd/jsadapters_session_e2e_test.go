package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/project"
)

// pbBankUsers are the two users of pb.bank's back end the interleaved logins sign in.
var pbBankUsers = map[string]struct{ email, password, pin, id string }{
	"A": {"erin@example.com", "erin-pw", "2468", "u-erin"},
	"B": {"frank@example.com", "frank-pw", "1357", "u-frank"},
}

func pbBankBackend(w http.ResponseWriter, r *http.Request) {
	for _, u := range pbBankUsers {
		if r.URL.Path == "/users/"+u.email {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"_id":%q,"password":%q,"attributes":{"name":%q,"surn":"Doe","pin_":%q}}`, u.id, u.password, u.id, u.pin)
			return
		}
	}
	http.NotFound(w, r)
}

// setInstances gives the adapter's XML in the copy at dir an explicit JavaScript backend with
// that many engine instances.
func setInstances(t *testing.T, dir, adapter string, n int) {
	t.Helper()
	f := filepath.Join(dir, "adapters", adapter, adapter+".xml")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "<procedure")
	if i < 0 {
		t.Fatalf("%s has no procedure", f)
	}
	s = s[:i] + fmt.Sprintf(`<backend kind="js" instances="%d"/>`, n) + "\n\t" + s[i:]
	if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// interleavedLogin drives one client's two-step login of pb.bank's DoubleStepAuthRealm one
// step at a time: each step's answer waits for its turn (go), and done reports when the
// answer's outcome is known (the next challenge, or the end of the call).
type interleavedLogin struct {
	c    *client.Client
	turn [3]chan struct{} // steps 1 and 2
	done [3]chan struct{}
	// ended is closed when the call has returned, with err.
	ended chan struct{}
	err   error
	// pin is the answer to step 2.
	pin string
}

func newInterleavedLogin(t *testing.T, d *hostdtest.Daemon, app, env, version, user, pin string) *interleavedLogin {
	c, err := client.New(client.Config{BaseURL: d.URL, AppID: app, Environment: env, AppVersion: version})
	if err != nil {
		t.Fatal(err)
	}
	l := &interleavedLogin{c: c, pin: pin, ended: make(chan struct{})}
	for i := range l.turn {
		l.turn[i], l.done[i] = make(chan struct{}), make(chan struct{}, 1)
	}
	u := pbBankUsers[user]
	step := 0
	c.RegisterHandler("DoubleStepAuthRealm", &client.AdapterHandler{Submit: func(_ context.Context, ap client.AdapterPrompt) (client.AdapterSubmission, error) {
		if step > 0 {
			l.done[step] <- struct{}{} // the previous answer's outcome is this challenge
		}
		if ap.Step != 2 {
			if step == 1 {
				return client.AdapterSubmission{}, fmt.Errorf("step 1 was refused: %s", ap.Error)
			}
			if step == 2 {
				return client.AdapterSubmission{}, fmt.Errorf("step 2 was refused: %s", ap.Error)
			}
			step = 1
			<-l.turn[1]
			return client.AdapterSubmission{Procedure: "submitAuthStep1", Parameters: []any{u.email, u.password}}, nil
		}
		step = 2
		<-l.turn[2]
		return client.AdapterSubmission{Procedure: "submitAuthStep2", Parameters: []any{l.pin}}, nil
	}})
	return l
}

// run calls the protected procedure, which makes the client log in; it reports the end as step
// 2's outcome.
func (l *interleavedLogin) run() {
	defer close(l.ended)
	_, l.err = l.c.InvokeProcedure(context.Background(), "DoubleStepAuthAdapter", "getSecretData")
	select {
	case l.done[2] <- struct{}{}:
	default:
	}
	select {
	case l.done[1] <- struct{}{}: // a failure before step 2 ends step 1 too
	default:
	}
}

// Worklight's two-step login keeps step 1's user in a global; the global is the session's.
// Two users whose logins interleave, in every order, on a pool of several engine instances and
// on one, each end as themselves; one user's step-2 answer in the other's session fails.
func TestJavaScriptSessionStateTwoStepLogins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts daemons")
	}
	corpustest.Projects(t)
	engine := jsEngineModule(t)
	orders := [][]string{
		{"A1", "B1", "A2", "B2"},
		{"A1", "B1", "B2", "A2"},
		{"B1", "A1", "A2", "B2"},
		{"A1", "A2", "B1", "B2"},
	}
	for _, instances := range []int{4, 1} {
		t.Run(fmt.Sprintf("instances=%d", instances), func(t *testing.T) {
			dir := corpusLoginCopy(t, "paolob67__pb.bank", nil, pbBankBackend, engine)
			addSubmitProcedures(t, dir, "DoubleStepAuthRealm", "submitAuthStep1, submitAuthStep2")
			setInstances(t, dir, "DoubleStepAuthAdapter", instances)
			d := hostdtest.Start(t, dir, hostdtest.Options{})
			p, err := project.Load(d.Dir, project.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			app, env, version := firstApp(t, p)
			for _, order := range orders {
				t.Run(strings.Join(order, ","), func(t *testing.T) {
					logins := map[string]*interleavedLogin{
						"A": newInterleavedLogin(t, d, app, env, version, "A", pbBankUsers["A"].pin),
						"B": newInterleavedLogin(t, d, app, env, version, "B", pbBankUsers["B"].pin),
					}
					for _, l := range logins {
						go l.run()
					}
					for _, s := range order {
						l, step := logins[s[:1]], int(s[1]-'0')
						close(l.turn[step])
						<-l.done[step]
					}
					for _, who := range []string{"A", "B"} {
						l := logins[who]
						<-l.ended
						if l.err != nil {
							t.Errorf("%s: %v", who, l.err)
							continue
						}
						got := l.c.Identities()["DoubleStepAuthRealm"]["userId"]
						if got != pbBankUsers[who].id {
							t.Errorf("%s is signed in as %v, want %s", who, got, pbBankUsers[who].id)
						}
					}
				})
			}
			// B passes step 1, then answers step 2 with A's PIN: B's session holds B's user,
			// so A's PIN is a wrong answer, whatever instance A's login ran on.
			t.Run("A's PIN in B's session", func(t *testing.T) {
				a := newInterleavedLogin(t, d, app, env, version, "A", pbBankUsers["A"].pin)
				b := newInterleavedLogin(t, d, app, env, version, "B", pbBankUsers["A"].pin)
				go a.run()
				go b.run()
				for _, s := range []struct {
					l    *interleavedLogin
					step int
				}{{a, 1}, {b, 1}, {a, 2}, {b, 2}} {
					close(s.l.turn[s.step])
					<-s.l.done[s.step]
				}
				<-a.ended
				if a.err != nil {
					t.Errorf("A: %v", a.err)
				}
				<-b.ended
				if b.err == nil || !strings.Contains(b.err.Error(), "Wrong security PIN") {
					t.Errorf("B answered with A's PIN: err = %v, want the wrong PIN refused", b.err)
				}
				if id, ok := b.c.Identities()["DoubleStepAuthRealm"]; ok {
					t.Errorf("B is signed in as %v", id)
				}
			})
		})
	}
}

// counterScript is a JavaScript adapter whose globals a session's calls change.
const counterScript = `var count = 0;
var blob = "";
function increment() { count++; return {count: count}; }
function peek() { return {count: count}; }
function grow(n) { blob = new Array(n + 1).join("x"); return {length: blob.length}; }
function header(name) { return {value: WL.Server.getClientRequest().getHeader(name)}; }
`

const counterXML = `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="Counter" xmlns:wl="http://www.ibm.com/mfp/integration">
	<displayName>Counter</displayName>
	<backend kind="js" instances="3"/>
	<procedure name="increment" securityTest="anonymous"/>
	<procedure name="grow" securityTest="anonymous"/>
	<procedure name="peek" securityTest="wl_unprotected"/>
	<procedure name="header" securityTest="wl_unprotected"/>
</wl:adapter>
`

// A procedure that increments a global counts per session: two sessions count apart, a call
// without a session starts from the script's baseline, a state over its bound fails clearly and
// keeps the session's state, a logout forgets it, and a restarted daemon keeps it (it is in
// the store).
func TestJavaScriptSessionStateCounter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts daemons")
	}
	engine := jsEngineModule(t)
	_, port := localBackend(t, nil)
	files := jsProject(t, port, "jsEngine: "+engine+"\ndevelopment: true\n")
	files["adapters/Counter/Counter.xml"] = []byte(counterXML)
	files["adapters/Counter/Counter-impl.js"] = []byte(counterScript)
	data := t.TempDir()
	d := hostdtest.Start(t, "testdata/jsproject", hostdtest.Options{Files: files, Data: data})
	// The clients reach the daemon through a proxy on 127.0.0.1 that stays when the daemon is
	// restarted (on another port), so that they keep their sessions.
	var current atomic.Pointer[url.URL]
	setDaemon := func(d *hostdtest.Daemon) {
		u, err := url.Parse(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		current.Store(u)
	}
	setDaemon(d)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(current.Load())
		r.Out.Host = r.In.Host
	}})
	t.Cleanup(proxy.Close)
	newClient := func() *client.Client {
		c, err := client.New(client.Config{BaseURL: proxy.URL, AppID: "JSApp", Environment: "mobilewebapp", AppVersion: "1.0"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	count := func(c *client.Client, proc string) int {
		t.Helper()
		out, err := c.InvokeProcedure(ctx, "Counter", proc)
		if err != nil {
			t.Fatalf("%s: %v", proc, err)
		}
		var r struct{ Count int }
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		return r.Count
	}
	a, b := newClient(), newClient()
	var got []int
	for _, c := range []*client.Client{a, a, b, a, b, a} {
		got = append(got, count(c, "increment"))
	}
	if diff := cmp.Diff([]int{1, 2, 1, 3, 2, 4}, got); diff != "" {
		t.Errorf("counts of sessions A A B A B A (-want +got):\n%s", diff)
	}
	// An unprotected call with the session reads its state; one without a session the baseline.
	if n := count(a, "peek"); n != 4 {
		t.Errorf("peek in A's session = %d, want 4", n)
	}
	for range 3 {
		if n := peekWithoutSession(t, d); n != 0 {
			t.Errorf("peek without a session = %d, want the baseline 0", n)
		}
	}

	// Over the bound: a clear failure, and the session keeps the state it had.
	_, err := a.InvokeProcedure(ctx, "Counter", "grow", 20000)
	if err == nil || !strings.Contains(err.Error(), "adapter Counter") || !strings.Contains(err.Error(), "more than its bound of 16384") {
		t.Errorf("grow(20000) = %v, want a failure naming the adapter and the bound", err)
	}
	if n := count(a, "increment"); n != 5 {
		t.Errorf("after the refused state, A counts %d, want 5", n)
	}

	// A reload (new adapter instances, a new engine) keeps the sessions' state.
	if st, err := d.Admin(http.MethodPost, "/admin/v1/reload", nil, nil); err != nil || st != http.StatusOK {
		t.Fatalf("reload: %d, %v", st, err)
	}
	if n := count(a, "increment"); n != 6 {
		t.Errorf("after a reload, A counts %d, want 6", n)
	}

	// A restarted daemon on the same data serves the same sessions with their state.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	setDaemon(hostdtest.Start(t, "testdata/jsproject", hostdtest.Options{Files: files, Data: data}))
	a2, b2 := a, b
	if n := count(a2, "increment"); n != 7 {
		t.Errorf("after a restart, A counts %d, want 7", n)
	}
	if n := count(b2, "increment"); n != 3 {
		t.Errorf("after a restart, B counts %d, want 3", n)
	}

	// A logout forgets the script's state of the session.
	if err := b2.Logout(ctx, "wl_anonymousUserRealm"); err != nil {
		t.Fatal(err)
	}
	if n := count(b2, "increment"); n != 1 {
		t.Errorf("after a logout, B counts %d, want 1", n)
	}
	if n := count(a2, "increment"); n != 8 {
		t.Errorf("B's logout changed A's count: %d, want 8", n)
	}
}

func peekWithoutSession(t *testing.T, d *hostdtest.Daemon) int {
	t.Helper()
	var out struct{ Result struct{ Count int } }
	rawProcedure(t, d, "peek", nil, nil, &out)
	return out.Result.Count
}

// rawProcedure calls procedure of Counter over plain HTTP with headers, and no cookie unless
// headers carry one.
func rawProcedure(t *testing.T, d *hostdtest.Daemon, procedure string, params []any, headers map[string]string, out any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"parameters": params})
	req, err := http.NewRequest(http.MethodPost, d.URL+"/api/v1/adapters/Counter/"+procedure, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("WL-App-Id", "JSApp")
	req.Header.Set("WL-App-Environment", "mobilewebapp")
	req.Header.Set("WL-App-Version", "1.0")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d", procedure, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// WL.Server.getClientRequest().getHeader reads the client's request headers, case-insensitively,
// without its credentials.
func TestJavaScriptClientRequestHeaders(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts a daemon")
	}
	engine := jsEngineModule(t)
	_, port := localBackend(t, nil)
	files := jsProject(t, port, "jsEngine: "+engine+"\ndevelopment: true\n")
	files["adapters/Counter/Counter.xml"] = []byte(counterXML)
	files["adapters/Counter/Counter-impl.js"] = []byte(counterScript)
	d := hostdtest.Start(t, "testdata/jsproject", hostdtest.Options{Files: files})
	headers := map[string]string{
		"X-Trace-Id":     "t-42",
		"User-Agent":     "realmgate-test",
		"Cookie":         "WL_SESSION=secret-session; other=1",
		"Authorization":  "Basic c2VjcmV0OnNlY3JldA==",
		"WL-Instance-Id": "secret-xsrf",
	}
	for _, tc := range []struct {
		name string
		want any
	}{
		{"x-trace-id", "t-42"},
		{"X-TRACE-ID", "t-42"},
		{"User-Agent", "realmgate-test"},
		{"WL-App-Id", "JSApp"},
		{"Cookie", nil},
		{"Authorization", nil},
		{"WL-Instance-Id", nil},
		{"X-Absent", nil},
	} {
		var out struct{ Result struct{ Value any } }
		rawProcedure(t, d, "header", []any{tc.name}, headers, &out)
		if diff := cmp.Diff(tc.want, out.Result.Value); diff != "" {
			t.Errorf("getHeader(%q) (-want +got):\n%s", tc.name, diff)
		}
	}
}

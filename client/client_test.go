package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

const (
	formRealm   = "formRealm"
	basicRealm  = "basicRealm"
	headerRealm = "headerRealm"
)

var testDevice = &client.DeviceInfo{ID: "dev-1", OS: "android", Model: "Pixel 9", DisplayName: "Test phone"}

func newClient(t testing.TB, baseURL string, edit func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{BaseURL: baseURL, AppID: "sample", Environment: "android", AppVersion: "1.0", Device: testDevice}
	if edit != nil {
		edit(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func login(creds client.Credentials) *client.LoginHandler {
	return &client.LoginHandler{Credentials: creds}
}

var alice = client.Credentials{Username: "alice", Password: "secret"}

// step is a request as the server saw it, reduced to what the dance decides.
type step struct {
	Method, Path string
	InstanceID   bool
}

func steps(reqs []hostdtest.Request) []step {
	out := make([]step, len(reqs))
	for i, r := range reqs {
		out[i] = step{r.Method, r.Path, r.Header.Get(client.HeaderInstanceID) != ""}
	}
	return out
}

func TestInitSettlesAntiXSRF(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	ctx := context.Background()

	got, err := c.Init(ctx)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	// webTest, android's test, holds the device realm every mobile environment's test has: the
	// client answers it with the anti-XSRF token of the first challenge.
	want := &client.InitResult{App: "sample", Env: "android", SecurityTest: "webTest",
		User:   client.Identity{"userId": engine.AnonymousUserID(c.PersistentCookie()), "displayName": engine.AnonymousUserID(c.PersistentCookie()), "realm": client.RealmAnonymousUser},
		Device: client.Identity{"id": testDevice.ID, "os": testDevice.OS, "model": testDevice.Model, "displayName": testDevice.DisplayName}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Init result (-want +got):\n%s", diff)
	}
	if c.PersistentCookie() == "" {
		t.Errorf("no WL_PERSISTENT_COOKIE kept")
	}
	// The instance id is sent from the re-issued request on, and on every later one.
	if _, err := c.Session(ctx); err != nil {
		t.Fatalf("Session: %v", err)
	}
	wantSteps := []step{
		{"POST", "/api/v1/apps/sample/android/init", false},
		{"POST", "/api/v1/auth/wl_deviceNoProvisioningRealm", true},
		{"POST", "/api/v1/apps/sample/android/init", true},
		{"GET", "/api/v1/session", true},
	}
	reqs := srv.Requests()
	if diff := cmp.Diff(wantSteps, steps(reqs)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for i, r := range reqs {
		gotApp := [3]string{r.Header.Get(client.HeaderAppID), r.Header.Get(client.HeaderAppEnvironment), r.Header.Get(client.HeaderAppVersion)}
		if diff := cmp.Diff([3]string{"sample", "android", "1.0"}, gotApp); diff != "" {
			t.Errorf("request %d app headers (-want +got):\n%s", i, diff)
		}
	}
}

func TestTwoStepProcedure(t *testing.T) {
	t.Parallel()
	// The iphone environment's own test is twoStep: the session's user and device are that
	// test's.
	srv := newServer(t, nil)
	setRules(t, srv, "sample", "iphone", rule{Action: "notify", Message: "Version 2 is out", MessageID: "m-7"})
	var notices []client.Notice
	c := newClient(t, srv.URL, func(cfg *client.Config) {
		cfg.Environment = "iphone"
		cfg.OnNotify = func(_ context.Context, n client.Notice) error {
			notices = append(notices, n)
			return nil
		}
	})
	c.RegisterHandler(formRealm, login(alice))
	ctx := context.Background()

	got, err := c.InvokeProcedure(ctx, "acct", "echo", 1, "two", map[string]bool{"three": true})
	if err != nil {
		t.Fatalf("InvokeProcedure: %v", err)
	}
	if diff := cmp.Diff(`[1,"two",{"three":true}]`, string(got)); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}

	wantSteps := []step{
		{"POST", "/api/v1/adapters/acct/echo", false}, // 401 step 1
		{"POST", "/api/v1/auth/wl_remoteDisableRealm", true},
		{"POST", "/api/v1/auth/wl_deviceNoProvisioningRealm", true},
		{"POST", "/api/v1/adapters/acct/echo", true}, // 401 step 2
		{"POST", "/api/v1/auth/formRealm", true},
		{"POST", "/api/v1/adapters/acct/echo", true}, // 200
	}
	reqs := srv.Requests()
	if diff := cmp.Diff(wantSteps, steps(reqs)); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	// The procedure's body is replayed unchanged; the answers are the wire's shapes.
	for _, i := range []int{0, 3, 5} {
		if diff := cmp.Diff(`{"parameters":[1,"two",{"three":true}]}`, reqs[i].Body); diff != "" {
			t.Errorf("request %d body (-want +got):\n%s", i, diff)
		}
	}
	if diff := cmp.Diff(`{"acknowledged":true,"messageId":"m-7"}`, reqs[1].Body); diff != "" {
		t.Errorf("notify answer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`{"password":"secret","username":"alice"}`, reqs[4].Body); diff != "" {
		t.Errorf("form answer (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]client.Notice{{Realm: client.RealmRemoteDisable, Message: "Version 2 is out", MessageID: "m-7"}}, notices); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}

	device := client.Identity{"id": "dev-1", "os": "android", "model": "Pixel 9", "displayName": "Test phone"}
	aliceID := client.Identity{"userId": "alice", "displayName": "alice", "realm": formRealm}
	wantIDs := map[string]client.Identity{
		client.RealmRemoteDisable:        nil,
		client.RealmDeviceNoProvisioning: device,
		formRealm:                        aliceID,
	}
	if diff := cmp.Diff(wantIDs, c.Identities()); diff != "" {
		t.Errorf("Identities (-want +got):\n%s", diff)
	}
	sess, err := c.Session(ctx)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	wantSess := &client.SessionInfo{App: "sample", Env: "iphone", User: aliceID, Device: device,
		Realms: map[string]client.RealmState{
			client.RealmAntiXSRF:             {},
			client.RealmRemoteDisable:        {},
			client.RealmDeviceNoProvisioning: {Identity: device},
			formRealm:                        {Identity: aliceID},
		}}
	if diff := cmp.Diff(wantSess, sess); diff != "" {
		t.Errorf("Session (-want +got):\n%s", diff)
	}
	// The session also names the anti-XSRF realm, which passed without an answer.
	wantIDs[client.RealmAntiXSRF] = nil
	if diff := cmp.Diff(wantIDs, c.Identities()); diff != "" {
		t.Errorf("Identities after Session (-want +got):\n%s", diff)
	}

	// The session now passes the test: one request, no challenge.
	before := len(reqs)
	if _, err := c.InvokeProcedure(ctx, "acct", "echo"); err != nil {
		t.Fatalf("second InvokeProcedure: %v", err)
	}
	if n := len(srv.Requests()) - before; n != 2 { // the Session call and the procedure
		t.Errorf("second call made %d requests, want 2", n)
	}
}

func TestAuthenticators(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, procedure, realm string
		wantHeader             string // header the answer must carry
		wantValue              string
	}{
		{"basic", "basic", basicRealm, "Authorization", "Basic YWxpY2U6c2VjcmV0"},
		{"header", "header", headerRealm, "X-Remote-User", "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, nil)
			c := newClient(t, srv.URL, nil)
			c.RegisterHandler(tt.realm, login(alice))
			if _, err := c.InvokeProcedure(context.Background(), "acct", tt.procedure); err != nil {
				t.Fatalf("InvokeProcedure: %v", err)
			}
			var answers []hostdtest.Request
			for _, r := range srv.Requests() {
				if r.Path == "/api/v1/auth/"+tt.realm {
					answers = append(answers, r)
				}
			}
			if len(answers) != 1 {
				t.Fatalf("%d answers to %s, want 1", len(answers), tt.realm)
			}
			got := [2]string{answers[0].Header.Get(tt.wantHeader), answers[0].Body}
			if diff := cmp.Diff([2]string{tt.wantValue, "{}"}, got); diff != "" {
				t.Errorf("answer header and body (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(client.Identity{"userId": "alice", "displayName": "alice", "realm": tt.realm}, c.Identities()[tt.realm]); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func intp(n int) *int { return &n }

func TestLoginRetryAsksAgain(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	var prompts []client.LoginPrompt
	answers := []client.Credentials{{Username: "alice", Password: "wrong"}, alice}
	c.RegisterHandler(formRealm, &client.LoginHandler{Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
		prompts = append(prompts, p)
		return answers[len(prompts)-1], nil
	}})
	if _, err := c.InvokeProcedure(context.Background(), "acct", "echo"); err != nil {
		t.Fatalf("InvokeProcedure: %v", err)
	}
	want := []client.LoginPrompt{
		{Realm: formRealm, Authenticator: "form", Attempt: 1},
		{Realm: formRealm, Authenticator: "form", Attempt: 2, Error: "wrong user name or password", RemainingAttempts: intp(4)},
	}
	if diff := cmp.Diff(want, prompts); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	errCancelled := errors.New("user cancelled")
	tests := []struct {
		name        string
		handler     *client.LoginHandler
		wantIs      []error
		wantAnswers int
		wantErr     error // compared with cmp on the *Error or *RealmError found
	}{
		{
			name:        "fixed credentials rejected once",
			handler:     login(client.Credentials{Username: "alice", Password: "wrong"}),
			wantIs:      []error{client.ErrCredentialsRejected},
			wantAnswers: 1,
		},
		{
			name: "attempt limit",
			handler: &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
				return client.Credentials{Username: "alice", Password: "wrong"}, nil
			}},
			wantIs:      []error{client.ErrTooManyAttempts},
			wantAnswers: 5,
			wantErr: &client.Error{Status: 429, Code: "too_many_attempts", Realm: formRealm,
				Message: "wrong user name or password; too many failed attempts for realm formRealm"},
		},
		{
			name: "ask fails on the retry",
			handler: &client.LoginHandler{Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
				if p.Attempt > 1 {
					return client.Credentials{}, errCancelled
				}
				return client.Credentials{Username: "alice", Password: "wrong"}, nil
			}},
			wantIs:      []error{errCancelled},
			wantAnswers: 1,
		},
		{
			name: "ask fails",
			handler: &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
				return client.Credentials{}, errCancelled
			}},
			wantIs:      []error{errCancelled},
			wantAnswers: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, nil)
			c := newClient(t, srv.URL, nil)
			c.RegisterHandler(formRealm, tt.handler)
			_, err := c.InvokeProcedure(context.Background(), "acct", "echo")
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("error %v is not %v", err, target)
				}
			}
			if tt.wantErr != nil {
				var got *client.Error
				if !errors.As(err, &got) {
					t.Fatalf("error %v is not an *Error", err)
				}
				if diff := cmp.Diff(tt.wantErr, got); diff != "" {
					t.Errorf("*Error (-want +got):\n%s", diff)
				}
			} else {
				var re *client.RealmError
				if !errors.As(err, &re) || re.Realm != formRealm {
					t.Errorf("error %v is not a *RealmError for %s", err, formRealm)
				}
			}
			if n := srv.Count("POST", "/api/v1/auth/"+formRealm); n != tt.wantAnswers {
				t.Errorf("%d answers posted, want %d", n, tt.wantAnswers)
			}
		})
	}
}

func TestRemoteDisable(t *testing.T) {
	t.Parallel()
	block := &rule{Action: "block", Versions: "<2.0.0", Message: "Please update", DownloadLink: "https://apps.example.com/sample"}
	errDeclined := errors.New("user declined")
	tests := []struct {
		name     string
		rule     *rule
		version  string
		onNotify func(context.Context, client.Notice) error
		wantIs   []error
		wantNot  []error
		wantErr  *client.Error
	}{
		{
			name: "block", rule: block, version: "1.0",
			wantIs:  []error{client.ErrApplicationDisabled, client.ErrRefused},
			wantNot: []error{client.ErrTooManyAttempts},
			wantErr: &client.Error{Status: 403, Code: "application_disabled", Message: "Please update", DownloadLink: "https://apps.example.com/sample"},
		},
		{name: "block for another version", rule: block, version: "2.0"},
		{
			name:     "notify declined",
			rule:     &rule{Action: "notify", Message: "Maintenance tonight", MessageID: "m1"},
			version:  "1.0",
			onNotify: func(context.Context, client.Notice) error { return errDeclined },
			wantIs:   []error{errDeclined},
			wantNot:  []error{client.ErrRefused},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, tt.rule)
			c := newClient(t, srv.URL, func(cfg *client.Config) {
				cfg.AppVersion = tt.version
				cfg.OnNotify = tt.onNotify
			})
			c.RegisterHandler(formRealm, login(alice))
			_, err := c.InvokeProcedure(context.Background(), "acct", "echo")
			if len(tt.wantIs) == 0 && err != nil {
				t.Fatalf("InvokeProcedure: %v", err)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("error %v is not %v", err, target)
				}
			}
			for _, target := range tt.wantNot {
				if errors.Is(err, target) {
					t.Errorf("error %v is %v", err, target)
				}
			}
			if tt.wantErr != nil {
				var got *client.Error
				if !errors.As(err, &got) {
					t.Fatalf("error %v is not an *Error", err)
				}
				if diff := cmp.Diff(tt.wantErr, got); diff != "" {
					t.Errorf("*Error (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestNoHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		device     *client.DeviceInfo
		unregister string
		wantRealm  string
	}{
		{name: "no device configured", wantRealm: client.RealmDeviceNoProvisioning},
		{name: "login realm without handler", device: testDevice, wantRealm: formRealm},
		{name: "built-in handler removed", device: testDevice, unregister: client.RealmRemoteDisable, wantRealm: client.RealmRemoteDisable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, &rule{Action: "notify", Message: "hi", MessageID: "m"})
			c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.Device = tt.device })
			if tt.unregister != "" {
				c.RegisterHandler(tt.unregister, nil)
			}
			_, err := c.InvokeProcedure(context.Background(), "acct", "echo")
			var re *client.RealmError
			if !errors.Is(err, client.ErrNoHandler) || !errors.As(err, &re) {
				t.Fatalf("error %v, want a *RealmError with ErrNoHandler", err)
			}
			if re.Realm != tt.wantRealm {
				t.Errorf("realm %q, want %q", re.Realm, tt.wantRealm)
			}
		})
	}
}

func TestProcedureOutcomes(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler(formRealm, login(alice))
	ctx := context.Background()
	tests := []struct {
		adapter, procedure string
		want               string
		wantErr            *client.Error
	}{
		{adapter: "acct", procedure: "open", want: `[]`},
		{adapter: "acct", procedure: "fail", wantErr: &client.Error{Status: 500, Code: "adapter_failure", Message: "account locked"}},
		{adapter: "later", procedure: "later", wantErr: &client.Error{Status: 501, Code: "not_implemented", Message: `adapter "later" has no backend in this deployment: add a <backend> (wasm or plugin) to its XML`}},
		{adapter: "acct", procedure: "missing", wantErr: &client.Error{Status: 404, Code: "not_found", Message: `adapter "acct" has no procedure "missing"`}},
	}
	for _, tt := range tests {
		got, err := c.InvokeProcedure(ctx, tt.adapter, tt.procedure)
		if tt.wantErr != nil {
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error %v is not an *Error", tt.procedure, err)
			}
			if diff := cmp.Diff(tt.wantErr, e); diff != "" {
				t.Errorf("%s: *Error (-want +got):\n%s", tt.procedure, diff)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.procedure, err)
		}
		if diff := cmp.Diff(tt.want, string(got)); diff != "" {
			t.Errorf("%s: result (-want +got):\n%s", tt.procedure, diff)
		}
	}
}

// A failed procedure whose reply carries no error code (as Worklight servers answer) is an
// *Error with CodeProcedureFailed. The daemon always sends a code, so a scripted server plays
// the reply.
func TestProcedureFailureWithoutCode(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		reply(w, http.StatusInternalServerError, `{"isSuccessful":false,"errors":["account locked"]}`)
	})
	_, err := newClient(t, srv.URL, nil).InvokeProcedure(context.Background(), "acct", "fail")
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not an *Error", err)
	}
	if diff := cmp.Diff(&client.Error{Status: 500, Code: client.CodeProcedureFailed, Message: "account locked"}, e); diff != "" {
		t.Errorf("*Error (-want +got):\n%s", diff)
	}
}

func TestLogoutChallengesAgain(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler(formRealm, login(alice))
	ctx := context.Background()
	if _, err := c.InvokeProcedure(ctx, "acct", "echo"); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx, formRealm); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	if _, ok := c.Identities()[formRealm]; ok {
		t.Errorf("identity of %s kept after logout", formRealm)
	}
	if _, err := c.InvokeProcedure(ctx, "acct", "echo"); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("POST", "/api/v1/auth/"+formRealm); n != 2 {
		t.Errorf("%d logins, want 2 (one after logout)", n)
	}
	if err := c.Logout(ctx, "../admin"); err == nil {
		t.Errorf("Logout accepted an invalid realm name")
	}
	var e *client.Error
	if err := c.Logout(ctx, "nosuchRealm"); !errors.As(err, &e) || e.Code != "unknown_realm" {
		t.Errorf("Logout of an unknown realm: %v, want unknown_realm", err)
	}
}

func TestStaticResource(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler(formRealm, login(alice))
	resp, err := c.Get(context.Background(), "/static/page.html")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := [3]string{resp.Status, resp.Header.Get("Content-Type"), string(b)}
	if diff := cmp.Diff([3]string{"200 OK", "text/html; charset=utf-8", "<p>hello</p>"}, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if _, err := c.Get(context.Background(), "http://elsewhere.example/x"); err == nil {
		t.Errorf("Get accepted an absolute URL")
	}
}

func TestPersistentCookieRestoresAnonymousUser(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	ctx := context.Background()
	userOf := func(c *client.Client) any {
		t.Helper()
		res, err := c.Init(ctx)
		if err != nil {
			t.Fatalf("Init: %v", err)
		}
		return res.User["userId"]
	}
	first := newClient(t, srv.URL, nil)
	id := userOf(first)
	again := newClient(t, srv.URL, func(cfg *client.Config) { cfg.PersistentCookie = first.PersistentCookie() })
	other := newClient(t, srv.URL, nil)
	if id != engine.AnonymousUserID(first.PersistentCookie()) || id == first.PersistentCookie() {
		t.Errorf("anonymous user %v for cookie %q, want the id derived from it", id, first.PersistentCookie())
	}
	if got := userOf(again); got != id {
		t.Errorf("restored cookie gave user %v, want %v", got, id)
	}
	if got := userOf(other); got == id {
		t.Errorf("a fresh client got the same anonymous user %v", got)
	}
}

func TestConcurrentCallsShareOneDance(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler(formRealm, login(alice))
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	results := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := c.InvokeProcedure(context.Background(), "acct", "echo", i)
			errs[i], results[i] = err, string(got)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("call %d: %v", i, errs[i])
		} else if want := fmt.Sprintf("[%d]", i); results[i] != want {
			t.Errorf("call %d: result %s, want %s", i, results[i], want)
		}
	}
	// One session and one login, although the login rotates the session id: no request is in
	// flight with the old id to come back with a new, empty session. (The device realm may be
	// answered more than once: a concurrent call's challenge issues a fresh nonce, which voids
	// the one being answered.)
	got := [2]int{srv.Sessions(), srv.Count("POST", "/api/v1/auth/"+formRealm)}
	if diff := cmp.Diff([2]int{1, 1}, got); diff != "" {
		t.Errorf("sessions, logins (-want +got):\n%s", diff)
	}
}

func TestContextCancelledInHandler(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.RegisterHandler(formRealm, &client.LoginHandler{Ask: func(ctx context.Context, _ client.LoginPrompt) (client.Credentials, error) {
		cancel()
		<-ctx.Done()
		return client.Credentials{}, ctx.Err()
	}})
	_, err := c.InvokeProcedure(ctx, "acct", "echo")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	// The client is usable afterwards: the lock was released.
	c.RegisterHandler(formRealm, login(alice))
	if _, err := c.InvokeProcedure(context.Background(), "acct", "echo"); err != nil {
		t.Fatalf("after cancellation: %v", err)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	ok := client.Config{BaseURL: "http://127.0.0.1:1", AppID: "a", Environment: "android", AppVersion: "1"}
	tests := []struct {
		name    string
		edit    func(*client.Config)
		wantErr string
	}{
		{name: "valid"},
		{name: "path prefix", edit: func(c *client.Config) { c.BaseURL = "https://auth.example.com/gate/" }},
		{name: "relative", edit: func(c *client.Config) { c.BaseURL = "/api" }, wantErr: "not an absolute http(s) URL"},
		{name: "ftp", edit: func(c *client.Config) { c.BaseURL = "ftp://x" }, wantErr: "not an absolute http(s) URL"},
		{name: "credentials", edit: func(c *client.Config) { c.BaseURL = "http://u:p@x" }, wantErr: "must not carry credentials"},
		{name: "no app", edit: func(c *client.Config) { c.AppID = "" }, wantErr: "AppID must be"},
		{name: "header injection", edit: func(c *client.Config) { c.AppVersion = "1\r\nX: y" }, wantErr: "AppVersion must be"},
		{name: "negative rounds", edit: func(c *client.Config) { c.MaxRounds = -1 }, wantErr: "MaxRounds"},
		{name: "bad cookie", edit: func(c *client.Config) { c.PersistentCookie = "a;b" }, wantErr: "PersistentCookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			_, err := client.New(cfg)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tt.wantErr == "") != (err == nil) || !strings.Contains(got, tt.wantErr) {
				t.Errorf("New: error %q, want one containing %q", got, tt.wantErr)
			}
		})
	}
}

func TestHTTPClientIsCopied(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	hc := &http.Client{}
	c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.HTTPClient = hc })
	if _, err := c.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if hc.Jar != nil || hc.CheckRedirect != nil {
		t.Errorf("the caller's http.Client was modified")
	}
}

// A handler's error on a later round ends the call at once; it is not mistaken for "nothing to
// send" and retried.
func TestHandlerErrorOnRetryEndsCall(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	errGiveUp := errors.New("give up")
	var attempts []int
	c.RegisterHandler(formRealm, &client.LoginHandler{Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
		attempts = append(attempts, p.Attempt)
		if p.Attempt > 1 {
			return client.Credentials{}, errGiveUp
		}
		return client.Credentials{Username: "alice", Password: "wrong"}, nil
	}})
	_, err := c.InvokeProcedure(context.Background(), "acct", "echo")
	var re *client.RealmError
	if !errors.Is(err, errGiveUp) || !errors.As(err, &re) {
		t.Fatalf("error %v, want a *RealmError wrapping errGiveUp", err)
	}
	if diff := cmp.Diff(client.RealmError{Realm: formRealm, Round: 2, Err: errGiveUp}, *re, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Errorf("RealmError (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2}, attempts); diff != "" {
		t.Errorf("attempts asked (-want +got):\n%s", diff)
	}
}

// Once a realm hit its attempt limit, later calls in the session fail the same way at once.
func TestLockedRealmStaysLocked(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler(formRealm, &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		return client.Credentials{Username: "alice", Password: "wrong"}, nil
	}})
	ctx := context.Background()
	if _, err := c.InvokeProcedure(ctx, "acct", "echo"); !errors.Is(err, client.ErrTooManyAttempts) {
		t.Fatalf("first call: %v, want ErrTooManyAttempts", err)
	}
	c.RegisterHandler(formRealm, login(alice))
	if _, err := c.InvokeProcedure(ctx, "acct", "echo"); !errors.Is(err, client.ErrTooManyAttempts) {
		t.Fatalf("second call: %v, want ErrTooManyAttempts", err)
	}
	// The daemon refuses the second call itself: the locked realm is not challenged again.
	if n := srv.Count("POST", "/api/v1/auth/"+formRealm); n != 5 {
		t.Errorf("%d answers, want 5 (five wrong, none after)", n)
	}
}

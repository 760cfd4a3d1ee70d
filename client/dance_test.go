package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
)

// scripted is a server whose replies a test writes by hand, to play a server that misbehaves or
// a reply the daemon never gives. It counts requests by path.
type scripted struct {
	*httptest.Server
	mu     sync.Mutex
	counts map[string]int
}

func newScripted(t *testing.T, h func(w http.ResponseWriter, r *http.Request, n int)) *scripted {
	t.Helper()
	s := &scripted{counts: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts[r.URL.Path]++
		n := s.counts[r.URL.Path]
		s.mu.Unlock()
		h(w, r, n)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[path]
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

const loopChallenge = `{"securityTest":"t","step":1,"challenges":{"loopRealm":{"n":1}}}`

func answerAnything(context.Context, *client.Challenge) (*client.Answer, error) {
	return &client.Answer{Body: map[string]int{"x": 1}}, nil
}

// A server that never settles is stopped by the round bound, with a typed error and a known
// number of requests.
func TestRoundBound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		auth         string // reply to every answer
		authStatus   int
		handler      client.ChallengeHandler
		wantResource int
		wantAnswers  int
	}{
		{
			name: "success then challenged again", authStatus: 200, auth: `{"realm":"loopRealm","status":"success"}`,
			handler: client.HandlerFunc(answerAnything), wantResource: 4, wantAnswers: 3,
		},
		{
			name: "answer always challenged", authStatus: 401, auth: loopChallenge,
			handler: client.HandlerFunc(answerAnything), wantResource: 1, wantAnswers: 3,
		},
		{
			name: "status rounds never end", authStatus: 200, auth: `{"realm":"loopRealm","status":"pending"}`,
			handler: &multiRound{}, wantResource: 1, wantAnswers: 3,
		},
		{
			name: "local answer challenged again", handler: client.HandlerFunc(func(context.Context, *client.Challenge) (*client.Answer, error) {
				return &client.Answer{Skip: true}, nil
			}), wantResource: 4, wantAnswers: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if r.URL.Path == "/api/v1/auth/loopRealm" {
					reply(w, tt.authStatus, tt.auth)
					return
				}
				reply(w, 401, loopChallenge)
			})
			c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.MaxRounds = 3 })
			c.RegisterHandler("loopRealm", tt.handler)
			resp, err := c.Get(context.Background(), "/res")
			if resp != nil {
				resp.Body.Close()
			}
			var re *client.RealmError
			if !errors.Is(err, client.ErrTooManyRounds) || !errors.As(err, &re) || re.Realm != "loopRealm" || re.Round != 3 {
				t.Fatalf("error %v, want a *RealmError for loopRealm at round 3 wrapping ErrTooManyRounds", err)
			}
			got := [2]int{srv.count("/res"), srv.count("/api/v1/auth/loopRealm")}
			if diff := cmp.Diff([2]int{tt.wantResource, tt.wantAnswers}, got); diff != "" {
				t.Errorf("resource requests, answers (-want +got):\n%s", diff)
			}
		})
	}
}

// multiRound is a handler for a realm settled in several rounds, as provisioning is: answer the
// challenge, get "provisioned" with a certificate and a fresh token, answer again.
type multiRound struct {
	seen []string
}

func (h *multiRound) HandleChallenge(_ context.Context, c *client.Challenge) (*client.Answer, error) {
	var p struct {
		Token string `json:"token"`
	}
	if err := c.Decode(&p); err != nil {
		return nil, err
	}
	h.seen = append(h.seen, fmt.Sprintf("challenge %d token=%s", c.Round, p.Token))
	return &client.Answer{Body: map[string]string{"csr": "CSR", "token": p.Token}}, nil
}

func (h *multiRound) HandleStatus(_ context.Context, s *client.Status) (*client.Answer, error) {
	var p struct {
		Certificate string `json:"certificate"`
		Token       string `json:"token"`
	}
	if err := s.Decode(&p); err != nil {
		return nil, err
	}
	h.seen = append(h.seen, fmt.Sprintf("status %d %s cert=%s token=%s", s.Round, s.Status, p.Certificate, p.Token))
	return &client.Answer{Body: map[string]string{"payload": "signed:" + p.Token}}, nil
}

func TestMultiRoundRealm(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	provisioned := false
	var answers []string
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/auth/provRealm":
			b, _ := io.ReadAll(r.Body)
			answers = append(answers, string(b))
			switch string(b) {
			case `{"csr":"CSR","token":"n1"}`:
				reply(w, 200, `{"realm":"provRealm","status":"provisioned","certificate":"CERT","chain":[],"token":"n2"}`)
			case `{"payload":"signed:n2"}`:
				provisioned = true
				reply(w, 200, `{"realm":"provRealm","status":"success","identity":{"id":"dev-1"}}`)
			default:
				reply(w, 400, `{"error":"bad_request","message":"unexpected answer"}`)
			}
		default:
			if !provisioned {
				reply(w, 401, `{"securityTest":"mobile","step":1,"challenges":{"provRealm":{"token":"n1","entity":"application"}}}`)
				return
			}
			reply(w, 200, `{"ok":true}`)
		}
	})
	c := newClient(t, srv.URL, nil)
	h := &multiRound{}
	c.RegisterHandler("provRealm", h)
	resp, err := c.Get(context.Background(), "/api/v1/thing")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	resp.Body.Close()
	want := []string{"challenge 1 token=n1", "status 2 provisioned cert=CERT token=n2"}
	if diff := cmp.Diff(want, h.seen); diff != "" {
		t.Errorf("handler calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`{"csr":"CSR","token":"n1"}`, `{"payload":"signed:n2"}`}, answers); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]client.Identity{"provRealm": {"id": "dev-1"}}, c.Identities()); diff != "" {
		t.Errorf("Identities (-want +got):\n%s", diff)
	}
}

func TestSingleRoundHandlersRefuseStatus(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.URL.Path == "/api/v1/auth/formRealm" {
			reply(w, 200, `{"realm":"formRealm","status":"provisioned"}`)
			return
		}
		reply(w, 401, `{"challenges":{"formRealm":{"authenticator":"form"}}}`)
	})
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler(formRealm, login(alice))
	_, err := c.Get(context.Background(), "/x")
	if !errors.Is(err, client.ErrUnexpectedStatus) {
		t.Fatalf("error %v, want ErrUnexpectedStatus", err)
	}
}

// Replies that break the protocol give clear, typed errors; replies that are not challenges at
// all reach the caller untouched.
func TestMalformedReplies(t *testing.T) {
	t.Parallel()
	big := `{"challenges":{"r":{"pad":"` + strings.Repeat("a", client.MaxResponseBytes) + `"}}}`
	var many strings.Builder
	many.WriteString(`{"challenges":{`)
	for i := range 65 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"r%d":{}`, i)
	}
	many.WriteString("}}")
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		authStatus  int
		auth        string
		wantIs      error
		wantPass    bool // the reply comes back to the caller as is
		wantErr     *client.Error
	}{
		{name: "invalid JSON", status: 401, contentType: "application/json", body: `{"challenges":`, wantIs: client.ErrMalformedResponse},
		{name: "challenges not an object", status: 401, contentType: "application/json", body: `{"challenges":[1]}`, wantIs: client.ErrMalformedResponse},
		{name: "payload not an object", status: 401, contentType: "application/json", body: `{"challenges":{"r":"x"}}`, wantIs: client.ErrMalformedResponse},
		{name: "realm escapes its path", status: 401, contentType: "application/json", body: `{"challenges":{"../admin":{}}}`, wantIs: client.ErrMalformedResponse},
		{name: "no realm", status: 401, contentType: "application/json", body: `{"challenges":{}}`, wantIs: client.ErrMalformedResponse},
		{name: "too many realms", status: 401, contentType: "application/json", body: many.String(), wantIs: client.ErrMalformedResponse},
		{name: "bad remainingAttempts", status: 401, contentType: "application/json", body: `{"challenges":{"r":{"remainingAttempts":"x"}}}`, wantIs: client.ErrMalformedResponse},
		{name: "too large", status: 401, contentType: "application/json", body: big, wantIs: client.ErrResponseTooLarge},
		{name: "bearer 401", status: 401, contentType: "application/json", body: `{"error":"invalid_token"}`, wantPass: true},
		{name: "html 401", status: 401, contentType: "text/html", body: `<h1>no</h1>`, wantPass: true},
		{name: "large text 401", status: 401, contentType: "text/plain", body: strings.Repeat("x", client.MaxResponseBytes+10), wantPass: true},
		{name: "404 passes", status: 404, contentType: "application/json", body: `{"error":"unknown_resource"}`, wantPass: true},
		{name: "403 page", status: 403, contentType: "text/html", body: `<h1>forbidden</h1>`, wantErr: &client.Error{Status: 403}},
		{
			name: "403 cleaned", status: 403, contentType: "application/json",
			body:    `{"error":"Bad Code!","message":"line\nbreak\u001b[31m","downloadLink":"javascript:alert(1)"}`,
			wantErr: &client.Error{Status: 403, Message: "linebreak[31m"},
		},
		{name: "429", status: 429, contentType: "application/json", body: `{"error":"too_many_attempts","message":"slow down"}`, wantErr: &client.Error{Status: 429, Code: "too_many_attempts", Message: "slow down"}},
		{name: "reply without status", authStatus: 200, auth: `{"realm":"r"}`, wantIs: client.ErrMalformedResponse},
		{name: "reply for another realm", authStatus: 200, auth: `{"realm":"other","status":"success"}`, wantIs: client.ErrMalformedResponse},
		{name: "identity not an object", authStatus: 200, auth: `{"realm":"r","status":"success","identity":3}`, wantIs: client.ErrMalformedResponse},
		{name: "401 reply not a challenge", authStatus: 401, auth: `{"error":"x"}`, wantIs: client.ErrMalformedResponse},
		{name: "409 reply", authStatus: 409, auth: `{"error":"no_challenge","message":"nothing pending"}`, wantErr: &client.Error{Status: 409, Code: "no_challenge", Message: "nothing pending", Realm: "r"}},
		{name: "reply too large", authStatus: 200, auth: big, wantIs: client.ErrResponseTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				if r.URL.Path == "/api/v1/auth/r" {
					reply(w, tt.authStatus, tt.auth)
					return
				}
				if tt.status == 0 {
					reply(w, 401, `{"challenges":{"r":{}}}`)
					return
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.Header().Set("WWW-Authenticate", `Bearer scope="t"`)
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			c := newClient(t, srv.URL, nil)
			c.RegisterHandler("r", client.HandlerFunc(answerAnything))
			resp, err := c.Get(context.Background(), "/res")
			switch {
			case tt.wantPass:
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				got := [3]any{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b) == tt.body}
				if diff := cmp.Diff([3]any{tt.status, `Bearer scope="t"`, true}, got); diff != "" {
					t.Errorf("status, header, body intact (-want +got):\n%s", diff)
				}
			case tt.wantErr != nil:
				var e *client.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not an *Error", err)
				}
				if diff := cmp.Diff(tt.wantErr, e); diff != "" {
					t.Errorf("*Error (-want +got):\n%s", diff)
				}
			default:
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("error %v, want %v", err, tt.wantIs)
				}
			}
		})
	}
}

// onlyReader hides a body's type so net/http cannot set GetBody.
type onlyReader struct{ io.Reader }

func TestRequestBodyReplay(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if r.URL.Path == "/api/v1/auth/r" {
			reply(w, 200, `{"realm":"r","status":"success"}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if n == 1 {
			reply(w, 401, `{"challenges":{"r":{}}}`)
			return
		}
		reply(w, 200, `{}`)
	})
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler("r", client.HandlerFunc(answerAnything))

	req, err := http.NewRequest(http.MethodPut, srv.URL+"/doc", onlyReader{strings.NewReader("payload")})
	if err != nil {
		t.Fatal(err)
	}
	if req.GetBody != nil {
		t.Fatal("test setup: GetBody is set")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]string{"payload", "payload"}, bodies); diff != "" {
		t.Errorf("bodies received (-want +got):\n%s", diff)
	}

	big, _ := http.NewRequest(http.MethodPut, srv.URL+"/doc", onlyReader{strings.NewReader(strings.Repeat("x", client.MaxRequestBytes+1))})
	if _, err := c.Do(big); !errors.Is(err, client.ErrRequestTooLarge) {
		t.Errorf("large body without GetBody: %v, want ErrRequestTooLarge", err)
	}
}

// The anti-XSRF token and the application headers go to the server only, not to other hosts,
// neither directly nor through a redirect.
func TestHeadersStayWithServer(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]http.Header{}
	other := newScripted(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		reply(w, 200, `{}`)
	})
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		if r.Header.Get(client.HeaderInstanceID) != "tok-1" {
			reply(w, 401, `{"challenges":{"wl_antiXSRFRealm":{"WL-Instance-Id":"tok-1"}}}`)
			return
		}
		mu.Lock()
		seen[r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		http.Redirect(w, r, other.URL+"/redirected", http.StatusFound)
	})
	c := newClient(t, srv.URL, nil)
	resp, err := c.Get(context.Background(), "/start")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, other.URL+"/direct", nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp.Body.Close()

	ours := func(h http.Header) [2]string {
		return [2]string{h.Get(client.HeaderInstanceID), h.Get(client.HeaderAppID)}
	}
	got := map[string][2]string{}
	for path, h := range seen {
		got[path] = ours(h)
	}
	want := map[string][2]string{"/start": {"tok-1", "sample"}, "/redirected": {}, "/direct": {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instance id and app id seen per path (-want +got):\n%s", diff)
	}
}

func TestRelativeRequest(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		reply(w, 200, fmt.Sprintf(`{"path":%q,"query":%q,"app":%q}`, r.URL.Path, r.URL.RawQuery, r.Header.Get(client.HeaderAppID)))
	})
	c := newClient(t, srv.URL+"/prefix/", nil)
	req, _ := http.NewRequest(http.MethodGet, "/a/b?c=d", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	var got map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"path": "/prefix/a/b", "query": "c=d", "app": "sample"}, got); diff != "" {
		t.Errorf("request seen (-want +got):\n%s", diff)
	}
}

package main

// Attacks on the HTTP edges and the rules a client can play with: version strings against
// remote-disable rules, the spelling of procedure parameters against step-up policies, URLs
// that make the static matcher expensive, and methods and bytes the static resources must
// refuse. Each test drives a real daemon over HTTP on 127.0.0.1.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// edgesDir is a project whose static resources need no answer (anonymous user realm only), so
// that requests reach the pattern matcher and the file system.
const edgesDir = "testdata/staticedges"

// cpuTime is the CPU time (user and system) the test process, daemon included, has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// edgeRequest sends one request without application headers and returns the status, the
// headers and the body.
func edgeRequest(t *testing.T, d *daemon.Daemon, method, path, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, baseURL(d)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var m struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("body %q is not an error object: %v", body, err)
	}
	return m.Error
}

// Item 9: one long URL against a pattern with several stars cost seconds of CPU. The daemon
// must refuse an over-long path at once and match every pattern in linear time.
func TestStaticMatcherLongPathIsCheap(t *testing.T) {
	d := startDaemon(t, edgesDir, "")
	for _, tc := range []struct {
		name, path string
	}{
		{"apps api json", "/apps/" + strings.Repeat("/api/", 11_000)},
		{"short link", "/s/" + strings.Repeat("x", 60_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := cpuTime(t)
			status, _, body := edgeRequest(t, d, "GET", tc.path, "")
			spent := cpuTime(t) - before
			if status != http.StatusRequestURITooLong || errorCode(t, body) != "uri_too_long" {
				t.Errorf("GET %d-byte path: %d %s, want 414 uri_too_long", len(tc.path), status, body)
			}
			if spent > 300*time.Millisecond {
				t.Errorf("GET %d-byte path cost %v of CPU, want well under 300ms", len(tc.path), spent)
			}
			t.Logf("GET %d-byte path: %d in %v of CPU", len(tc.path), status, spent)
		})
	}
	// Paths at the limit still reach the matcher, which stays linear.
	for _, p := range []string{
		"/apps/" + strings.Repeat("/api/", 800),
		"/s/" + strings.Repeat("x", 4000),
	} {
		before := cpuTime(t)
		status, _, _ := edgeRequest(t, d, "GET", p, "")
		spent := cpuTime(t) - before
		if spent > 300*time.Millisecond {
			t.Errorf("GET %d-byte path: %d cost %v of CPU", len(p), status, spent)
		}
		t.Logf("GET %d-byte path: %d in %v of CPU", len(p), status, spent)
		if status != http.StatusNotFound {
			t.Errorf("GET %d-byte path: %d, want 404", len(p), status)
		}
	}
	// The patterns still serve what they match.
	for path, want := range map[string]string{
		"/apps/v1/api/info.json": `{"version": 1}`,
		"/s/axby":                "short link target",
	} {
		if status, _, body := edgeRequest(t, d, "GET", path, ""); status != 200 || strings.TrimSpace(body) != want {
			t.Errorf("GET %s: %d %q, want 200 %q", path, status, body, want)
		}
	}
}

// Item 12: static resources are read-only files. Other methods must not return them.
func TestStaticResourceRefusesOtherMethods(t *testing.T) {
	d := startDaemon(t, edgesDir, "")
	const file = "/pub/hello.txt"
	if status, _, body := edgeRequest(t, d, "GET", file, ""); status != 200 || !strings.Contains(body, "hello from the public folder") {
		t.Fatalf("GET %s: %d %q", file, status, body)
	}
	if status, _, body := edgeRequest(t, d, "HEAD", file, ""); status != 200 || body != "" {
		t.Errorf("HEAD %s: %d %q, want 200 and no body", file, status, body)
	}
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		status, hdr, body := edgeRequest(t, d, method, file, `{"x":1}`)
		if status != http.StatusMethodNotAllowed || strings.Contains(body, "hello") {
			t.Errorf("%s %s: %d %q, want 405 without the file", method, file, status, body)
			continue
		}
		if got := hdr.Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q, want \"GET, HEAD\"", method, file, got)
		}
		if code := errorCode(t, body); code != "method_not_allowed" {
			t.Errorf("%s %s: error %q, want method_not_allowed", method, file, code)
		}
	}
	// The protected statements of the example: the file is not given to a signed-in user either.
	b := startDaemon(t, exampleDir, "")
	c := newClient(t, b, "mobilewebapp", "2.1.0")
	for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH"} {
		req, _ := http.NewRequestWithContext(context.Background(), method, "/statements/2026-11.txt", strings.NewReader("{}"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s statement: %v", method, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusMethodNotAllowed
		if method == "GET" {
			want = http.StatusOK
		}
		if resp.StatusCode != want || (want != 200 && strings.Contains(string(body), "Closing balance")) {
			t.Errorf("%s statement: %d %q, want %d", method, resp.StatusCode, body, want)
		}
	}
}

// Item 12: bytes the file system refuses are a client error, never a 500.
func TestStaticResourceBadPathBytes(t *testing.T) {
	d := startDaemon(t, edgesDir, "")
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/pub/%00", 400, "bad_request"},
		{"/pub/hello.txt%00.png", 400, "bad_request"},
		{"/pub/%01x", 400, "bad_request"},
		{"/pub/a%7Fb", 400, "bad_request"},
		{"/pub/%ff%fe", 400, "bad_request"},
		{"/pub/" + strings.Repeat("n", 300), 404, "not_found"},         // a name longer than the file system allows
		{"/pub/hello.txt/x", 404, "not_found"},                         // a file used as a folder
		{"/pub/" + strings.Repeat("d/", 1000) + "f", 404, "not_found"}, // deep, under the length limit
	} {
		status, _, body := edgeRequest(t, d, "GET", tc.path, "")
		if status != tc.status || errorCode(t, body) != tc.code {
			t.Errorf("GET %.60s: %d %s, want %d %s", tc.path, status, body, tc.status, tc.code)
		}
	}
}

// Item 12: a known API path with the wrong method is 405 with Allow, not the static 404.
func TestWrongMethodOnAPIRouteIs405(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	appHdr := []string{"WL-App-Id", app, "WL-App-Environment", "android", "WL-App-Version", "2.1.0"}
	for _, tc := range []struct {
		method, path, allow string
		hdr                 []string
	}{
		{"GET", "/api/v1/adapters/Accounts/getBalance", "POST", appHdr},
		{"PUT", "/api/v1/apps/BankApp/android/init", "POST", appHdr},
		{"GET", "/api/v1/auth/BankLogin", "POST", appHdr},
		{"DELETE", "/api/v1/session", "GET, HEAD", appHdr},
		{"GET", "/oauth/token", "POST", nil},
		{"DELETE", "/oauth/validation", "POST", nil},
		{"POST", "/oauth/jwks", "GET, HEAD", nil},
		{"POST", "/healthz", "GET, HEAD", nil},
		{"PUT", "/readyz", "GET, HEAD", nil},
		{"POST", "/metrics", "GET, HEAD", nil},
		{"PATCH", "/admin/v1/apps/BankApp/android/remote-disable", "DELETE, GET, HEAD, PUT", []string{"Authorization", "Bearer " + adminToken}},
		{"GET", "/admin/v1/reload", "POST", []string{"Authorization", "Bearer " + adminToken}},
	} {
		status, hdr, body := edgeRequest(t, d, tc.method, tc.path, "", tc.hdr...)
		if status != http.StatusMethodNotAllowed || errorCode(t, body) != "method_not_allowed" {
			t.Errorf("%s %s: %d %s, want 405 method_not_allowed", tc.method, tc.path, status, body)
			continue
		}
		if got := hdr.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	// Unknown paths stay 404, and the admin API still asks for its token first.
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/nothing", 404},
		{"POST", "/oauth/nothing", 404},
		{"GET", "/admin/v1/reload", 401},
	} {
		if status, _, body := edgeRequest(t, d, tc.method, tc.path, "", appHdr...); status != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, status, body, tc.status)
		}
	}
}

// Item 4: a block rule must not be dodged by a pre-release or build suffix.
func TestRemoteDisableBlocksPrereleases(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	for _, rs := range []struct {
		versions string
		blocked  map[string]bool
	}{
		{"<3.0.0", map[string]bool{
			"2.1.0": true, "2.1.0-rc": true, "1.0.0-0": true, "2.9.9-beta+x": true, "2.9.9+build.7": true,
			"v2.0": true, "not-a-version": true, "": true, "2.1.0-rc.1+" + strings.Repeat("9", 40): true,
			"3.0.0": false, "3.0.0-rc.1": false, "3.0.0-0": false, "3.1.0-beta": false, "10.0.0": false,
		}},
		{">=2.1.0 <2.2.0", map[string]bool{
			"2.1.0-rc": true, "2.1.5-beta": true, "2.1.0": true,
			"2.0.9-rc": false, "2.2.0-rc": false, "2.2.0": false,
		}},
	} {
		status, _ := admin(t, d, "PUT", "/admin/v1/apps/BankApp/android/remote-disable",
			`{"rules":[{"versions":"`+rs.versions+`","action":"block","message":"Please update"}]}`, adminToken)
		if status != 200 {
			t.Fatalf("PUT rule %s: %d", rs.versions, status)
		}
		for version, want := range rs.blocked {
			r := newRaw(t, d, "android", version)
			status, body, _ := r.do("POST", "/api/v1/apps/BankApp/android/init", "{}")
			blocked := status == 403 && body["error"] == "application_disabled"
			if blocked != want || (!blocked && status != 401) {
				t.Errorf("rule %q, version %q: %d %v, want blocked=%v", rs.versions, version, status, body, want)
			}
		}
	}
}

// Item 7: the step-up policy reads input.request.parameters; the adapter must read the very
// same members. A member spelled in another case, a repeated member or a Unicode look-alike
// must not let a large payment through without the PIN.
func TestStepUpCannotBeDodgedByParameterSpelling(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	ctx := context.Background()
	pins := 0
	c := newClient(t, d, "android", "2.1.0")
	c.RegisterHandler("PinRealm", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		pins++
		return client.Credentials{Username: "alice", Password: "1234"}, nil
	}})
	if out, err := c.InvokeProcedure(ctx, "Accounts", "payBill", map[string]any{"amount": 50, "payee": "power"}); err != nil || !strings.Contains(string(out), `"paid":50`) {
		t.Fatalf("small bill: %s %v", out, err)
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		// No other member of that name: a different key for the policy and for the adapter,
		// which refuses a parameter member it does not know (a guest can only fail a call
		// with adapter_failure).
		{"capitalised", `{"parameters":[{"Amount":5000,"payee":"rent"}]}`, 500, "adapter_failure"},
		{"upper case", `{"parameters":[{"AMOUNT":5000,"payee":"rent"}]}`, 500, "adapter_failure"},
		{"escaped capital", `{"parameters":[{"\u0041mount":5000,"payee":"rent"}]}`, 500, "adapter_failure"},
		{"full-width", `{"parameters":[{"ａｍｏｕｎｔ":5000,"payee":"rent"}]}`, 500, "adapter_failure"},
		// Two members one decoder or another could take for the same: refused by the host.
		{"case pair", `{"parameters":[{"amount":1,"Amount":5000,"payee":"rent"}]}`, 400, "bad_request"},
		{"case pair reversed", `{"parameters":[{"Amount":5000,"amount":1,"payee":"rent"}]}`, 400, "bad_request"},
		{"repeated", `{"parameters":[{"amount":5000,"amount":1,"payee":"rent"}]}`, 400, "bad_request"},
		{"full-width pair", `{"parameters":[{"amount":1,"ａｍｏｕｎｔ":5000,"payee":"rent"}]}`, 400, "bad_request"},
		{"long s pair", `{"parameters":[{"amount":1,"payee":"rent","pa\u017fs":1,"pass":2}]}`, 400, "bad_request"},
		{"kelvin pair", `{"parameters":[{"amount":1,"payee":"rent","\u212Aey":1,"key":2}]}`, 400, "bad_request"},
		{"composed pair", `{"parameters":[{"amount":1,"payee":"rent","caf\u00e9":1,"cafe\u0301":2}]}`, 400, "bad_request"},
		{"invalid UTF-8", "{\"parameters\":[{\"amount\":1,\"amount\xff\":5000,\"payee\":\"rent\"}]}", 400, "bad_request"},
		{"envelope case", `{"parameters":[{"amount":1,"payee":"rent"}],"Parameters":[{"amount":5000,"payee":"rent"}]}`, 400, "bad_request"},
		{"envelope repeated", `{"parameters":[{"amount":1,"payee":"rent"}],"parameters":[{"amount":5000,"payee":"rent"}]}`, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := pins
			req, _ := http.NewRequestWithContext(ctx, "POST", "/api/v1/adapters/Accounts/payBill", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b), `"paid":5000`) && pins == before {
				t.Fatalf("paid 5000 without the PIN: %s", b)
			}
			if resp.StatusCode != tc.status || errorCode(t, string(b)) != tc.code {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
			if tc.code == "adapter_failure" && !strings.Contains(string(b), "unknown member") {
				t.Errorf("%s: the adapter should refuse the member it does not know", b)
			}
		})
	}
	// Spelled exactly, the large payment still asks for the PIN once and goes through.
	before := pins
	c = newClient(t, d, "android", "2.1.0")
	c.RegisterHandler("PinRealm", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		pins++
		return client.Credentials{Username: "alice", Password: "1234"}, nil
	}})
	out, err := c.InvokeProcedure(ctx, "Accounts", "payBill", map[string]any{"amount": 5000, "payee": "rent"})
	if err != nil || !strings.Contains(string(out), `"paid":5000`) || pins != before+1 {
		t.Errorf("large bill: %s %v, PIN asked %d times, want once", out, err, pins-before)
	}
}

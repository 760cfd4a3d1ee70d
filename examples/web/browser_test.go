package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/chromiumtest"
)

var update = flag.Bool("update", false, "write the finished page's screenshot that README.md shows (docs/demo-web.png)")

// bundleSDK builds the browser bundle of the JavaScript client SDK with client/js's own script
// (npm run bundle), into a temporary file rather than the demo's static folder.
func bundleSDK(t *testing.T) []byte {
	t.Helper()
	npm := chromiumtest.RequireTool(t, ".ci/install-node.sh", "npm")
	sdk, err := filepath.Abs(filepath.Join("..", "..", "client", "js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sdk, "node_modules", "esbuild")); err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatal("client/js has no node_modules (REALMGATE_REQUIRE_TOOLCHAINS is set): run .ci/install-node.sh")
		}
		t.Skip("client/js has no node_modules (run .ci/install-node.sh)")
	}
	out := filepath.Join(t.TempDir(), "realmgate-client.js")
	cmd := exec.Command(npm, "run", "--silent", "bundle", "--", "--outfile="+out)
	cmd.Dir = sdk
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm run bundle: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startResourceServer builds and runs the example resource server (resource/example) on
// 127.0.0.1, trusting d's tokens and letting d's pages call it; it answers its base URL.
func startResourceServer(t *testing.T, d *hostdtest.Daemon) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "example")
	if out, err := exec.Command("go", "build", "-o", bin, "../../resource/example").CombinedOutput(); err != nil {
		t.Fatalf("go build resource/example: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--jwks", d.JWKSURL, "--issuer", d.Issuer, "--listen", "127.0.0.1:0", "--allow-origin", d.URL)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("resource/example: %q %v\n%s", line, err, stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return addr
}

// do runs browser actions with a deadline, failing the test with what and the page's text.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text("body"))
		t.Fatalf("%s: %v\n%s", what, err, body)
	}
}

// result clicks a step's button, waits for its result (data-state set by app.js) and decodes
// it; a step that failed fails the test with the page's message.
func result(t *testing.T, ctx context.Context, button, id string, out any, login ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	do(t, ctx, "click "+button, chromedp.Click("#"+button))
	do(t, ctx, button+": sign in", login...)
	do(t, ctx, button+": wait for the result", chromedp.WaitVisible("#"+id+"[data-state]"))
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById(`+jsString(id)+`).dataset.state`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.TextContent("#"+id))
	if err != nil {
		t.Fatal(err)
	}
	if state != "ok" {
		t.Fatalf("%s: %s", button, text)
	}
	if err := json.Unmarshal([]byte(text), out); err != nil {
		t.Fatalf("%s: %v\n%s", button, err, text)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// stored is what the page shows of a credential it keeps in IndexedDB.
type stored struct {
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	Key     struct {
		Type        string `json:"type"`
		Algorithm   string `json:"algorithm"`
		Extractable bool   `json:"extractable"`
		Exported    string `json:"exported"`
	} `json:"key"`
}

// The demo web app in headless Chromium, with the SDK bundled as its README builds it: the page
// signs alice in through the form realm and calls the protected procedure, provisions the
// browser as a device with a non-extractable WebCrypto key kept in IndexedDB, enrolls a user
// certificate of the embedded PKI, obtains a token and calls the example resource server. A
// second visit without the session's cookies signs alice in with the stored certificate, with
// no form.
func TestDemoInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo's wasm adapter and drives Chromium")
	}
	ctx := chromiumtest.Start(t, 1100, 900)
	d := startDemo(t, map[string][]byte{"static/demo/sdk/realmgate-client.js": bundleSDK(t)})
	rs := startResourceServer(t, d)
	shots := t.TempDir()

	do(t, ctx, "open the demo",
		chromedp.Navigate(d.URL+"/demo/index.html"),
		chromedp.Poll[chromedp.Void]("window.demoReady === true"),
		chromedp.SetValue("#resource-url", rs+"/statements"))
	signIn := []chromedp.Action[chromedp.Void]{
		chromedp.WaitVisible("#login-section"),
		chromedp.SendKeys("#username", "alice"),
		chromedp.SendKeys("#password", "alice-password"),
		chromedp.Click("#login-submit"),
	}

	// 1. The form login, then the procedure.
	var balance struct {
		User     string  `json:"user"`
		Balance  float64 `json:"balance"`
		Currency string  `json:"currency"`
	}
	result(t, ctx, "balance", "balance-result", &balance, signIn...)
	if diff := cmp.Diff(struct {
		User     string  `json:"user"`
		Balance  float64 `json:"balance"`
		Currency string  `json:"currency"`
	}{"alice", 1180.40, "EUR"}, balance); diff != "" {
		t.Errorf("getBalance (-want +got):\n%s", diff)
	}

	// 2. Device provisioning: the certificate names the device; its key never leaves the browser.
	var device struct {
		User        string  `json:"user"`
		Device      string  `json:"device"`
		Certificate *stored `json:"certificate"`
	}
	result(t, ctx, "device", "device-result", &device)
	if device.User != "alice" || !strings.HasPrefix(device.Device, "web-") || device.Certificate == nil {
		t.Fatalf("getDevice: %+v", device)
	}
	if !strings.Contains(device.Certificate.Subject, device.Device) || device.Certificate.Key.Type != "private" ||
		device.Certificate.Key.Extractable || device.Certificate.Key.Algorithm != "ECDSA" ||
		device.Certificate.Key.Exported != "refused (InvalidAccessError)" || !strings.Contains(device.Certificate.Issuer, "provisioning CA") {
		t.Errorf("the device's credential in IndexedDB: %+v (device %s)", *device.Certificate, device.Device)
	}

	// 3. The user certificate of the embedded PKI, enrolled in the session the form opened.
	var profile struct {
		User        string  `json:"user"`
		Certificate *stored `json:"certificate"`
	}
	result(t, ctx, "profile", "profile-result", &profile)
	if profile.User != "alice" || profile.Certificate == nil || !strings.Contains(profile.Certificate.Subject, "CN=alice") ||
		!strings.Contains(profile.Certificate.Issuer, "Demo users CA") || profile.Certificate.Key.Extractable ||
		profile.Certificate.Key.Exported != "refused (InvalidAccessError)" {
		t.Errorf("getProfile: %+v %+v", profile, profile.Certificate)
	}

	// 4. A token of scope webTests, and the resource server's answer for alice.
	var statements struct {
		Status int `json:"status"`
		Body   struct {
			Resource string `json:"resource"`
			Client   struct {
				ApplicationID string `json:"application_id"`
				UserID        string `json:"user_id"`
				Scope         string `json:"scope"`
			} `json:"client"`
		} `json:"body"`
		Token struct {
			Scope string `json:"scope"`
		} `json:"token"`
	}
	result(t, ctx, "statements", "statements-result", &statements)
	if statements.Status != 200 || statements.Body.Resource != "statements" || statements.Body.Client.UserID != "alice" ||
		statements.Body.Client.ApplicationID != "WebDemo" || statements.Body.Client.Scope != "webTests" || statements.Token.Scope != "webTests" {
		t.Errorf("the resource server: %+v", statements)
	}
	if logins := attr(t, ctx, "#status", "data-logins"); logins != "1" {
		t.Errorf("the form was shown %s times, want once", logins)
	}
	screenshot(t, ctx, shots, "demo-web")

	// A later visit, without the session's cookies: the certificate in IndexedDB signs alice in.
	newVisit(t, ctx, d.URL)
	profile.Certificate = nil
	result(t, ctx, "profile", "profile-result", &profile)
	if profile.User != "alice" || profile.Certificate == nil || !strings.Contains(profile.Certificate.Subject, "CN=alice") {
		t.Errorf("getProfile on a later visit: %+v", profile)
	}
	if logins := attr(t, ctx, "#status", "data-logins"); logins != "0" {
		t.Errorf("the later visit showed the form %s times, want none", logins)
	}

	// The same visit once the browser forgot its certificates: the form again, to enroll anew.
	do(t, ctx, "forget the browser", chromedp.Click("#forget"),
		chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.includes('forgot')`))
	newVisit(t, ctx, d.URL)
	do(t, ctx, "profile without a certificate asks for the form", chromedp.Click("#profile"), chromedp.WaitVisible("#login-section"))
}

// newVisit opens the demo again without the cookies of the earlier session.
func newVisit(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx, "open the demo without cookies",
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			return t.Call(ctx, "Network.clearBrowserCookies", struct{}{}, nil)
		}),
		chromedp.Navigate(base+"/demo/index.html"),
		chromedp.Poll[chromedp.Void]("window.demoReady === true"))
	if cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.cookie")); err != nil || cookie != "" {
		t.Fatalf("cookies after clearing them: %q %v", cookie, err)
	}
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+jsString(sel)+`).getAttribute(`+jsString(name)+`)`))
	if err != nil {
		t.Fatalf("%s %s: %v", sel, name, err)
	}
	return v
}

// screenshot saves the whole page under dir and, with -update, as docs/NAME.png for README.md.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if *update {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

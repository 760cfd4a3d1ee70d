package console_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/internal/chromiumtest"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the console's screenshots that docs/console.md shows (docs/console/*.png)")

// step runs browser actions with a deadline, failing the test with what.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text("body"))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(sel))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// screenshot saves the page under the test's folder and, with -update-screenshots, the ones
// docs/console.md shows under docs/console.
func screenshot(t *testing.T, ctx context.Context, dir, name string, docs bool) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if docs && *updateScreenshots {
		if err := os.WriteFile(filepath.Join("..", "..", "..", "docs", "console", name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The console in headless Chromium, against a daemon with data made by the Go client: every
// page loads and shows it; the remote-disable editor previews and saves a rule that the Go
// client then meets; a revocation sends the client back to enrollment; the decision stream
// shows a decision as it is made; signing out leaves no page open.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	ctx := chromiumtest.Start(t, 1280, 860)
	d := startDaemon(t)
	var ks client.MemoryKeystore
	enroll(t, d, &ks)
	wallet := walletClient(t, d, &ks, "2.0.0")
	bg := context.Background()
	if _, err := wallet.InvokeProcedure(bg, "Accounts", "getBalance"); err != nil {
		t.Fatalf("getBalance: %v", err)
	}
	if _, err := wallet.InvokeProcedure(bg, "Accounts", "getRates"); err != nil {
		t.Fatalf("getRates: %v", err)
	}
	if _, err := wallet.InvokeProcedure(bg, "Accounts", "payBill"); err == nil {
		t.Fatal("payBill without its parameter succeeded")
	}
	serial := certificates(t, d)[0].Serial
	shots := t.TempDir()
	t.Logf("screenshots in %s", shots)

	// Not signed in, every page is the sign-in form.
	for _, p := range []string{"/console/", "/console/devices", "/console/certificates", "/console/remote-disable", "/console/decisions"} {
		step(t, ctx, "GET "+p+" signed out", chromedp.Navigate(d.URL+p), chromedp.WaitVisible("#token"))
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); loc != d.URL+"/console/login" {
			t.Errorf("GET %s signed out ends at %s", p, loc)
		}
	}
	screenshot(t, ctx, shots, "login", false)
	step(t, ctx, "sign in with a wrong token", chromedp.SendKeys("#token", "not-the-token-at-all"), chromedp.Click("#sign-in"), chromedp.WaitVisible("p.error"))
	step(t, ctx, "sign in",
		chromedp.SetValue("#token", d.AdminToken), chromedp.Click("#sign-in"), chromedp.WaitVisible("#environments"))

	// Applications: the wallet's test drawn as its two steps.
	if got := text(t, ctx, "#environments"); !strings.Contains(got, "walletTest") || !strings.Contains(strings.ToLower(got), "step 2") ||
		!strings.Contains(got, certRealm) || !strings.Contains(got, "wl_deviceNoProvisioningRealm") || !strings.Contains(got, "webTest") {
		t.Errorf("the applications page shows:\n%s", got)
	}
	screenshot(t, ctx, shots, "applications", true)

	step(t, ctx, "adapters", chromedp.Navigate(d.URL+"/console/adapters"), chromedp.WaitVisible("section.adapter"))
	if got := text(t, ctx, "main"); !strings.Contains(got, "getBalance") || !strings.Contains(got, "wl_unprotected") || !strings.Contains(got, "calling environment") {
		t.Errorf("the adapters page shows:\n%s", got)
	}
	screenshot(t, ctx, shots, "adapters", false)

	step(t, ctx, "devices", chromedp.Navigate(d.URL+"/console/devices"), chromedp.WaitVisible(`tr[data-device="`+deviceID+`"]`))
	if got := text(t, ctx, `tr[data-device="`+deviceID+`"]`); !strings.Contains(got, "Alice's phone") || !strings.Contains(got, "active") {
		t.Errorf("the device's row: %q", got)
	}
	screenshot(t, ctx, shots, "devices", false)
	// Blocked from the console, the device is refused; unblocked, it is served again.
	step(t, ctx, "block the device", chromedp.Click(`tr[data-device="`+deviceID+`"] button`), chromedp.WaitVisible(`tr[data-device="`+deviceID+`"] .tag.blocked`))
	if got := text(t, ctx, `tr[data-device="`+deviceID+`"]`); !strings.Contains(got, "blocked") || !strings.Contains(got, "Unblock") {
		t.Errorf("the blocked device's row: %q", got)
	}
	if _, err := walletClient(t, d, &ks, "2.0.0").Init(bg); !errors.Is(err, client.ErrRefused) {
		t.Errorf("the blocked device's client: %v, want a refusal", err)
	}
	step(t, ctx, "unblock the device", chromedp.Click(`tr[data-device="`+deviceID+`"] button`), chromedp.WaitVisible(`tr[data-device="`+deviceID+`"] .tag.active`))
	if _, err := walletClient(t, d, &ks, "2.0.0").Init(bg); err != nil {
		t.Errorf("the unblocked device's client: %v", err)
	}

	step(t, ctx, "health", chromedp.Navigate(d.URL+"/console/health"), chromedp.WaitVisible(`tr[data-adapter="Accounts"]`))
	calls, failures := text(t, ctx, `tr[data-adapter="Accounts"] td.calls`), text(t, ctx, `tr[data-adapter="Accounts"] td.failures`)
	if calls != "3" || failures != "1" {
		t.Errorf("Accounts' health: %s calls, %s failures; want 3 and 1", calls, failures)
	}
	screenshot(t, ctx, shots, "health", false)

	// The live decision stream shows a decision made after the page opened.
	step(t, ctx, "decisions", chromedp.Navigate(d.URL+"/console/decisions"), chromedp.WaitVisible("#decisions"))
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if _, err := chromedp.Run(pctx, chromedp.Poll[bool](`document.getElementById("stream-state").textContent === "Live."`)); err != nil {
		t.Fatalf("the decision stream did not open: %v", err)
	}
	cancel()
	if _, err := walletClient(t, d, &ks, "2.0.0").InvokeProcedure(bg, "Accounts", "getBalance"); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "a decision arrives", chromedp.WaitVisible(`#decisions tbody tr[data-outcome="allow"]`))
	if got := text(t, ctx, "#decisions tbody"); !strings.Contains(got, "walletTest") || !strings.Contains(got, "Accounts.getBalance") {
		t.Errorf("the decision stream shows:\n%s", got)
	}
	screenshot(t, ctx, shots, "decisions", true)

	// A revocation from the console sends the client back to enrollment.
	row := `tr[data-serial="` + serial + `"]`
	step(t, ctx, "certificates", chromedp.Navigate(d.URL+"/console/certificates"), chromedp.WaitVisible(row))
	screenshot(t, ctx, shots, "certificates", true)
	step(t, ctx, "revoke", chromedp.SendKeys(row+` input[name="reason"]`, "lost phone"), chromedp.Click(row+" button"), chromedp.WaitVisible("p.flash"))
	if got := text(t, ctx, row); !strings.Contains(got, "revoked") || !strings.Contains(got, "lost phone") {
		t.Errorf("the revoked certificate's row: %q", got)
	}
	if _, err := walletClient(t, d, &ks, "2.0.0").Init(bg); err != nil {
		t.Fatalf("the client after the revocation: %v", err)
	}
	certs := certificates(t, d)
	if len(certs) != 2 || certs[0].RevokedAt == nil || certs[1].RevokedAt != nil {
		t.Fatalf("after the revocation the client did not enroll again: %+v", certs)
	}
	if cred, err := ks.Load(client.UserEntity(certRealm)); err != nil || strings.TrimLeft(cred.Leaf().SerialNumber.Text(16), "0") != strings.TrimLeft(certs[1].Serial, "0") {
		t.Errorf("the client holds %v (%v), want the new certificate %s", cred, err, certs[1].Serial)
	}

	// The remote-disable editor previews which versions a rule blocks, then saves it.
	step(t, ctx, "remote disable", chromedp.Navigate(d.URL+"/console/remote-disable?app=Wallet&env=android"), chromedp.WaitVisible("#rules"))
	step(t, ctx, "edit a rule",
		chromedp.SendKeys("#versions-0", "<2.1.0"),
		chromedp.SendKeys("#message-0", "Please update the wallet"),
		chromedp.Clear("#preview-versions"),
		chromedp.SendKeys("#preview-versions", "2.0.0, 2.1.0, 2.0.5-beta"),
		chromedp.WaitVisible(`#preview-table tr[data-version="2.0.5-beta"][data-action="block"]`),
	)
	for version, action := range map[string]string{"2.0.0": "block", "2.1.0": "allow", "2.0.5-beta": "block"} {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#preview-table tr[data-version="`+version+`"][data-action="`+action+`"]').length`))
		if err != nil || n != 1 {
			t.Errorf("the preview does not show %s as %s (%d, %v)", version, action, n, err)
		}
	}
	screenshot(t, ctx, shots, "remote-disable", true)
	if _, err := walletClient(t, d, &ks, "2.0.0").Init(bg); err != nil {
		t.Fatalf("a preview changed the rules: %v", err)
	}
	step(t, ctx, "save the rules", chromedp.Click("#save-rules"), chromedp.WaitVisible("p.flash"))
	if _, err := walletClient(t, d, &ks, "2.0.0").Init(bg); !isDisabled(err) {
		t.Errorf("version 2.0.0 after the rule: %v, want the application disabled", err)
	}
	if _, err := walletClient(t, d, &ks, "2.1.0").Init(bg); err != nil {
		t.Errorf("version 2.1.0 after the rule: %v", err)
	}

	step(t, ctx, "audit", chromedp.Navigate(d.URL+"/console/audit"), chromedp.WaitVisible("#audit"))
	if got := text(t, ctx, "#audit"); strings.Count(got, "console:admin") != 4 {
		t.Errorf("the audit page shows:\n%s", got)
	}
	screenshot(t, ctx, shots, "audit", false)

	// Signed out, no page is open.
	step(t, ctx, "sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#token"))
	step(t, ctx, "devices signed out", chromedp.Navigate(d.URL+"/console/devices"), chromedp.WaitVisible("#token"))
	if got := text(t, ctx, "body"); strings.Contains(got, deviceID) {
		t.Error("the devices page shows devices after sign-out")
	}
}

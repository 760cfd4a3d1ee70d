package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
)

// pluginBankProject is the banking example with its wasm Accounts adapter replaced by a
// go-plugin adapter, Payments, built from testdata/payplugin with the plugin SDK and pinned by
// its SHA-256. The example's step-up policy (policies/transfers.rego) requires the PIN realm for
// any procedure paying more than 1000, reading parameters by their exact names.
func pluginBankProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "adapters", "Accounts")); err != nil {
		t.Fatal(err)
	}
	inputs := []string{"testdata/payplugin/main.go", "../go.mod", "../go.sum"}
	for _, pattern := range []string{"../plugins/*.go", "../plugins/*/*.go", "../plugins/*/*/*.go", "../plugins/*/*/*/*.go", "../adapters/*.go", "../internal/*/*.go"} {
		files, _ := filepath.Glob(pattern)
		inputs = append(inputs, files...)
	}
	plugin := adaptertest.CachedBuild(t, "payplugin", inputs, "", func(out string) error {
		if b, err := exec.Command("go", "build", "-o", out, "./testdata/payplugin").CombinedOutput(); err != nil {
			return errors.New(string(b))
		}
		return nil
	})
	bin := filepath.Join(dir, "adapters", "Payments", "payplugin")
	copyFile(t, plugin, bin)
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(dir, "adapters", "Payments", "Payments.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="Payments" xmlns:wl="http://www.ibm.com/mfp/integration">
	<displayName>Payments</displayName>
	<backend kind="plugin" command="./payplugin" sha256="`+fileSHA256(t, bin)+`"/>
	<procedure name="payBill"/>
</wl:adapter>
`)
	return dir
}

// TestPluginStepUpCannotBeDodgedByParameterSpelling: the step-up policy reads
// input.request.parameters by exact member names; a go-plugin adapter written with the plugin
// SDK's typed helper must read the very same members, whatever case a client spells them in.
// A member that resembles a field only by case is refused by the plugin (adapter_bad_input), a
// member that resembles nothing is not the field (the payment has no amount), and only the exact
// spelling pays, after the PIN.
func TestPluginStepUpCannotBeDodgedByParameterSpelling(t *testing.T) {
	d := startDaemon(t, pluginBankProject(t), "")
	ctx := context.Background()
	pins := 0
	pinClient := func() *client.Client {
		c := newClient(t, d, "android", "2.1.0")
		c.RegisterHandler("PinRealm", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
			pins++
			return client.Credentials{Username: "alice", Password: "1234"}, nil
		}})
		return c
	}
	c := pinClient()
	if out, err := c.InvokeProcedure(ctx, "Payments", "payBill", map[string]any{"amount": 50, "payee": "power"}); err != nil || !strings.Contains(string(out), `"paid":50`) {
		t.Fatalf("small bill: %s %v", out, err)
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
		msg    string
	}{
		{"capitalised", `{"parameters":[{"Amount":5000,"payee":"rent"}]}`, 400, "adapter_bad_input",
			`parameters[0]: unknown member "Amount" (member names are case-sensitive: the field is "amount")`},
		{"upper case", `{"parameters":[{"AMOUNT":5000,"payee":"rent"}]}`, 400, "adapter_bad_input", `unknown member "AMOUNT"`},
		{"escaped capital", `{"parameters":[{"\u0041mount":5000,"payee":"rent"}]}`, 400, "adapter_bad_input", `unknown member "Amount"`},
		// The policy saw the amount: the client gives the PIN, then the plugin refuses "Payee".
		{"payee capitalised", `{"parameters":[{"amount":5000,"Payee":"rent"}]}`, 400, "adapter_bad_input", `unknown member "Payee"`},
		{"full-width", `{"parameters":[{"ａｍｏｕｎｔ":5000,"payee":"rent"}]}`, 500, "adapter_failure", "amount must be positive"},
		{"case pair", `{"parameters":[{"amount":1,"Amount":5000,"payee":"rent"}]}`, 400, "bad_request", ""},
		{"repeated", `{"parameters":[{"amount":5000,"amount":1,"payee":"rent"}]}`, 400, "bad_request", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := pins
			req, _ := http.NewRequestWithContext(ctx, "POST", "/api/v1/adapters/Payments/payBill", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"paid":5000`) && pins == before {
				t.Fatalf("paid 5000 without the PIN: %d %s", resp.StatusCode, b)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tc.status, tc.code)
			}
			var got struct{ Error, Message string }
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if got.Error != tc.code || !strings.Contains(got.Message, tc.msg) {
				t.Errorf("%s, want %s with a message holding %q", b, tc.code, tc.msg)
			}
		})
	}
	// Spelled exactly, the large payment asks for the PIN once and goes through.
	before := pins
	c = pinClient()
	out, err := c.InvokeProcedure(ctx, "Payments", "payBill", map[string]any{"amount": 5000, "payee": "rent"})
	if err != nil || !strings.Contains(string(out), `"paid":5000`) || pins != before+1 {
		t.Errorf("large bill: %s %v, PIN asked %d times, want once", out, err, pins-before)
	}
}

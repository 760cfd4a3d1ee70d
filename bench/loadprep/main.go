// Command loadprep prepares a load test against a running hostd: it signs in to the example
// project as alice (walking the challenges with the Go client), obtains an access token, and prints
// shell assignments for the load script: the session cookie, the anti-XSRF header, the token, and
// the policy input of the protected request, for OPA's own server.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/policies"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:10080", "hostd URL")
	flag.Parse()
	if err := run(*base); err != nil {
		fmt.Fprintln(os.Stderr, "loadprep:", err)
		os.Exit(1)
	}
}

// recorder remembers the headers of the last request the client sent.
type recorder struct{ last http.Header }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.last = req.Header.Clone()
	return http.DefaultTransport.RoundTrip(req)
}

func run(base string) error {
	rec := &recorder{}
	c, err := client.New(client.Config{BaseURL: base, AppID: "BankApp", Environment: "mobilewebapp", AppVersion: "2.1.0",
		HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		return err
	}
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	ctx := context.Background()
	if _, err := c.Init(ctx); err != nil {
		return err
	}
	if _, err := c.Init(ctx); err != nil { // the last request is a plain, passing one
		return err
	}
	cookie, xsrf := rec.last.Get("Cookie"), rec.last.Get("WL-Instance-Id")
	tok, err := c.ObtainAccessToken(ctx, "webTests")
	if err != nil {
		return err
	}
	// The input the daemon gives the policy for that request, in the JSON form OPA's server reads.
	input, _ := json.Marshal(map[string]any{"input": policies.Input{
		Test: "webTests", Passed: []string{"BankLogin", "wl_antiXSRFRealm"},
		App:      policies.App{ID: "BankApp", Env: "mobilewebapp", Version: "2.1.0"},
		Resource: policies.Resource{Kind: "app", Name: "BankApp/mobilewebapp", Attributes: map[string]any{"app": "BankApp", "env": "mobilewebapp"}},
		Request:  map[string]any{"method": "POST", "path": "/api/v1/apps/BankApp/mobilewebapp/init"},
	}})
	fmt.Printf("COOKIE='%s'\nXSRF='%s'\nTOKEN='%s'\nOPA_INPUT='%s'\n", cookie, xsrf, tok.Value, input)
	return nil
}

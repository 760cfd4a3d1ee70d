package resource_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/resource"
)

// A resource server's endpoint that needs a token of scope mobileTests. The tokens come from the
// daemon (here a test daemon on the banking example), obtained by an app with the client SDK.
func Example() {
	hostd, err := hostdtest.Launch("../examples/banking", hostdtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer hostd.Close()

	v, err := resource.New(resource.Config{JWKSURL: hostd.JWKSURL, Issuer: hostd.Issuer})
	if err != nil {
		log.Fatal(err)
	}
	accounts := v.Require("mobileTests")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := resource.ClientFromContext(r.Context())
		fmt.Fprintf(w, "accounts of %s on %s", c.UserID, c.DeviceID)
	}))
	srv := httptest.NewServer(accounts)
	defer srv.Close()

	// The app signs in and obtains a token of each scope.
	app, err := client.New(client.Config{BaseURL: hostd.URL, AppID: "BankApp", Environment: "android", AppVersion: "2.1.0",
		Device: &client.DeviceInfo{ID: "d-1", OS: "android"}})
	if err != nil {
		log.Fatal(err)
	}
	app.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	token := func(scope string) string {
		t, err := app.ObtainAccessToken(context.Background(), scope)
		if err != nil {
			log.Fatal(err)
		}
		return t.Value
	}
	web, mobile := token("webTests"), token("mobileTests")
	// A token whose claims were altered after signing.
	i := strings.IndexByte(mobile, '.') + 10
	forged := mobile[:i] + map[bool]string{true: "A", false: "B"}[mobile[i] != 'A'] + mobile[i+1:]

	call := func(token string) {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	call("")
	call(web)
	call(forged)
	call(mobile)
	// Output:
	// 401 Bearer scope="mobileTests"
	// 403 Bearer scope="mobileTests", error="insufficient_scope"
	// 401 Bearer scope="mobileTests", error="invalid_token", error_description="The access token is invalid"
	// 200
}

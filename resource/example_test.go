package resource_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/realmgate/realmgate/resource"
	"github.com/realmgate/realmgate/resource/resourcetest"
)

// A resource server's endpoint that needs a token of scope mobileTests. resourcetest stands in
// for hostd: it publishes a JWKS and mints tokens as hostd does.
func Example() {
	issuer, err := resourcetest.Start(resourcetest.ES256)
	if err != nil {
		log.Fatal(err)
	}
	defer issuer.Close()

	v, err := resource.New(resource.Config{JWKSURL: issuer.JWKSURL, Issuer: issuer.URL})
	if err != nil {
		log.Fatal(err)
	}
	accounts := v.Require("mobileTests")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := resource.ClientFromContext(r.Context())
		fmt.Fprintf(w, "accounts of %s on %s", c.UserID, c.DeviceID)
	}))
	srv := httptest.NewServer(accounts)
	defer srv.Close()

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
	call(issuer.Mint(resourcetest.Claims{Scope: "webTests", UserID: "alice"}))
	call(issuer.Mint(resourcetest.Claims{Scope: "mobileTests", UserID: "alice", DeviceID: "d-1"}, resourcetest.Expired))
	call(issuer.Mint(resourcetest.Claims{Scope: "mobileTests", UserID: "alice", DeviceID: "d-1"}))
	// Output:
	// 401 Bearer scope="mobileTests"
	// 403 Bearer scope="mobileTests", error="insufficient_scope"
	// 401 Bearer scope="mobileTests", error="invalid_token", error_description="The access token expired"
	// 200
}

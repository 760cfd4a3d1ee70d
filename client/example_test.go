package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/client/clienttest"
)

// A two-step security test: anti-XSRF and the device first, then a form login. The login
// callback is asked once per attempt and sees why the previous one failed.
func Example() {
	srv, err := clienttest.Start(clienttest.Config{
		App: "BankApp",
		Tests: map[string][][]string{
			"mobileTest": {{client.RealmAntiXSRF, client.RealmDeviceNoProvisioning}, {"AccountsRealm"}},
		},
		Procedures: map[string]clienttest.Procedure{
			"Accounts/getBalance": {SecurityTest: "mobileTest", Run: func(params []json.RawMessage) (any, error) {
				return map[string]any{"account": params[0], "balance": 42}, nil
			}},
		},
		Login: map[string]clienttest.LoginRealm{
			"AccountsRealm": {Authenticator: "form", Users: map[string]string{"alice": "s3cret"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	c, err := client.New(client.Config{
		BaseURL: srv.URL, AppID: "BankApp", Environment: "android", AppVersion: "2.1.0",
		Device: &client.DeviceInfo{ID: "d-1", OS: "android", Model: "Pixel 9", DisplayName: "Alice's phone"},
	})
	if err != nil {
		log.Fatal(err)
	}
	passwords := []string{"guess", "s3cret"}
	c.RegisterHandler("AccountsRealm", &client.LoginHandler{
		Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
			fmt.Printf("login %d for %s %q\n", p.Attempt, p.Realm, p.Error)
			return client.Credentials{Username: "alice", Password: passwords[p.Attempt-1]}, nil
		},
	})

	balance, err := c.InvokeProcedure(context.Background(), "Accounts", "getBalance", "ACC-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(balance))
	fmt.Println("user:", c.Identities()["AccountsRealm"]["userId"])
	fmt.Println("device:", c.Identities()[client.RealmDeviceNoProvisioning]["displayName"])
	// Output:
	// login 1 for AccountsRealm ""
	// login 2 for AccountsRealm "wrong user name or password"
	// {"account":"ACC-1","balance":42}
	// user: alice
	// device: Alice's phone
}

// A version blocked by remote disable fails every call with ErrApplicationDisabled; the error
// carries the administrator's message and where to get an update.
func ExampleError() {
	srv, err := clienttest.Start(clienttest.Config{
		RemoteDisable: &clienttest.Rule{Action: "block", Versions: []string{"1.0"},
			Message: "This version is retired.", DownloadLink: "https://apps.example.com/sample"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := client.New(client.Config{BaseURL: srv.URL, AppID: "sample", Environment: "android", AppVersion: "1.0"})
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Session(context.Background())
	var e *client.Error
	if errors.Is(err, client.ErrApplicationDisabled) && errors.As(err, &e) {
		fmt.Println(e.Message, e.DownloadLink)
	}
	// Output:
	// This version is retired. https://apps.example.com/sample
}

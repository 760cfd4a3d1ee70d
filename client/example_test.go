package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

// The example project's mobile test (examples/banking, served by a real daemon): anti-XSRF and
// remote disable, then the device, then a form login. The login callback is asked once per
// attempt and sees why the previous one failed.
func Example() {
	srv, err := hostdtest.Launch("../examples/banking", hostdtest.Options{})
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
	passwords := []string{"guess", "alice-password"}
	c.RegisterHandler("BankLogin", &client.LoginHandler{
		Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
			fmt.Printf("login %d for %s %q\n", p.Attempt, p.Realm, p.Error)
			return client.Credentials{Username: "alice", Password: passwords[p.Attempt-1]}, nil
		},
	})

	balance, err := c.InvokeProcedure(context.Background(), "Accounts", "getBalance")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(balance))
	fmt.Println("user:", c.Identities()["BankLogin"]["userId"])
	fmt.Println("device:", c.Identities()[client.RealmDeviceNoProvisioning]["displayName"])
	// Output:
	// login 1 for BankLogin ""
	// login 2 for BankLogin "wrong user name or password"
	// {"balance":1180.4,"currency":"EUR","user":"alice"}
	// user: alice
	// device: Alice's phone
}

// A version blocked by remote disable fails every call with ErrApplicationDisabled; the error
// carries the administrator's message and where to get an update.
func ExampleError() {
	srv, err := hostdtest.Launch("../examples/banking", hostdtest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	// The administrator blocks the versions before 2.0.0 (PUT .../remote-disable).
	rules := map[string]any{"rules": []map[string]string{{"versions": "<2.0.0", "action": "block",
		"message": "This version is retired.", "downloadLink": "https://apps.example.com/bank"}}}
	if status, err := srv.Admin("PUT", "/admin/v1/apps/BankApp/android/remote-disable", rules, nil); err != nil || status != 200 {
		log.Fatal(status, err)
	}
	c, err := client.New(client.Config{BaseURL: srv.URL, AppID: "BankApp", Environment: "android", AppVersion: "1.0"})
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Init(context.Background())
	var e *client.Error
	if errors.Is(err, client.ErrApplicationDisabled) && errors.As(err, &e) {
		fmt.Println(e.Message, e.DownloadLink)
	}
	// Output:
	// This version is retired. https://apps.example.com/bank
}

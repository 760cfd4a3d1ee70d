package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/client/clienttest"
)

// A device provisioned once signs in with its certificate from then on: the keystore directory
// outlives the client.
func ExampleDirKeystore() {
	srv, err := clienttest.Start(clienttest.Config{
		App:   "BankApp",
		Tests: map[string][][]string{"mobileTest": {{client.RealmAntiXSRF, client.RealmDeviceAutoProvisioning}}},
		Procedures: map[string]clienttest.Procedure{
			"Accounts/ping": {SecurityTest: "mobileTest"},
		},
		Provisioning: map[string]clienttest.ProvisioningRealm{client.RealmDeviceAutoProvisioning: {Entity: "application"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	dir, err := os.MkdirTemp("", "keystore")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	for run := 1; run <= 2; run++ {
		c, err := client.New(client.Config{
			BaseURL: srv.URL, AppID: "BankApp", Environment: "android", AppVersion: "2.1.0",
			Device:   &client.DeviceInfo{ID: "d-1", OS: "android", Model: "Pixel 9"},
			Keystore: client.DirKeystore(dir),
		})
		if err != nil {
			log.Fatal(err)
		}
		// The procedure has no implementation yet: a 501 once the security test passed.
		_, err = c.InvokeProcedure(context.Background(), "Accounts", "ping")
		fmt.Printf("run %d: %v\n", run, err)
		fmt.Printf("run %d: %d certificate(s) issued, device %v\n", run, len(srv.Certificates()), c.Identities()[client.RealmDeviceAutoProvisioning]["id"])
	}
	cred, err := client.DirKeystore(dir).Load("application:BankApp")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cred.Leaf().Subject)
	// Output:
	// run 1: realmgate: 501 not_implemented: adapter procedures are not available yet
	// run 1: 1 certificate(s) issued, device d-1
	// run 2: realmgate: 501 not_implemented: adapter procedures are not available yet
	// run 2: 1 certificate(s) issued, device d-1
	// CN=d-1
}

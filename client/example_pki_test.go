package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

// A device provisioned once signs in with its certificate from then on: the keystore directory
// outlives the client. (testdata/devices: the app's init is protected by a provisioning realm of
// the project, which the client answers with its provisioning handler.)
func ExampleDirKeystore() {
	srv, err := hostdtest.Launch("testdata/devices", hostdtest.Options{})
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
			BaseURL: srv.URL, AppID: "sample", Environment: "android", AppVersion: "1.0",
			Device:   &client.DeviceInfo{ID: "d-1", OS: "android", Model: "Pixel 9"},
			Keystore: client.DirKeystore(dir),
		})
		if err != nil {
			log.Fatal(err)
		}
		c.RegisterHandler("DeviceProvisioning", c.ProvisioningHandler())
		res, err := c.Init(context.Background())
		if err != nil {
			log.Fatal(err)
		}
		// The administrator's list of the certificates the daemon issued.
		var issued struct{ Certificates []struct{ Serial string } }
		if _, err := srv.Admin("GET", "/admin/v1/certificates", nil, &issued); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: %d certificate(s) issued, device %v\n", run, len(issued.Certificates), res.Device["id"])
	}
	cred, err := client.DirKeystore(dir).Load("device")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cred.Leaf().Subject)
	// Output:
	// run 1: 1 certificate(s) issued, device d-1
	// run 2: 1 certificate(s) issued, device d-1
	// CN=d-1,O=device
}

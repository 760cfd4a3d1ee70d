package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/sqlite"
)

func Example() {
	dir, err := os.MkdirTemp("", "realmgate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "realmgate.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	// A nonce issued with a challenge is good for one answer, from one session, for one realm.
	err = db.PutNonce(ctx, store.Nonce{Value: "c0ffee", SessionID: "s1", Realm: "wl_deviceAutoProvisioningRealm", ExpiresAt: now.Add(time.Minute)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(db.ConsumeNonce(ctx, "c0ffee", "s1", "wl_deviceAutoProvisioningRealm", now))
	fmt.Println(db.ConsumeNonce(ctx, "c0ffee", "s1", "wl_deviceAutoProvisioningRealm", now))
	// Output:
	// <nil>
	// store: not found
}

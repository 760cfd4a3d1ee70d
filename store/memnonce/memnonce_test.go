package memnonce_test

import (
	"context"
	"testing"
	"time"

	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/memnonce"
	"github.com/realmgate/realmgate/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunNonces(t, func(t *testing.T) store.Nonces { return memnonce.New() })
}

func TestDeleteExpiredFreesMemory(t *testing.T) {
	n := memnonce.New()
	ctx := context.Background()
	now := time.Now()
	for i := range 1000 {
		exp := now.Add(-time.Second)
		if i%10 == 0 {
			exp = now.Add(time.Minute)
		}
		if err := n.PutNonce(ctx, store.Nonce{Value: string(rune('a'+i%26)) + time.Duration(i).String(), SessionID: "s", Realm: "r", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.Len(); got != 1000 {
		t.Fatalf("Len before = %d, want 1000", got)
	}
	deleted, err := n.DeleteExpiredNonces(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 900 || n.Len() != 100 {
		t.Errorf("deleted %d, kept %d; want 900 and 100", deleted, n.Len())
	}
}

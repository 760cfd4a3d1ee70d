package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/realmgate/realmgate/store"
)

// TestUpdateAloneAndQueuedCloseRace: units run by their callers (the committer idle) and units
// queued for the committer commit alike, and a Close racing with them loses none: every Update
// that returned nil is in the database once it is opened again, every other one returned
// ErrClosed (or failed on the store going away) and, with a failing unit among them, the
// failing one alone is rolled back.
func TestUpdateAloneAndQueuedCloseRace(t *testing.T) {
	for _, queueOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("queueOnly=%v", queueOnly), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "units.db")
			s, err := Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			s.queueOnly = queueOnly
			ctx := context.Background()
			errFail := errors.New("this unit fails")
			const n = 400
			results := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					results[i] = s.Update(ctx, func(tx store.Tx) error {
						if err := tx.PutSession(ctx, benchSession(fmt.Sprint("unit-", i))); err != nil {
							return err
						}
						if i%10 == 0 {
							return errFail
						}
						return nil
					})
				})
				if i == n/2 {
					wg.Go(func() { s.Close() })
				}
			}
			wg.Wait()
			s.Close()
			if err := s.Update(ctx, func(store.Tx) error { return nil }); !errors.Is(err, ErrClosed) {
				t.Errorf("Update after Close: %v, want ErrClosed", err)
			}
			s, err = Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			committed := 0
			for i, res := range results {
				_, gerr := s.GetSession(ctx, fmt.Sprint("unit-", i), benchNow)
				switch {
				case res == nil:
					committed++
					if gerr != nil {
						t.Errorf("unit %d returned nil but its session is not stored: %v", i, gerr)
					}
				case i%10 == 0 && errors.Is(res, errFail):
					if gerr == nil {
						t.Errorf("unit %d failed but its session is stored", i)
					}
				case errors.Is(res, ErrClosed):
					if gerr == nil {
						t.Errorf("unit %d returned ErrClosed but its session is stored", i)
					}
				default:
					t.Errorf("unit %d: %v", i, res)
				}
			}
			if committed == 0 {
				t.Error("no unit committed before Close")
			}
		})
	}
}

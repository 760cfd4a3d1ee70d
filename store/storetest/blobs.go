package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/realmgate/realmgate/store"
)

var blobTests = []test{
	{"MissingIsNotFound", func(t *testing.T, s store.Store) {
		_, _, err := s.GetBlob(context.Background(), "nothing")
		wantErr(t, "get of a blob never written", err, store.ErrNotFound)
	}},
	{"VersionsGrowByOne", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		v, err := s.PutBlob(ctx, "set", []byte("one"), 0)
		must(t, "first put", err)
		diff(t, "first version", int64(1), v)
		v, err = s.PutBlob(ctx, "set", []byte("two\x00bytes"), v)
		must(t, "second put", err)
		diff(t, "second version", int64(2), v)
		data, v, err := s.GetBlob(ctx, "set")
		must(t, "get", err)
		diff(t, "data", "two\x00bytes", string(data))
		diff(t, "version", int64(2), v)
		// Other names are other records.
		v, err = s.PutBlob(ctx, "other", nil, 0)
		must(t, "put of another name", err)
		diff(t, "another name's first version", int64(1), v)
		data, _, err = s.GetBlob(ctx, "other")
		must(t, "get empty", err)
		diff(t, "empty data", 0, len(data))
	}},
	{"StaleVersionConflicts", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		_, err := s.PutBlob(ctx, "set", []byte("a"), 0)
		must(t, "first put", err)
		_, err = s.PutBlob(ctx, "set", []byte("b"), 0)
		wantErr(t, "a second create", err, store.ErrConflict)
		_, err = s.PutBlob(ctx, "set", []byte("b"), 2)
		wantErr(t, "a put at a version not reached", err, store.ErrConflict)
		_, err = s.PutBlob(ctx, "missing", []byte("b"), 1)
		wantErr(t, "an update of a missing blob", err, store.ErrConflict)
		data, v, err := s.GetBlob(ctx, "set")
		must(t, "get", err)
		diff(t, "data after refused puts", "a", string(data))
		diff(t, "version after refused puts", int64(1), v)
		_, err = s.PutBlob(ctx, "", []byte("x"), 0)
		wantErr(t, "an empty name", err, store.ErrInvalid)
	}},
	{"ConcurrentWritersOneWins", func(t *testing.T, s store.Store) {
		ctx := context.Background()
		_, err := s.PutBlob(ctx, "set", []byte("start"), 0)
		must(t, "first put", err)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := s.PutBlob(ctx, "set", []byte("mine"), 1)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, store.ErrConflict):
					t.Errorf("a losing writer: %v, want ErrConflict", err)
				}
			})
		}
		wg.Wait()
		diff(t, "writers that won from one version", int32(1), wins.Load())
	}},
}

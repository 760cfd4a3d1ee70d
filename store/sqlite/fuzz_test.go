package sqlite

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/realmgate/realmgate/store"
)

// FuzzAuditDetail feeds arbitrary bytes as an audit Detail. The store must accept exactly the
// JSON objects (as encoding/json reads them; an empty Detail is "none") and refuse the rest with
// store.ErrInvalid, never with another error (which would mean SQLite's CHECK and the Go
// validation disagree), and give back what it accepted byte for byte.
func FuzzAuditDetail(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `{"a":1}`, ` {"a":[1,2,{"b":null}]} `, `[]`, `null`, `"s"`, `1e999`, `{"a":1}{}`,
		`{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `{"a":1,}`, `{'a':1}`, `{a:1}`, "\ufeff{}", `{"a":0x10}`,
		`{"a":NaN}`, `{"a":Infinity}`, "{\"a\":1}\n", "{\"a\":\"\x00\"}", `{"":{"":{"":[[[[[]]]]]}}}`,
	} {
		f.Add([]byte(seed))
	}
	s, err := Open(f.Context(), Memory)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })

	f.Fuzz(func(t *testing.T, detail []byte) {
		ctx := t.Context()
		var v any
		isObject := len(detail) == 0 || (json.Unmarshal(detail, &v) == nil && isMap(v))
		id, err := s.AppendAudit(ctx, store.AuditRecord{Actor: "fuzz", Action: "fuzz", Detail: detail})
		switch {
		case isObject && err != nil:
			t.Fatalf("AppendAudit refused the JSON object %q: %v", detail, err)
		case !isObject && err == nil:
			t.Fatalf("AppendAudit accepted %q, which is not a JSON object", detail)
		case !isObject && !errors.Is(err, store.ErrInvalid):
			t.Fatalf("AppendAudit of %q: %v, want store.ErrInvalid", detail, err)
		case !isObject:
			return
		}
		recs, err := s.ListAudit(ctx, id-1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].ID != id || !bytes.Equal(recs[0].Detail, detail) {
			t.Fatalf("stored %q as id %d, read back %+v", detail, id, recs)
		}
	})
}

func isMap(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

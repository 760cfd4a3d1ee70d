package postgres

import (
	"context"

	"github.com/realmgate/realmgate/store"
)

// GetBlob implements store.Blobs.
func (s *Store) GetBlob(ctx context.Context, name string) ([]byte, int64, error) {
	var data []byte
	var version int64
	if err := s.queryRow(ctx, "get blob", `SELECT data, version FROM blobs WHERE name = $1`, []any{b(name)}, &data, &version); err != nil {
		return nil, 0, err
	}
	return data, version, nil
}

// PutBlob implements store.Blobs: an insert when expect is 0, else an update guarded by the
// version, so that of two writers that read one version only the first lands.
func (s *Store) PutBlob(ctx context.Context, name string, data []byte, expect int64) (int64, error) {
	if name == "" {
		return 0, invalid("empty blob name")
	}
	if data == nil {
		data = []byte{} // bytea NOT NULL: no data is the empty value
	}
	var n int64
	var err error
	if expect == 0 {
		n, err = s.exec(ctx, "put blob", `INSERT INTO blobs (name, version, data, updated_at) VALUES ($1, 1, $2, now())
			ON CONFLICT (name) DO NOTHING`, b(name), data)
	} else {
		n, err = s.exec(ctx, "put blob", `UPDATE blobs SET version = version + 1, data = $2, updated_at = now()
			WHERE name = $1 AND version = $3`, b(name), data, expect)
	}
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, store.ErrConflict
	}
	return expect + 1, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/realmgate/realmgate/store"
)

// GetBlob implements store.Blobs.
func (s *Store) GetBlob(ctx context.Context, name string) ([]byte, int64, error) {
	var data []byte
	var version int64
	err := s.r.QueryRowContext(ctx, `SELECT data, version FROM blobs WHERE name = ?`, name).Scan(&data, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, store.ErrNotFound
	}
	if err != nil {
		return nil, 0, wrap("get blob", err)
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
		data = []byte{}
	}
	now := time.Now().UnixMicro()
	var res sql.Result
	var err error
	if expect == 0 {
		res, err = s.w.ExecContext(ctx, `INSERT INTO blobs (name, version, data, updated_at) VALUES (?, 1, ?, ?)
			ON CONFLICT (name) DO NOTHING`, name, data, now)
	} else {
		res, err = s.w.ExecContext(ctx, `UPDATE blobs SET version = version + 1, data = ?, updated_at = ?
			WHERE name = ? AND version = ?`, data, now, name, expect)
	}
	if err != nil {
		return 0, wrap("put blob", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, wrap("put blob", err)
	} else if n == 0 {
		return 0, store.ErrConflict
	}
	return expect + 1, nil
}

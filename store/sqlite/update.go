package sqlite

import (
	"context"
	"errors"

	"github.com/realmgate/realmgate/store"
)

// errNoUnits is Update's answer until this store runs units of work.
var errNoUnits = errors.New("sqlite: units of work are not supported by this store yet")

// Update implements store.Updater by refusing: it runs nothing and writes nothing, so that no
// caller believes writes atomic that are not.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return errNoUnits
}

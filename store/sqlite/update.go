package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/realmgate/realmgate/store"
)

// access runs the record methods either on the store's connections (tx nil: reads on the
// readers, each write its own commit on the writer) or inside a unit of work (tx set: every
// statement in the batch's transaction, so reads see the unit's own writes).
type access struct {
	// st holds the statements of this access: outside a unit, reads prepared on the readers
	// and writes on the writer; inside one, all of them prepared on the writer.
	st *statements
	w  *sql.DB
	tx *sql.Tx
}

var _ store.Tx = (*access)(nil)

// q returns st to run on this access: as it is, or bound to the unit's transaction.
func (a *access) q(st *sql.Stmt) *sql.Stmt {
	if a.tx == nil {
		return st
	}
	return a.tx.Stmt(st)
}

// c returns the context a statement runs with. Inside a unit it is one that is never
// cancelled: SQLite answers an interrupted write inside a transaction by rolling the whole
// transaction back, which would take the other units of the batch with it. The unit's own
// context is checked before and after its function runs instead (Update).
func (a *access) c(ctx context.Context) context.Context {
	if a.tx == nil {
		return ctx
	}
	return context.Background()
}

// maxBatch bounds the units one commit carries, so that a flood of them still answers the
// first ones after a bounded time.
const maxBatch = 128

// ErrClosed is returned by Update on a closed store.
var ErrClosed = errors.New("sqlite: store closed")

// unit is one call of Update waiting for the committer.
type unit struct {
	ctx context.Context
	fn  func(store.Tx) error
	// state is unitQueued until the committer takes the unit (unitTaken) or its caller gives
	// up on it (unitAbandoned), whichever comes first.
	state atomic.Int32
	done  chan error
	// panicked is what fn panicked with; the caller panics again with it.
	panicked any
}

const (
	unitQueued int32 = iota
	unitTaken
	unitAbandoned
)

// Update implements store.Updater with group commit: one committer goroutine takes the units
// waiting when it is free, runs each inside its own SAVEPOINT of one transaction and commits
// the transaction once, then answers each unit. A unit whose fn fails is rolled back to its
// savepoint alone; the others commit. So under load one commit (one write(2) of the WAL, no
// fsync at the default durability) carries many requests, and a single request waits for one
// commit at most after the one in progress.
//
// When no batch is running the caller runs its unit itself, as a batch of one, instead of
// handing it to the committer goroutine and waiting to be woken: a request that does not queue
// is spared two goroutine hand-offs (one to the committer, one back), which on a machine whose
// threads went idle during the request (waiting on a directory or a client) cost more than the
// unit's statements. Batches, the committer's or a caller's, run one at a time (running).
//
// A ctx done before the committer takes the unit abandons it (nothing is written); once taken,
// the unit runs to its end and Update returns its result, so that nil always means committed.
// A ctx done while fn runs rolls the unit back.
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return wrap("update", err)
	}
	u := &unit{ctx: ctx, fn: fn, done: make(chan error, 1)}
	if !s.queueOnly && s.running.TryLock() {
		return s.runAlone(u)
	}
	select {
	case s.units <- u:
	case <-ctx.Done():
		return wrap("update", ctx.Err())
	case <-s.closing:
		return ErrClosed
	}
	var err error
	select {
	case err = <-u.done:
	case <-ctx.Done():
		if u.state.CompareAndSwap(unitQueued, unitAbandoned) {
			return wrap("update", ctx.Err())
		}
		err = <-u.done
	}
	if u.panicked != nil {
		panic(u.panicked)
	}
	return err
}

// commitLoop is the committer: it runs batches of units until Close.
func (s *Store) commitLoop() {
	defer close(s.loopDone)
	batch := make([]*unit, 0, maxBatch)
	for {
		select {
		case u := <-s.units:
			batch = append(batch[:0], u)
		case <-s.closing:
			return
		}
		// Units that arrive while a caller runs its own batch queue behind this one.
		s.running.Lock()
	drain:
		for len(batch) < maxBatch {
			select {
			case u := <-s.units:
				batch = append(batch, u)
			default:
				break drain
			}
		}
		s.runBatch(batch)
		s.running.Unlock()
		clear(batch)
	}
}

// runAlone runs u as a batch of one on the caller's goroutine; the caller holds running.
func (s *Store) runAlone(u *unit) error {
	select {
	case <-s.closing:
		s.running.Unlock()
		return ErrClosed
	default:
	}
	func() {
		defer s.running.Unlock()
		s.runBatch([]*unit{u})
	}()
	err := <-u.done
	if u.panicked != nil {
		panic(u.panicked)
	}
	return err
}

// runBatch runs the units of batch in one transaction and answers each.
func (s *Store) runBatch(batch []*unit) {
	results := make([]error, len(batch))
	taken := make([]bool, len(batch))
	for i, u := range batch {
		taken[i] = u.state.CompareAndSwap(unitQueued, unitTaken)
	}
	answer := func() {
		for i, u := range batch {
			if taken[i] {
				u.done <- results[i]
			}
		}
	}
	// failAll answers every unit with err: the transaction is gone, and with it the writes
	// of the units that had succeeded.
	failAll := func(err error) {
		for i := range results {
			results[i] = err
		}
		answer()
	}
	bg := context.Background()
	tx, err := s.w.BeginTx(bg, nil)
	if err != nil {
		failAll(wrap("update: begin", err))
		return
	}
	a := &access{st: &s.wst, w: s.w, tx: tx}
	// A batch of one unit needs no savepoint: should the unit fail, the transaction is rolled
	// back whole (the common case when requests do not queue).
	alone := len(batch) == 1
	if alone && taken[0] {
		u := batch[0]
		err := u.ctx.Err()
		if err != nil {
			err = wrap("update", err)
		} else if err = run(a, u); err == nil && u.ctx.Err() != nil {
			err = wrap("update", u.ctx.Err())
		}
		if err != nil {
			_ = tx.Rollback()
			results[0] = err
			answer()
			return
		}
	}
	for i, u := range batch {
		if alone || !taken[i] {
			continue
		}
		if err := u.ctx.Err(); err != nil {
			results[i] = wrap("update", err)
			continue
		}
		if _, err := tx.ExecContext(bg, "SAVEPOINT unit"); err != nil {
			_ = tx.Rollback()
			failAll(wrap("update: savepoint", err))
			return
		}
		err := run(a, u)
		if err == nil && u.ctx.Err() != nil {
			err = wrap("update", u.ctx.Err())
		}
		if err != nil {
			results[i] = err
			if _, rerr := tx.ExecContext(bg, "ROLLBACK TO unit"); rerr != nil {
				_ = tx.Rollback()
				failAll(wrap("update: rollback to savepoint", rerr))
				return
			}
		}
		if _, err := tx.ExecContext(bg, "RELEASE unit"); err != nil {
			_ = tx.Rollback()
			failAll(wrap("update: release savepoint", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		cerr := wrap("update: commit", err)
		for i := range results {
			if results[i] == nil {
				results[i] = cerr
			}
		}
	}
	answer()
}

// run runs u's function on a, turning a panic into an error for the batch and a panic for the
// unit's caller.
func run(a *access, u *unit) (err error) {
	defer func() {
		if p := recover(); p != nil {
			u.panicked = p
			err = fmt.Errorf("sqlite: update: panic: %v", p)
		}
	}()
	if err := u.fn(a); err != nil {
		return fmt.Errorf("sqlite: update: %w", err)
	}
	return nil
}

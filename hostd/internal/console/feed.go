package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/realmgate/realmgate/engine"
)

// Feed is an engine.DecisionSink that hands each decision to the viewers of the console's live
// stream. Each viewer has a buffer of its own; Record never blocks: a decision that finds a
// viewer's buffer full is dropped for that viewer and counted, so a slow browser costs the
// requests nothing.
type Feed struct {
	buffer, maxViewers int

	viewers atomic.Int32 // read without the lock by Record
	mu      sync.Mutex
	subs    map[*viewer]struct{}
}

var _ engine.DecisionSink = (*Feed)(nil)

type viewer struct {
	ch      chan engine.DecisionRecord
	dropped atomic.Int64
}

// ErrTooManyViewers is Subscribe's refusal past the feed's viewers.
var ErrTooManyViewers = errors.New("console: too many viewers of the decision stream")

// NewFeed makes a feed that keeps up to buffer decisions per viewer for up to maxViewers
// viewers at once.
func NewFeed(buffer, maxViewers int) *Feed {
	if buffer < 1 {
		buffer = 1
	}
	return &Feed{buffer: buffer, maxViewers: maxViewers, subs: map[*viewer]struct{}{}}
}

// Record hands d to every viewer whose buffer has room.
func (f *Feed) Record(d engine.DecisionRecord) {
	if f.viewers.Load() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for v := range f.subs {
		select {
		case v.ch <- d:
		default:
			v.dropped.Add(1)
		}
	}
}

// subscribe adds a viewer; cancel removes it.
func (f *Feed) subscribe() (*viewer, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.subs) >= f.maxViewers {
		return nil, nil, ErrTooManyViewers
	}
	v := &viewer{ch: make(chan engine.DecisionRecord, f.buffer)}
	f.subs[v] = struct{}{}
	f.viewers.Add(1)
	return v, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[v]; ok {
			delete(f.subs, v)
			f.viewers.Add(-1)
		}
	}, nil
}

// streamKeepAlive is how often an idle stream sends a comment, so that proxies keep it open.
const streamKeepAlive = 15 * time.Second

// decisionStream serves the decisions as server-sent events: "decision" events carrying the
// decision record as JSON, and "dropped" events carrying how many this viewer lost.
func (c *Console) decisionStream(w http.ResponseWriter, r *http.Request, _ *session) {
	if c.opts.Feed == nil {
		http.Error(w, "this daemon streams no decisions", http.StatusNotFound)
		return
	}
	v, cancel, err := c.opts.Feed.subscribe()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer cancel()
	rc := http.NewResponseController(w)
	// The server's write timeout ends ordinary responses; a stream lives as long as its viewer.
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, ": decisions\n\n")
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(streamKeepAlive)
	defer tick.Stop()
	var reported int64
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case d := <-v.ch:
			b, err := json.Marshal(d)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "event: decision\ndata: %s\n\n", b)
			if n := v.dropped.Load(); n != reported {
				reported = n
				fmt.Fprintf(w, "event: dropped\ndata: %d\n\n", n)
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

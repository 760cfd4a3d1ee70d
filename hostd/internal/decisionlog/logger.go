package decisionlog

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives batches of encoded events, in order. Write is called from the logger's one
// goroutine; an error means the batch was not delivered.
type Sink interface {
	Write(ctx context.Context, batch []json.RawMessage) error
	Close() error
}

// Options configure a Logger.
type Options struct {
	// BatchSize is the most events a Write carries (default 100); a full batch is written at once.
	BatchSize int
	// BufferSize bounds the events waiting for the sink (default 10000): past it the oldest is
	// dropped.
	BufferSize int
	// FlushInterval is how long an event waits at most before it is written in a batch that is
	// not full (default 5s).
	FlushInterval time.Duration
	// Retries are the attempts after a failed Write before the batch is dropped (default 5),
	// with a backoff from RetryBackoff (default 100ms) doubled per attempt, up to 5s.
	Retries      int
	RetryBackoff time.Duration
	// Masks are applied to every event, in order.
	Masks []*MaskRule
	// OnError is told of a write that failed (it is retried) and of an event that does not
	// encode; nil ignores them.
	OnError func(error)
}

// Logger buffers events and writes them to a sink in batches on its own goroutine.
type Logger struct {
	opts Options
	sink Sink

	mu      sync.Mutex
	buf     []Event // ring of cap BufferSize
	head, n int

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closing atomic.Bool

	written, dropped, failed atomic.Uint64
}

// New starts a logger writing to sink.
func New(sink Sink, opts Options) *Logger {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = 10000
	}
	if opts.BufferSize < opts.BatchSize {
		opts.BufferSize = opts.BatchSize
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Second
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 5
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 100 * time.Millisecond
	}
	l := &Logger{opts: opts, sink: sink, buf: make([]Event, opts.BufferSize),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// Log queues an event. It never blocks on the sink: when the buffer is full the oldest event
// is dropped (and counted) to make room.
func (l *Logger) Log(e Event) {
	if l.closing.Load() {
		l.dropped.Add(1)
		return
	}
	l.mu.Lock()
	if l.n == len(l.buf) {
		l.buf[l.head] = Event{}
		l.head = (l.head + 1) % len(l.buf)
		l.n--
		l.dropped.Add(1)
	}
	l.buf[(l.head+l.n)%len(l.buf)] = e
	l.n++
	full := l.n >= l.opts.BatchSize
	l.mu.Unlock()
	if full {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// take removes up to max events from the buffer, oldest first.
func (l *Logger) take(max int) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := min(max, l.n)
	out := make([]Event, k)
	for i := range k {
		out[i] = l.buf[(l.head+i)%len(l.buf)]
		l.buf[(l.head+i)%len(l.buf)] = Event{}
	}
	l.head = (l.head + k) % len(l.buf)
	l.n -= k
	return out
}

func (l *Logger) buffered() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

func (l *Logger) run() {
	defer close(l.done)
	t := time.NewTicker(l.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			l.flush(true)
			return
		case <-l.wake:
			l.flush(false)
		case <-t.C:
			l.flush(true)
		}
	}
}

// flush writes full batches, and the last partial one too when all is set.
func (l *Logger) flush(all bool) {
	for {
		n := l.buffered()
		if n == 0 || (!all && n < l.opts.BatchSize) {
			return
		}
		l.write(l.take(l.opts.BatchSize))
	}
}

// write encodes and delivers one batch, retrying with backoff; a batch that cannot be delivered
// is dropped and counted. While it retries, new events wait in the buffer (and the oldest go when
// it fills): the newest decisions are the ones kept.
func (l *Logger) write(events []Event) {
	batch := make([]json.RawMessage, 0, len(events))
	for i := range events {
		raw, err := encode(&events[i], l.opts.Masks)
		if err != nil {
			l.dropped.Add(1)
			l.report(err)
			continue
		}
		batch = append(batch, raw)
	}
	if len(batch) == 0 {
		return
	}
	wait := l.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := l.sink.Write(ctx, batch)
		cancel()
		if err == nil {
			l.written.Add(uint64(len(batch)))
			return
		}
		l.failed.Add(1)
		l.report(err)
		if attempt >= l.opts.Retries || l.closing.Load() && attempt > 0 {
			l.dropped.Add(uint64(len(batch)))
			return
		}
		select {
		case <-time.After(wait):
		case <-l.stop:
		}
		wait = min(wait*2, 5*time.Second)
	}
}

func (l *Logger) report(err error) {
	if l.opts.OnError != nil {
		l.opts.OnError(err)
	}
}

// Written, Dropped and Failed count the events delivered, the events dropped (buffer full, a
// batch given up after its retries, an event that did not encode) and the failed writes.
func (l *Logger) Written() uint64 { return l.written.Load() }
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }
func (l *Logger) Failed() uint64  { return l.failed.Load() }

// Close writes what is buffered (one attempt more for a failing sink), until ctx is done, and
// closes the sink. Events logged after Close are dropped.
func (l *Logger) Close(ctx context.Context) error {
	if l.closing.Swap(true) {
		return errors.New("decisionlog: closed twice")
	}
	close(l.stop)
	select {
	case <-l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return l.sink.Close()
}

package decisionlog_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/realmgate/realmgate/hostd/internal/decisionlog"
)

func event(i int) decisionlog.Event {
	return decisionlog.Event{
		DecisionID: fmt.Sprintf("id-%03d", i),
		Path:       "realmgate/decision",
		Labels:     map[string]string{"id": "test"},
		Bundles:    map[string]decisionlog.BundleInfo{"realmgate": {Revision: "r1"}},
		Input:      json.RawMessage(fmt.Sprintf(`{"test":"t","request":{"parameters":[{"password":"s3cret-%d"}]}}`, i)),
		Result:     json.RawMessage(`{"outcome":"allow"}`),
		Timestamp:  time.Now(),
	}
}

func defaultMasks(t *testing.T) []*decisionlog.MaskRule {
	t.Helper()
	m, err := decisionlog.ParseMaskPaths(decisionlog.DefaultMaskPaths)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFileSink(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	f, err := decisionlog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	l := decisionlog.New(f, decisionlog.Options{BatchSize: 4, FlushInterval: time.Hour, Masks: defaultMasks(t)})
	for i := range 10 {
		l.Log(event(i))
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "s3cret") {
		t.Errorf("a masked password is in the file:\n%s", raw)
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	i := 0
	for sc.Scan() {
		var e struct {
			DecisionID string   `json:"decision_id"`
			Erased     []string `json:"erased"`
			Timestamp  string   `json:"timestamp"`
			Bundles    map[string]struct{ Revision string }
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if want := fmt.Sprintf("id-%03d", i); e.DecisionID != want || len(e.Erased) != 1 || e.Bundles["realmgate"].Revision != "r1" {
			t.Errorf("line %d: %+v, want decision %s with one erased path", i+1, e, want)
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil {
			t.Errorf("timestamp %q: %v", e.Timestamp, err)
		}
		i++
	}
	if i != 10 || l.Written() != 10 || l.Dropped() != 0 {
		t.Errorf("%d lines, %d written, %d dropped; want 10, 10, 0", i, l.Written(), l.Dropped())
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

// collector is an HTTP decision log service on 127.0.0.1, as OPA's plugin posts to one.
type collector struct {
	mu      sync.Mutex
	batches [][]map[string]any
	gate    chan struct{} // when set, each request waits for it
	fail    int           // answer 503 to this many requests first
	blocked int           // requests that reached the gate
	*httptest.Server
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.gate != nil {
			c.mu.Lock()
			c.blocked++
			c.mu.Unlock()
			<-c.gate
		}
		c.mu.Lock()
		if c.fail > 0 {
			c.fail--
			c.mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		c.mu.Unlock()
		if r.Header.Get("Content-Encoding") != "gzip" || r.Method != http.MethodPost {
			http.Error(w, "want a gzip'd POST", http.StatusBadRequest)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var batch []map[string]any
		if err := json.NewDecoder(zr).Decode(&batch); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.batches = append(c.batches, batch)
		c.mu.Unlock()
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.blocked
}

func (c *collector) sizes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int
	for _, b := range c.batches {
		out = append(out, len(b))
	}
	return out
}

func TestHTTPSinkBatches(t *testing.T) {
	t.Parallel()
	c := newCollector(t)
	c.fail = 1 // the first upload fails and is retried
	l := decisionlog.New(&decisionlog.HTTP{URL: c.URL, Client: c.Client()},
		decisionlog.Options{BatchSize: 5, FlushInterval: 50 * time.Millisecond, RetryBackoff: time.Millisecond, Masks: defaultMasks(t)})
	for i := range 12 {
		l.Log(event(i))
	}
	// Two full batches go at once, the last two events at the flush interval.
	deadline := time.Now().Add(5 * time.Second)
	for l.Written() < 12 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := c.sizes()
	if fmt.Sprint(got) != "[5 5 2]" || l.Failed() != 1 || l.Dropped() != 0 {
		t.Errorf("batches %v, %d failed writes, %d dropped; want [5 5 2], 1, 0", got, l.Failed(), l.Dropped())
	}
	seen := map[string]bool{}
	for _, b := range c.batches {
		for _, e := range b {
			seen[e["decision_id"].(string)] = true
			if in := e["input"].(map[string]any); in["request"].(map[string]any)["parameters"] != nil {
				t.Errorf("parameters not masked: %v", in)
			}
		}
	}
	if len(seen) != 12 {
		t.Errorf("%d distinct decisions, want 12", len(seen))
	}
}

func TestFullBufferDropsOldest(t *testing.T) {
	t.Parallel()
	c := newCollector(t)
	c.gate = make(chan struct{})
	l := decisionlog.New(&decisionlog.HTTP{URL: c.URL, Client: c.Client()},
		decisionlog.Options{BatchSize: 2, BufferSize: 4, FlushInterval: time.Hour})
	l.Log(event(0))
	l.Log(event(1)) // a full batch: its upload blocks at the gate
	deadline := time.Now().Add(5 * time.Second)
	for c.waiting() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	for i := 2; i < 12; i++ { // 10 more into a buffer of 4: 6 dropped, never a wait
		l.Log(event(i))
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Log blocked for %v behind a stuck sink", took)
	}
	if l.Dropped() != 6 {
		t.Errorf("dropped %d, want 6", l.Dropped())
	}
	close(c.gate)
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range c.batches {
		for _, e := range b {
			ids = append(ids, e["decision_id"].(string))
		}
	}
	if want := "[id-000 id-001 id-008 id-009 id-010 id-011]"; fmt.Sprint(ids) != want {
		t.Errorf("delivered %v, want %s (the newest kept)", ids, want)
	}
}

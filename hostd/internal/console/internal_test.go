package console

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/store"
)

// A viewer that does not read loses decisions, and Record never waits for it.
func TestFeedDropsForSlowViewers(t *testing.T) {
	t.Parallel()
	f := NewFeed(4, 2)
	slow, cancelSlow, err := f.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	defer cancelSlow()
	fast, cancelFast, err := f.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.subscribe(); err != ErrTooManyViewers {
		t.Errorf("a third viewer: %v, want ErrTooManyViewers", err)
	}
	var got []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for d := range fast.ch {
			got = append(got, d.DecisionID)
			if len(got) == 10 {
				return
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		for i := range 10 {
			f.Record(engine.DecisionRecord{DecisionID: string(rune('a' + i))})
			time.Sleep(time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked on a viewer that does not read")
	}
	wg.Wait()
	if diff := cmp.Diff(strings.Split("abcdefghij", ""), got); diff != "" {
		t.Errorf("the reading viewer's decisions (-want +got):\n%s", diff)
	}
	if len(slow.ch) != 4 || slow.dropped.Load() != 6 {
		t.Errorf("the slow viewer kept %d and lost %d, want 4 and 6", len(slow.ch), slow.dropped.Load())
	}
	cancelFast()
	cancelFast()
	if f.viewers.Load() != 1 {
		t.Errorf("%d viewers after one left (twice), want 1", f.viewers.Load())
	}
}

// Sessions end when idle or old, whatever their use; the oldest goes when there are too many.
func TestSessionsExpire(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ss := newSessions(func() time.Time { return now })
	s := ss.create("")
	if s.id == s.csrf || len(s.id) < 43 {
		t.Fatalf("session id %q, csrf %q", s.id, s.csrf)
	}
	now = now.Add(sessionIdle - time.Second)
	if ss.get(s.id) == nil {
		t.Fatal("a session used within the idle time ended")
	}
	for now.Sub(s.created) < sessionMax-sessionIdle/2 {
		now = now.Add(sessionIdle / 2)
		if ss.get(s.id) == nil {
			t.Fatalf("a session in use ended at %v", now.Sub(s.created))
		}
	}
	now = now.Add(sessionIdle / 2)
	if ss.get(s.id) != nil {
		t.Error("a session outlived its maximum life")
	}
	idle := ss.create("")
	now = now.Add(sessionIdle)
	if ss.get(idle.id) != nil {
		t.Error("an idle session did not end")
	}
	first := ss.create("")
	for range maxSessions {
		now = now.Add(time.Millisecond)
		ss.create("")
	}
	if ss.get(first.id) != nil || len(ss.m) != maxSessions {
		t.Errorf("%d sessions kept; the least recently used one kept: %v", len(ss.m), ss.get(first.id) != nil)
	}
	if ss.get("") != nil {
		t.Error("an empty id is a session")
	}
}

func TestParseRules(t *testing.T) {
	t.Parallel()
	form := url.Values{
		"versions": {"<2.0.0", " ", ""}, "action": {"block", "notify", "block"},
		"message": {"Update", "Maintenance tonight", ""}, "downloadLink": {"https://example.invalid/app", "", ""},
		"messageId": {"", "m1", ""},
	}
	got, err := parseRules(form)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Rule{
		{Versions: "<2.0.0", Action: "block", Message: "Update", DownloadLink: "https://example.invalid/app"},
		{Action: "notify", Message: "Maintenance tonight", MessageID: "m1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	form.Del("messageId")
	if _, err := parseRules(form); err == nil {
		t.Error("a form without one of the columns parsed")
	}
}

// FuzzParseRules: any form parses into at most maxRules rules or fails, and what it gives the
// preview either previews or is refused, without a panic.
func FuzzParseRules(f *testing.F) {
	f.Add("versions=%3C2.0.0&action=block&message=m&downloadLink=&messageId=&preview-versions=1.0.0")
	f.Add("versions=&versions=x&action=notify&action=block&message=&message=y&downloadLink=&downloadLink=&messageId=&messageId=")
	f.Fuzz(func(t *testing.T, query string) {
		form, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		rules, err := parseRules(form)
		if err != nil {
			return
		}
		if len(rules) > maxRules {
			t.Fatalf("%d rules", len(rules))
		}
		versions := splitVersions(form.Get("preview-versions"))
		if len(versions) > maxPreviewVersions {
			t.Fatalf("%d versions", len(versions))
		}
		if p, err := engine.PreviewRules(rules, versions); err == nil && len(p) != len(versions) {
			t.Fatalf("%d previews of %d versions", len(p), len(versions))
		}
	})
}

package hostdtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzRecordHandsBodyOn: whatever the body and the limit, the handler behind the record reads
// exactly the bytes that were sent, and the record holds them up to the limit.
func FuzzRecordHandsBodyOn(f *testing.F) {
	f.Add([]byte(`{"parameters":[1]}`), uint16(1024))
	f.Add([]byte("0123456789"), uint16(4))
	f.Add([]byte{}, uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 300), uint16(299))
	f.Fuzz(func(t *testing.T, body []byte, limit uint16) {
		rc := newRecorder(int64(limit))
		var got []byte
		h := rc.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusTeapot)
		}))
		req := httptest.NewRequest("POST", "/api/v1/x", bytes.NewReader(body))
		h.ServeHTTP(httptest.NewRecorder(), req)
		if !bytes.Equal(got, body) {
			t.Fatalf("the handler read %d bytes, %d were sent", len(got), len(body))
		}
		reqs := rc.requests()
		want := body
		if l := rc.limit; int64(len(want)) > l {
			want = want[:l]
		}
		if len(reqs) != 1 || reqs[0].Body != string(want) || reqs[0].Status != http.StatusTeapot {
			t.Fatalf("record %+v, want the first %d bytes and status 418", reqs, len(want))
		}
	})
}

// A response that sets the session cookie opens a session unless the request named a session
// the daemon gave out and never replaced; each id is replaced once.
func TestSessionCount(t *testing.T) {
	type step struct{ sent, set string }
	tests := []struct {
		name  string
		steps []step
		want  int
	}{
		{"one session, no new id", []step{{"", "a"}, {"a", ""}, {"a", ""}}, 1},
		{"login rotates", []step{{"", "a"}, {"a", "b"}, {"b", ""}}, 1},
		{"stale id after rotation", []step{{"", "a"}, {"a", "b"}, {"a", "c"}}, 2},
		{"stale id first, rotation second", []step{{"", "a"}, {"a", "c"}, {"a", "b"}}, 2},
		{"an id the daemon never gave", []step{{"forged", "a"}}, 1},
		{"two clients", []step{{"", "a"}, {"", "b"}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newRecorder(0)
			for _, s := range tt.steps {
				h := http.Header{}
				if s.set != "" {
					h.Add("Set-Cookie", (&http.Cookie{Name: sessionCookie, Value: s.set}).String())
				}
				h.Add("Set-Cookie", (&http.Cookie{Name: "WL_PERSISTENT_COOKIE", Value: "p"}).String())
				rc.log = append(rc.log, Request{})
				rc.answered(len(rc.log)-1, 200, s.sent, h)
			}
			if got := rc.sessions(); got != tt.want {
				t.Errorf("sessions = %d, want %d", got, tt.want)
			}
		})
	}
}

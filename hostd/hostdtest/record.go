package hostdtest

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Request is one request the daemon received.
type Request struct {
	Method string
	// Path is the URL path, unescaped.
	Path   string
	Header http.Header
	// Body is the request body as sent, up to the daemon's body limit.
	Body string
	// Status is the status the daemon answered (0 while the answer is not begun).
	Status int
}

// sessionCookie is the daemon's session cookie (PROTOCOL.md section 1).
const sessionCookie = "WL_SESSION"

// ownRequest marks the requests Daemon.Admin makes, which the record leaves out: it holds what
// the test's clients sent. The header is removed before the daemon sees the request.
const ownRequest = "Hostdtest-Own-Request"

// recorder records the requests a daemon receives and follows the session ids it hands out.
type recorder struct {
	limit int64

	mu  sync.Mutex
	log []Request
	// ids are the session ids the daemon set; replaced marks those it replaced with another.
	ids      map[string]bool
	replaced map[string]bool
	opened   int
}

func newRecorder(limit int64) *recorder {
	if limit <= 0 {
		limit = 1 << 20
	}
	return &recorder{limit: limit, ids: map[string]bool{}, replaced: map[string]bool{}}
}

// wrap records each request before the daemon's handler sees it. The body is read up to the
// daemon's limit and handed on unchanged (followed by whatever was beyond it), so the daemon
// reads the same bytes and applies its own limit as it would without the record.
func (rc *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(ownRequest) != "" {
			r.Header.Del(ownRequest)
			h.ServeHTTP(w, r)
			return
		}
		var body []byte
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(io.LimitReader(r.Body, rc.limit+1))
			body = b
			var rest io.Reader = r.Body
			if err != nil {
				rest = errReader{err}
			}
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), rest), r.Body}
		}
		if int64(len(body)) > rc.limit {
			body = body[:rc.limit]
		}
		sent := ""
		if c, err := r.Cookie(sessionCookie); err == nil {
			sent = c.Value
		}
		rc.mu.Lock()
		i := len(rc.log)
		rc.log = append(rc.log, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
		rc.mu.Unlock()
		rw := &recordingWriter{ResponseWriter: w, rc: rc, i: i, sent: sent}
		h.ServeHTTP(rw, r)
		if !rw.begun {
			// Nothing written: net/http answers 200 once the handler returns.
			rw.begun = true
			rc.answered(i, http.StatusOK, sent, rw.Header())
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// answered notes the status of request i and the session cookie its answer sets, before the
// answer leaves: a client cannot come back with a session id the record does not know yet.
func (rc *recorder) answered(i, status int, sent string, header http.Header) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.log[i].Status = status
	for _, line := range header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil || c.Name != sessionCookie || c.Value == "" || c.MaxAge < 0 {
			continue
		}
		if sent != "" && rc.ids[sent] && !rc.replaced[sent] {
			// The session the request named goes on under a new id (a user login).
			rc.replaced[sent] = true
		} else {
			rc.opened++
		}
		rc.ids[c.Value] = true
	}
}

func (rc *recorder) requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Request, len(rc.log))
	for i, r := range rc.log {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

func (rc *recorder) sessions() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.opened
}

// recordingWriter tells the recorder what the daemon answers as the answer begins.
type recordingWriter struct {
	http.ResponseWriter
	rc    *recorder
	i     int
	sent  string
	begun bool
}

func (w *recordingWriter) WriteHeader(code int) {
	if !w.begun && code >= 200 {
		w.begun = true
		w.rc.answered(w.i, code, w.sent, w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if !w.begun {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer (flushing, deadlines).
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

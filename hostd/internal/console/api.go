package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/realmgate/realmgate/hostd/internal/server"
)

// APIError is a refusal of the admin API, as its body says it.
type APIError struct {
	Status  int
	Code    string `json:"error"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("admin API: %d %s: %s", e.Status, e.Code, e.Message)
}

// maxReplyBytes bounds a reply of the admin API that the console reads.
const maxReplyBytes = 16 << 20

// reply is an in-process response: the admin API writes it, the console reads it.
type reply struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *reply) Header() http.Header { return r.header }

func (r *reply) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *reply) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(b) > maxReplyBytes {
		return 0, fmt.Errorf("console: admin API reply larger than %d bytes", maxReplyBytes)
	}
	return r.body.Write(b)
}

// call makes a request to the admin API in-process, as the console's actor (Actor, or
// "console:<user>" for a user the console's security test let through), with the admin
// token: the handlers curl reaches serve it, with their validation and their audit. in, when
// not nil, is sent as JSON; a 2xx reply is decoded into out (when not nil), another is an
// *APIError.
func (c *Console) call(ctx context.Context, from *http.Request, method, path string, in, out any) error {
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	actor := Actor
	if from != nil {
		if user, ok := server.ConsoleUser(from.Context()); ok {
			actor = "console:" + user
		}
	}
	req, err := http.NewRequestWithContext(server.WithActor(ctx, actor), method, path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+string(c.opts.Token))
	req.Header.Set("Content-Type", "application/json")
	if from != nil {
		req.RemoteAddr = from.RemoteAddr
	}
	rep := &reply{header: http.Header{}}
	c.opts.API.ServeHTTP(rep, req)
	if rep.status < 200 || rep.status > 299 {
		e := &APIError{Status: rep.status}
		if json.Unmarshal(rep.body.Bytes(), e) != nil || e.Message == "" {
			e.Message = http.StatusText(rep.status)
		}
		return e
	}
	if out != nil {
		if err := json.Unmarshal(rep.body.Bytes(), out); err != nil {
			return fmt.Errorf("console: admin API %s %s: %w", method, path, err)
		}
	}
	return nil
}

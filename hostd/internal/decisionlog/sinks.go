package decisionlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// File appends events to a file, one JSON object a line, and syncs it to disk after each batch.
type File struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

// OpenFile opens (or creates, mode 0600: decisions say who did what) the file for appending.
func OpenFile(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("decision log file: %w", err)
	}
	return &File{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Write implements Sink.
func (s *File) Write(_ context.Context, batch []json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range batch {
		s.w.Write(e)
		s.w.WriteByte('\n')
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	return s.f.Sync()
}

// Close implements Sink.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Flush(); err != nil {
		s.f.Close()
		return err
	}
	return s.f.Close()
}

// HTTP posts each batch to a collector as OPA's decision log plugin does: a JSON array of
// events, gzip'd (Content-Encoding: gzip). A 2xx answer delivers the batch.
type HTTP struct {
	URL    string
	Client *http.Client
}

// Write implements Sink.
func (s *HTTP) Write(ctx context.Context, batch []json.RawMessage) error {
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	zw.Write([]byte{'['})
	for i, e := range batch {
		if i > 0 {
			zw.Write([]byte{','})
		}
		zw.Write(e)
	}
	zw.Write([]byte{']'})
	if err := zw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("decision log upload: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("decision log upload: the collector answered %s", resp.Status)
	}
	return nil
}

// Close implements Sink.
func (s *HTTP) Close() error { return nil }

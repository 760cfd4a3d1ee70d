package policybundle_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"
)

// rewriteTar replaces the content of one file of a .tar.gz.
func rewriteTar(t *testing.T, raw []byte, name string, content []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			body, found = content, true
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(body)
	}
	if !found {
		t.Fatalf("no %s in the bundle", name)
	}
	tw.Close()
	zw.Close()
	return out.Bytes()
}

func policybundleDigest(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:8])
}

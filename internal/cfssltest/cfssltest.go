// Package cfssltest starts CFSSL's REST server (.ci/install-cfssl.sh) for tests of PKI bridges
// that get their certificates signed by it.
package cfssltest

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/realmgate/realmgate/internal/chromiumtest"
)

// Serve starts cfssl serve on a free port of 127.0.0.1 with a new ECDSA P-256 CA named cn, and
// returns its port and CA certificate. The CA is also the root of CFSSL's bundle endpoint, which
// a bridge asks whether a certificate is the CA's. The server stops when the test ends; without
// cfssl the test skips, or fails when REALMGATE_REQUIRE_TOOLCHAINS is set.
func Serve(t testing.TB, cn string) (int, *x509.Certificate) {
	t.Helper()
	cfssl := chromiumtest.RequireTool(t, ".ci/install-cfssl.sh", "cfssl")
	cfssljson := chromiumtest.RequireTool(t, ".ci/install-cfssl.sh", "cfssljson")
	dir := t.TempDir()
	gen := exec.Command("sh", "-c", fmt.Sprintf(`echo '{"CN":%q,"key":{"algo":"ecdsa","size":256}}' | %s gencert -initca - | %s -bare ca`, cn, cfssl, cfssljson))
	gen.Dir = dir
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("cfssl gencert: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(cfssl, "serve", "-address", "127.0.0.1", "-port", fmt.Sprint(port),
		"-ca", "ca.pem", "-ca-key", "ca-key.pem", "-ca-bundle", "ca.pem", "-int-bundle", "ca.pem")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatal("cfssl serve did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("cfssl wrote no PEM CA certificate")
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return port, ca
}

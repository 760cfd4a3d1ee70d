package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/project"
)

// TestLoadProjectChecksJavaScript: the daemon loads a project with the checker hostd check uses,
// so a JavaScript adapter that uses an API the runtime refuses stops the load with the error
// hostd check reports, at the script's line; the same adapter without it loads.
func TestLoadProjectChecksJavaScript(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		t.Helper()
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("server/conf/authenticationConfig.xml", `<loginConfiguration/>`)
	write("adapters/Orders/Orders.xml", `<wl:adapter name="Orders" xmlns:wl="http://www.ibm.com/mfp/integration">
	<procedure name="getOrders" securityTest="wl_unprotected"/>
</wl:adapter>`)
	write("adapters/Orders/Orders-impl.js", "function getOrders() {\n\treturn WL.Server.readSingleJMSMessage({destination: 'orders'});\n}\n")

	_, _, err := LoadProject(context.Background(), dir)
	var le *project.LoadError
	if !errors.As(err, &le) {
		t.Fatalf("LoadProject = %v, want a *project.LoadError", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "adapters/Orders/Orders-impl.js:2") || !strings.Contains(msg, "WL.Server.readSingleJMSMessage") {
		t.Errorf("LoadProject = %v, want the refused readSingleJMSMessage at Orders-impl.js:2", err)
	}

	write("adapters/Orders/Orders-impl.js", "function getOrders() {\n\treturn {orders: []};\n}\n")
	if _, _, err := LoadProject(context.Background(), dir); err != nil {
		t.Errorf("LoadProject of a script that uses no refused API: %v", err)
	}
}

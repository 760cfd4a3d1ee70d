package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckJavaScriptAdapters runs hostd check on a project with a Worklight JavaScript adapter:
// a refused API is an error at its line (exit 1), and --verbose lists every server API the
// adapter uses with its place and status; policy lint reports the same error; once the script
// uses only supported APIs, the project passes.
func TestCheckJavaScriptAdapters(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<loginConfiguration/>`)
	mustWrite(t, filepath.Join(dir, "adapters/Orders/Orders.xml"), `<wl:adapter name="Orders" xmlns:wl="http://www.ibm.com/mfp/integration">
	<procedure name="getOrders" securityTest="wl_unprotected"/>
</wl:adapter>`)
	script := filepath.Join(dir, "adapters/Orders/Orders-impl.js")
	mustWrite(t, script, `var server = WL.Server;
function getOrders(user) {
	WL.Logger.info("orders of " + user);
	var src = server.createEventSource({name: "orders"});
	return server.invokeHttp({method: 'get', path: '/orders/' + user});
}
`)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", dir, "--verbose"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		script + `:4: error: adapter "Orders" uses WL.Server.createEventSource at column 12, which Realmgate's JavaScript runtime does not run`,
		script + ": JavaScript adapter, 3 uses of server APIs, 1 refused\n",
		"  " + script + ":3:2: WL.Logger.info: supported\n",
		"  " + script + ":4:12: WL.Server.createEventSource: refused: event sources poll",
		"  " + script + ":5:9: WL.Server.invokeHttp: supported\n",
		filepath.Join(dir, "adapters", "Orders", "Orders.xml") + `:1: error: adapter "Orders" cannot run its JavaScript (adapters/Orders/Orders-impl.js): it uses 1 server API that the runtime does not run`,
		dir + ": 2 errors, 0 warnings\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// policy lint starts from the diagnostics of hostd check: the same error.
	out.Reset()
	if code := run(context.Background(), []string{"policy", "lint", "--config", dir}, &out, &errb); code != 1 ||
		!strings.Contains(out.String(), script+`:4: error: `) || !strings.Contains(out.String(), "WL.Server.createEventSource") {
		t.Errorf("policy lint: exit %d, want 1 and the error at %s:4:\n%s%s", code, script, out.String(), errb.String())
	}

	mustWrite(t, script, `function getOrders(user) {
	WL.Logger.info("orders of " + user);
	return WL.Server.invokeHttp({method: 'get', path: '/orders/' + user});
}
`)
	out.Reset()
	if code := run(context.Background(), []string{"check", "--config", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d, want 0:\n%s%s", code, out.String(), errb.String())
	}
	if strings.Contains(out.String(), "JavaScript adapter,") {
		t.Errorf("the API listing is printed without --verbose:\n%s", out.String())
	}
}

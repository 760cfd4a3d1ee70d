package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

const idsScript = `function cid() { return {id: WL.Server.getClientId()}; }
function openCid() { return {id: WL.Server.getClientId()}; }
function viaInvoke() { return {id: WL.Server.invokeProcedure({adapter: "Ids", procedure: "cid", parameters: []}).id}; }
`

const idsXML = `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="Ids" xmlns:wl="http://www.ibm.com/mfp/integration">
	<displayName>Ids</displayName>
	<backend kind="js"/>
	<procedure name="cid" securityTest="anonymous"/>
	<procedure name="openCid" securityTest="wl_unprotected"/>
	<procedure name="viaInvoke" securityTest="anonymous"/>
</wl:adapter>
`

// WL.Server.getClientId() in procedure calls: a protected procedure's calls in one session see
// one id (a procedure it calls through invokeProcedure too), another session another, neither a cookie the daemon set; an unprotected procedure,
// served without a session, sees null.
func TestJavaScriptClientID(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts a daemon")
	}
	engine := jsEngineModule(t)
	_, port := localBackend(t, nil)
	files := jsProject(t, port, "jsEngine: "+engine+"\ndevelopment: true\n")
	files["adapters/Ids/Ids.xml"] = []byte(idsXML)
	files["adapters/Ids/Ids-impl.js"] = []byte(idsScript)
	d := hostdtest.Start(t, "testdata/jsproject", hostdtest.Options{Files: files})
	cookies := &cookieRecorder{}
	ctx := context.Background()
	call := func(c *client.Client, procedure string) any {
		t.Helper()
		out, err := c.InvokeProcedure(ctx, "Ids", procedure)
		if err != nil {
			t.Fatalf("%s: %v", procedure, err)
		}
		var res struct{ ID any }
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%s = %s: %v", procedure, out, err)
		}
		return res.ID
	}
	newClient := func() *client.Client {
		c, err := client.New(client.Config{BaseURL: d.URL, AppID: "JSApp", Environment: "mobilewebapp", AppVersion: "1.0",
			HTTPClient: &http.Client{Transport: cookies}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := newClient(), newClient()
	a1, a2, b1 := call(a, "cid"), call(a, "cid"), call(b, "cid")
	for _, id := range []any{a1, b1} {
		if s, _ := id.(string); !clientIDShape.MatchString(s) {
			t.Errorf("getClientId() = %v, want a version 8 UUID", id)
		}
	}
	if a1 != a2 {
		t.Errorf("one session's calls see the client ids %v and %v", a1, a2)
	}
	if a1 == b1 {
		t.Errorf("two sessions share the client id %v", a1)
	}
	if len(cookies.values) == 0 {
		t.Fatal("the daemon set no cookie: the comparison with the client ids shows nothing")
	}
	for _, v := range cookies.values {
		for _, id := range []any{a1, b1} {
			if s, _ := id.(string); s != "" && (strings.Contains(v, s) || strings.Contains(s, v)) {
				t.Errorf("client id %s is (part of) a cookie the daemon set", s)
			}
		}
	}
	if got := call(a, "viaInvoke"); got != a1 {
		t.Errorf("a procedure called through invokeProcedure sees the client id %v, want the session's %v", got, a1)
	}
	if got := call(a, "openCid"); got != nil {
		t.Errorf("an unprotected procedure's getClientId() = %v, want null (it is served without a session)", got)
	}
}

package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
)

const frontScript = `var note;
function set(v) { note = v; return {}; }
function viaBack() {
	var r = WL.Server.invokeProcedure({adapter: "Back", procedure: "peek", parameters: []});
	return {back: r.note, mine: note === undefined ? null : note};
}
function changeBack() {
	WL.Server.invokeProcedure({adapter: "Back", procedure: "set", parameters: ["changed when called"]});
	return {mine: note === undefined ? null : note};
}
`

const backScript = `var note;
function set(v) { note = v; return {}; }
function peek() { return {note: note === undefined ? null : note}; }
`

func adapterXML(name string, procs ...string) string {
	x := `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="` + name + `" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="js"/>`
	for _, p := range procs {
		x += "\n\t<procedure name=\"" + p + "\" securityTest=\"anonymous\"/>"
	}
	return x + "\n</wl:adapter>\n"
}

// A procedure that WL.Server.invokeProcedure calls runs with its own adapter's script state of
// the session, as the session holds it, never with the caller's: two adapters with a global of
// the same name keep them apart. What the called procedure changes is not kept: the client's
// request keeps the state of the adapter it called.
func TestJavaScriptInvokedProcedureState(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts a daemon")
	}
	engine := jsEngineModule(t)
	_, port := localBackend(t, nil)
	files := jsProject(t, port, "jsEngine: "+engine+"\ndevelopment: true\n")
	files["adapters/Front/Front.xml"] = []byte(adapterXML("Front", "set", "viaBack", "changeBack"))
	files["adapters/Front/Front-impl.js"] = []byte(frontScript)
	files["adapters/Back/Back.xml"] = []byte(adapterXML("Back", "set", "peek"))
	files["adapters/Back/Back-impl.js"] = []byte(backScript)
	d := hostdtest.Start(t, "testdata/jsproject", hostdtest.Options{Files: files})
	c, err := client.New(client.Config{BaseURL: d.URL, AppID: "JSApp", Environment: "mobilewebapp", AppVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call := func(adapter, proc string, params ...any) map[string]any {
		t.Helper()
		out, err := c.InvokeProcedure(ctx, adapter, proc, params...)
		if err != nil {
			t.Fatalf("%s.%s: %v", adapter, proc, err)
		}
		var r map[string]any
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		delete(r, "isSuccessful")
		return r
	}
	for _, step := range []struct {
		adapter, proc string
		params        []any
		want          map[string]any
	}{
		{"Front", "set", []any{"front's note"}, map[string]any{}},
		{"Front", "viaBack", nil, map[string]any{"back": nil, "mine": "front's note"}},
		{"Back", "set", []any{"back's note"}, map[string]any{}},
		{"Front", "viaBack", nil, map[string]any{"back": "back's note", "mine": "front's note"}},
		{"Front", "changeBack", nil, map[string]any{"mine": "front's note"}},
		{"Back", "peek", nil, map[string]any{"note": "back's note"}},
		{"Front", "viaBack", nil, map[string]any{"back": "back's note", "mine": "front's note"}},
	} {
		if diff := cmp.Diff(step.want, call(step.adapter, step.proc, step.params...)); diff != "" {
			t.Errorf("%s.%s%v (-want +got):\n%s", step.adapter, step.proc, step.params, diff)
		}
	}
}

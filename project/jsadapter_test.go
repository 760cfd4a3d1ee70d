package project

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// An adapter XML without <backend> whose folder holds <A>-impl.js is a JavaScript adapter: the
// daemon runs it as it is, and no "answer 501" warning is given.
func TestJavaScriptAdapterBackend(t *testing.T) {
	dir := writeProject(t, files{
		ac: authConfig("\n"),
		"adapters/Feed/Feed.xml": adapterXML("Feed", `
	<connectivity><connectionPolicy><protocol>https</protocol><domain>Feeds.Example</domain><port>8443</port></connectionPolicy></connectivity>
	<procedure name="getFeed"/>
`),
		"adapters/Feed/Feed-impl.js": "function getFeed() { return {}; }\n",
		"adapters/Plain/Plain.xml":   adapterXML("Plain", "\n\t<procedure name=\"get\"/>\n"),
	})
	p := mustLoad(t, dir)
	want := &Backend{Kind: BackendJS, Script: filepath.Join(dir, "adapters", "Feed", "Feed-impl.js"), Settings: map[string]string{}, Pos: p.Adapters["Feed"].Pos}
	if diff := cmp.Diff(want, p.Adapters["Feed"].Backend); diff != "" {
		t.Errorf("backend (-want +got):\n%s", diff)
	}
	ep, ok := p.Adapters["Feed"].Connectivity()
	if !ok || ep.Protocol != "https" || ep.Host != "feeds.example" || ep.Port != 8443 {
		t.Errorf("connectivity = %+v, %v", ep, ok)
	}
	if p.Adapters["Plain"].Backend != nil {
		t.Errorf("an adapter without a script got a backend: %+v", p.Adapters["Plain"].Backend)
	}
	var warned []string
	for _, d := range p.Diagnostics {
		if strings.Contains(d.Message, "no backend") {
			warned = append(warned, d.Message)
		}
	}
	if diff := cmp.Diff([]string{`adapter "Plain" has no backend: its procedures are protected but answer 501 not_implemented`}, warned); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// An explicit <backend kind="js"> gives the adapter limits of its own; its script defaults to
// <A>-impl.js and must exist.
func TestExplicitJavaScriptBackend(t *testing.T) {
	dir := writeProject(t, files{
		ac: authConfig("\n"),
		"adapters/Feed/Feed.xml": adapterXML("Feed", `
	<backend kind="js" callTimeoutMs="2000" instances="2"/>
	<procedure name="getFeed"/>
`),
		"adapters/Feed/Feed-impl.js": "function getFeed() { return {}; }\n",
		"adapters/Gone/Gone.xml": adapterXML("Gone", `
	<backend kind="js" script="other.js"/>
	<procedure name="get"/>
`),
	})
	_, err := Load(dir, LoadOptions{})
	if err == nil {
		t.Fatal("a missing script loaded")
	}
	if !strings.Contains(err.Error(), `Gone.xml:3: error: JavaScript adapter "Gone": other.js is not a file`) {
		t.Errorf("error = %v", err)
	}
	dir2 := writeProject(t, files{
		ac: authConfig("\n"),
		"adapters/Feed/Feed.xml": adapterXML("Feed", `
	<backend kind="js" callTimeoutMs="2000" instances="2"/>
	<procedure name="getFeed"/>
`),
		"adapters/Feed/Feed-impl.js": "function getFeed() { return {}; }\n",
	})
	b := mustLoad(t, dir2).Adapters["Feed"].Backend
	if b.Kind != BackendJS || b.Script != filepath.Join(dir2, "adapters", "Feed", "Feed-impl.js") || b.CallTimeoutMS != 2000 || b.Instances != 2 {
		t.Errorf("backend = %+v", b)
	}
}

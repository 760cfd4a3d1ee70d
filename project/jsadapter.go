package project

import (
	"os"
	"path/filepath"
)

// BackendJS is the kind of a Worklight JavaScript adapter: its <A>-impl.js runs in the
// JavaScript engine of the wasm sandbox (package adapters/js).
const BackendJS = "js"

// javaScriptBackend returns the backend of an adapter whose XML declares none and whose folder
// holds <A>-impl.js, Worklight's JavaScript adapter: a real project runs unchanged. It returns
// nil when the folder holds no such file.
func (l *loader) javaScriptBackend(a *Adapter, dir string) *Backend {
	for _, name := range []string{a.Name, dir} {
		script := filepath.Join(a.Dir, name+"-impl.js")
		if st, err := os.Stat(script); err == nil && st.Mode().IsRegular() {
			return &Backend{Kind: BackendJS, Script: script, Pos: a.Pos, Settings: map[string]string{}}
		}
	}
	return nil
}

// javaScriptScript sets the script of an explicit <backend kind="js" script="..."/>, which
// gives a JavaScript adapter limits of its own (callTimeoutMs, memoryPages, instances): script
// defaults to <A>-impl.js and must exist. It reports whether the backend is usable.
func (l *loader) javaScriptScript(a *Adapter, b *Backend, n *node) bool {
	script, _ := n.attr("script")
	if script == "" {
		script = a.Name + "-impl.js"
	}
	b.Script = l.adapterFile(a, script)
	if st, err := os.Stat(b.Script); err != nil || !st.Mode().IsRegular() {
		l.errorf(b.Pos, `put the adapter's JavaScript there, or name it with script="..."`, "JavaScript adapter %q: %s is not a file", a.Name, script)
		return false
	}
	return true
}

// Connectivity returns the endpoint of the adapter's <connectivity><connectionPolicy>, the back
// end of a JavaScript adapter's invokeHttp; ok is false when it has none.
func (a *Adapter) Connectivity() (e Endpoint, ok bool) {
	for _, ep := range a.AllowHTTP {
		if ep.Connectivity {
			return ep, true
		}
	}
	return Endpoint{}, false
}

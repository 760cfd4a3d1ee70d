package project

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

func (l *loader) loadAdapters() {
	for _, dir := range l.subdirs(adaptersDir) {
		rel := path.Join(adaptersDir, dir, dir+".xml")
		root := l.readXML(rel)
		if root == nil {
			continue
		}
		if root.Name != "adapter" {
			l.errorf(l.pos(rel, root), "the root must be <wl:adapter>", "unknown adapter root <%s>", root.Name)
			continue
		}
		name, _ := root.attr("name")
		if name == "" {
			name = dir
		} else if name != dir {
			l.warnf(l.pos(rel, root), "", "adapter name %q differs from its folder %q; clients call %q", name, dir, name)
		}
		if prev, dup := l.p.Adapters[name]; dup {
			l.errorf(l.pos(rel, root), "give each adapter its own name", "adapter %q is also defined at %s", name, prev.Pos)
			continue
		}
		if l.trueAttr(root, "requiresAuthentication") {
			l.errorf(l.pos(rel, root), `remove it and give each procedure securityTest="..." (or securityTest="wl_unprotected"; the Worklight 5.0.0.3 upgrade)`,
				"adapter %q sets requiresAuthentication on the adapter, from the authentication model before Worklight 5.0.0.3, which Realmgate does not enforce", name)
		}
		a := &Adapter{
			Name:       name,
			Pos:        l.pos(rel, root),
			Dir:        filepath.Join(l.dir, adaptersDir, dir),
			Procedures: map[string]*Procedure{},
		}
		for _, c := range root.Children {
			switch strings.ToLower(c.Name) {
			case "procedure":
				l.loadProcedure(rel, a, c)
			case "connectivity":
				for _, cp := range c.children("connectionPolicy") {
					l.loadConnectionPolicy(rel, a, cp)
				}
			case "backend":
				if a.Backend != nil {
					l.errorf(l.pos(rel, c), "keep one", "adapter %q declares more than one <backend>", name)
					continue
				}
				a.Backend = l.loadBackend(rel, a, c)
			case "jaxrsapplicationclass":
				l.warnf(l.pos(rel, c), "serve it from Worklight, or rewrite its resources as procedures of a wasm or plugin adapter",
					"adapter %q is a Java (JAX-RS) adapter (%s): Realmgate does not run it, so its resources are not served and their @OAuthSecurity scopes are not read", name, c.Text)
			}
		}
		if a.Backend == nil {
			a.Backend = l.javaScriptBackend(a, dir) // jsadapter.go
		}
		if a.Backend == nil && len(a.Procedures) > 0 {
			l.warnf(a.Pos, "add a <backend kind=\"wasm\" module=\"...\" sha256=\"...\"/> (or kind=\"plugin\") to run it in Realmgate",
				"adapter %q has no backend: its procedures are protected but answer 501 not_implemented", name)
		}
		l.loadScript(dir, a) // scripts.go
		l.p.Adapters[name] = a
	}
}

func (l *loader) loadProcedure(rel string, a *Adapter, n *node) {
	pos := l.pos(rel, n)
	name, _ := n.attr("name")
	if name == "" {
		l.errorf(pos, `add name="..."`, "procedure without a name")
		return
	}
	if _, dup := a.Procedures[name]; dup {
		l.errorf(pos, "keep one", "procedure %q is declared twice", name)
		return
	}
	p := &Procedure{Name: name, Pos: pos}
	test, hasTest := n.attr("securityTest")
	if realm, ok := n.attr("authenticationRealm"); ok && realm != "" && test == "" {
		l.errorf(pos, fmt.Sprintf(`name a security test that holds realm %q in securityTest="..." (a <customSecurityTest> with <test realm=%q isInternalUserID="true"/>; the Worklight 5.0.0.3 upgrade)`, realm, realm),
			"procedure %q is protected by authenticationRealm=%q, from the authentication model before Worklight 5.0.0.3, which Realmgate does not enforce", name, realm)
	}
	legacy, hasLegacy := n.attrAny("requiresAuthentication", "authenticationRequired")
	switch {
	case hasTest && test != "":
		p.SecurityTest = test
		if hasLegacy {
			l.warnf(pos, "remove requiresAuthentication", "procedure %q has both securityTest and %s; securityTest is used", name, "requiresAuthentication")
		}
	case hasLegacy:
		switch strings.ToLower(legacy) {
		case "false":
			p.SecurityTest = Unprotected
		case "true":
			p.SecurityTest = "" // the calling environment's test
			if l.preUpgrade {
				l.errorf(pos, `add <securityTests> to server/conf/authenticationConfig.xml and name one in securityTest="..." (the Worklight 5.0.0.3 upgrade)`,
					"procedure %q requires authentication, but the project has realms and no <securityTests> (the authentication model before Worklight 5.0.0.3): it would run under the default test, which lets the anonymous user in", name)
			}
		default:
			l.errorf(pos, `write "true" or "false"`, "requiresAuthentication=%q is not a boolean", legacy)
		}
	}
	a.Procedures[name] = p
	a.ProcedureOrder = append(a.ProcedureOrder, name)
}

func (l *loader) loadConnectionPolicy(rel string, a *Adapter, n *node) {
	if isSQLPolicy(n) {
		l.loadDataSource(rel, a, n) // datasource.go
		return
	}
	domain := n.childText("domain")
	if domain == "" {
		return // SQL, JMS and null connection policies have no HTTP host
	}
	proto := strings.ToLower(n.childText("protocol"))
	port := 80
	if proto == "https" {
		port = 443
	}
	if v := n.childText("port"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			l.errorf(l.pos(rel, n.child("port")), "use a port number from 1 to 65535", "bad port %q", v)
			return
		}
		port = p
	}
	a.AllowHTTP = append(a.AllowHTTP, Endpoint{Host: strings.ToLower(domain), Port: port, Pos: l.pos(rel, n), Connectivity: true, Protocol: cmp.Or(proto, "http")})
}

// Bounds of the per-adapter call limits (maxConcurrent, maxQueue), and the wasm backend's
// instances when the XML sets none (adapters.DefaultLimits).
const (
	maxConcurrentCalls = 4096
	maxQueuedCalls     = 65536
	maxCancelGraceMS   = 60000
	defaultInstances   = 4
)

// Backend kinds this package knows the configuration of.
const (
	BackendWasm   = "wasm"
	BackendPlugin = "plugin"
)

func (l *loader) loadBackend(rel string, a *Adapter, n *node) *Backend {
	pos := l.pos(rel, n)
	b := &Backend{Pos: pos, Settings: map[string]string{}}
	b.Kind, _ = n.attr("kind")
	if l.opts.AdapterKinds != nil {
		known := false
		for _, k := range l.opts.AdapterKinds {
			known = known || k == b.Kind
		}
		if !known {
			l.errorf(pos, "use one of: "+strings.Join(l.opts.AdapterKinds, ", "), "unknown adapter kind %q", b.Kind)
			return nil
		}
	}
	b.SHA256, _ = n.attr("sha256")
	b.SHA256 = strings.ToLower(b.SHA256)
	if v, ok := n.attr("memoryPages"); ok {
		p, err := strconv.ParseUint(v, 10, 32)
		if err != nil || p == 0 || p > 65536 {
			l.errorf(pos, "give a number of 64 KiB pages from 1 to 65536", "bad memoryPages %q", v)
		}
		b.MemoryPages = uint32(p)
	}
	if v, ok := n.attr("callTimeoutMs"); ok {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			l.errorf(pos, "give a positive number of milliseconds", "bad callTimeoutMs %q", v)
		}
		b.CallTimeoutMS = ms
	}
	if v, ok := n.attr("instances"); ok {
		i, err := strconv.Atoi(v)
		if err != nil || i <= 0 || i > 256 {
			l.errorf(pos, "give a number from 1 to 256", "bad instances %q", v)
		}
		b.Instances = i
	}
	if v, ok := n.attr("maxConcurrent"); ok {
		i, err := strconv.Atoi(v)
		if err != nil || i <= 0 || i > maxConcurrentCalls {
			l.errorf(pos, fmt.Sprintf("give a number from 1 to %d", maxConcurrentCalls), "bad maxConcurrent %q", v)
		}
		b.MaxConcurrent = i
	}
	if v, ok := n.attr("maxQueue"); ok {
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 || i > maxQueuedCalls {
			l.errorf(pos, fmt.Sprintf("give a number from 0 (no call waits) to %d", maxQueuedCalls), "bad maxQueue %q", v)
		}
		b.MaxQueue = &i
	}
	if v, ok := n.attr("cancelGraceMs"); ok {
		ms, err := strconv.Atoi(v)
		switch {
		case err != nil || ms <= 0 || ms > maxCancelGraceMS:
			l.errorf(pos, fmt.Sprintf("give a number of milliseconds from 1 to %d", maxCancelGraceMS), "bad cancelGraceMs %q", v)
		case b.Kind != BackendPlugin:
			l.warnf(pos, "remove it: a wasm call is stopped at its deadline", "cancelGraceMs is a plugin setting: a wasm backend ignores it")
		}
		b.CancelGraceMS = ms
	}
	if inst := cmp.Or(b.Instances, defaultInstances); b.Kind == BackendWasm && b.MaxConcurrent > inst {
		l.warnf(pos, fmt.Sprintf(`raise instances="%d" to run them at once, or lower maxConcurrent`, b.MaxConcurrent),
			"maxConcurrent=%d exceeds the wasm backend's %d instances: the calls beyond them wait for an instance", b.MaxConcurrent, inst)
	}
	for _, c := range n.Children {
		switch strings.ToLower(c.Name) {
		case "allow":
			host, _ := c.attr("host")
			portS, _ := c.attr("port")
			port, err := strconv.Atoi(portS)
			if host == "" || err != nil || port < 1 || port > 65535 {
				l.errorf(l.pos(rel, c), `write <allow host="127.0.0.1" port="8888"/>`, "an allow entry needs a host and a port")
				continue
			}
			a.AllowHTTP = append(a.AllowHTTP, Endpoint{Host: strings.ToLower(host), Port: port, Pos: l.pos(rel, c)})
		case "setting", "parameter":
			name, _ := c.attr("name")
			value, ok := c.attr("value")
			if !ok {
				value = c.Text
			}
			if name == "" {
				l.errorf(l.pos(rel, c), `write <setting name="..." value="..."/>`, "a setting needs a name")
				continue
			}
			b.Settings[name] = value
		case "arg":
			b.Command = append(b.Command, c.Text)
		case "capability":
			l.loadCapability(rel, b, c)
		default:
			l.warnf(l.pos(rel, c), "", "unknown element <%s> in <backend> ignored", c.Name)
		}
	}
	if b.PKI != nil && b.Kind != BackendWasm && b.Kind != BackendJS {
		l.warnf(b.PKI.Pos, "remove it: a plugin runs natively and signs with a key of its own",
			"the pki capability is granted to wasm and JavaScript backends only; this %s backend does not use it", b.Kind)
		b.PKI = nil
	}
	switch b.Kind {
	case BackendWasm:
		mod, _ := n.attr("module")
		if mod == "" {
			l.errorf(pos, `add module="name.wasm"`, "a wasm backend needs a module")
			return nil
		}
		b.Module = l.adapterFile(a, mod)
		if src, ok := n.attr("source"); ok && src != "" {
			b.Source = l.adapterFile(a, src)
			if st, err := os.Stat(b.Source); err != nil || !st.IsDir() {
				l.errorf(pos, "name the folder of the adapter's Go main package", "source %s is not a folder", src)
				return nil
			}
			if _, err := os.Stat(b.Module); err != nil {
				l.warnf(pos, "build it, or run hostd with development: true to have it built",
					"module %s is not built yet; in development mode hostd builds it from %s", mod, src)
				return b
			}
		}
		l.checkPinned(pos, b.Module, b.SHA256, "module")
	case BackendJS:
		if !l.javaScriptScript(a, b, n) { // jsadapter.go
			return nil
		}
	case BackendPlugin:
		if cmd, ok := n.attr("command"); ok {
			b.Command = append(strings.Fields(cmd), b.Command...)
		}
		if len(b.Command) == 0 {
			l.errorf(pos, `add command="./plugin-binary"`, "a plugin backend needs a command")
			return nil
		}
		b.Command[0] = l.adapterFile(a, b.Command[0])
		l.checkPinned(pos, b.Command[0], b.SHA256, "plugin")
	}
	return b
}

// Capabilities a backend may be granted.
const CapabilityPKI = "pki"

// loadCapability reads a <capability> of a backend: name="pki" grants the host PKI capability,
// with the CA folder relative to the data folder (ca), the longest validity
// (maxValidityDays, 1 to 3650) and whether CA certificates may be issued (issueCA).
func (l *loader) loadCapability(rel string, b *Backend, n *node) {
	pos := l.pos(rel, n)
	name, _ := n.attr("name")
	if name != CapabilityPKI {
		l.errorf(pos, "use one of: "+CapabilityPKI, "unknown capability %q", name)
		return
	}
	if b.PKI != nil {
		l.errorf(pos, "keep one", "the %s capability is granted twice (first at %s)", name, b.PKI.Pos)
		return
	}
	g := &PKIGrant{Pos: pos}
	if ca, ok := n.attr("ca"); ok {
		if ca == "" || !filepath.IsLocal(filepath.FromSlash(ca)) {
			l.errorf(pos, `name a folder inside the data folder, e.g. ca="keys/bridge-ca" (holding ca.pem and ca-key.pem)`,
				"ca %q is not a relative path inside the data folder", ca)
			return
		}
		g.CA = path.Clean(ca)
	}
	if v, ok := n.attr("maxValidityDays"); ok {
		d, err := strconv.Atoi(v)
		if err != nil || d < 1 || d > 3650 {
			l.errorf(pos, "give a number of days from 1 to 3650", "bad maxValidityDays %q", v)
			return
		}
		g.MaxValidityDays = d
	}
	if v, ok := n.attr("issueCA"); ok {
		switch strings.ToLower(v) {
		case "true":
			g.IssueCA = true
		case "false":
		default:
			l.errorf(pos, `write "true" or "false"`, "issueCA=%q is not a boolean", v)
			return
		}
		if g.IssueCA && g.CA == "" {
			l.errorf(pos, `add ca="..."`, "issueCA needs a signing CA")
			return
		}
	}
	b.PKI = g
}

// adapterFile resolves a file named in an adapter's XML relative to the adapter's folder.
func (l *loader) adapterFile(a *Adapter, name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(a.Dir, filepath.FromSlash(name))
}

// checkPinned verifies that the file exists and, when a SHA-256 is given, that it matches. An
// unpinned module is allowed (development) but reported.
func (l *loader) checkPinned(pos Pos, file, want, what string) {
	f, err := os.Open(file)
	if err != nil {
		l.errorf(pos, "build the "+what+" or fix the path", "%s %s cannot be opened: %v", what, file, err)
		return
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		l.errorf(pos, "", "%s %s cannot be read: %v", what, file, err)
		return
	}
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case want == "":
		l.warnf(pos, fmt.Sprintf(`add sha256="%s" to pin it`, got), "%s %s is not pinned by SHA-256", what, filepath.Base(file))
	case want != got:
		l.errorf(pos, "rebuild from the reviewed source or update the pin after review",
			"%s %s has SHA-256 %s, but the configuration pins %s", what, filepath.Base(file), got, want)
	}
}

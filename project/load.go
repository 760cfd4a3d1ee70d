package project

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
)

// LoadOptions tune Load.
type LoadOptions struct {
	// AdapterKinds are the adapter backend kinds the caller can run; an adapter naming another
	// kind is an error listing these. Nil skips the check.
	AdapterKinds []string
	// Scripts checks the JavaScript of adapters that declare no backend; nil skips it.
	Scripts ScriptChecker
	// DataSources checks the data sources of SQL adapters; nil skips it.
	DataSources DataSourceChecker
}

// Paths of a project's files, relative to its directory.
const (
	AuthConfigPath = "server/conf/authenticationConfig.xml"
	appsDir        = "apps"
	adaptersDir    = "adapters"
	policiesDir    = "policies"
	descriptorName = "application-descriptor.xml"
)

// Load reads and validates the project in dir. On success the returned project's Diagnostics hold
// its warnings. When the project has errors, Load returns a *LoadError holding every diagnostic
// (errors and warnings) and a nil project: a daemon never starts on a configuration it would later
// fail on.
func Load(dir string, opts LoadOptions) (*Project, error) {
	p, diags := load(dir, opts)
	diags.Sort()
	if diags.HasErrors() {
		return nil, &LoadError{Diagnostics: diags}
	}
	p.Diagnostics = diags
	return p, nil
}

// Check loads the project and returns all its diagnostics, errors included, without failing.
func Check(dir string, opts LoadOptions) Diagnostics {
	_, diags := load(dir, opts)
	diags.Sort()
	return diags
}

func load(dir string, opts LoadOptions) (*Project, Diagnostics) {
	l := &loader{
		dir:  dir,
		opts: opts,
		p: &Project{
			Dir:          dir,
			Tests:        map[string]*SecurityTest{},
			Realms:       map[string]*Realm{},
			LoginModules: map[string]*LoginModule{},
			Apps:         map[string]*App{},
			Adapters:     map[string]*Adapter{},
		},
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		l.errorf(Pos{File: dir}, "give the directory that holds server/conf/authenticationConfig.xml", "project directory %s cannot be read", dir)
		return l.p, l.diags.list
	}
	l.loadAuthConfig()
	l.loadApps()
	l.loadAdapters()
	l.loadPolicies()
	l.addDefaults()
	l.validate()
	return l.p, l.diags.list
}

type loader struct {
	dir   string
	opts  LoadOptions
	p     *Project
	diags diagSink

	// usedRealms are the realms that some security test names; usedModules the login modules
	// of those realms. Problems in unused definitions are warnings, in used ones errors.
	usedRealms map[string]bool

	// preUpgrade is true for a project in the authentication model before Worklight 5.0.0.3:
	// realms or login modules, no <securityTests>.
	preUpgrade bool

	// scriptFunctions are the top-level functions of each JavaScript adapter checked by
	// LoadOptions.Scripts, by adapter name, and scriptFiles its script: a realm's login and
	// logout functions must be among them.
	scriptFunctions map[string]map[string]bool
	scriptFiles     map[string]string
}

func (l *loader) errorf(pos Pos, fix, format string, args ...any) {
	l.diags.errorf(pos, fix, format, args...)
}
func (l *loader) warnf(pos Pos, fix, format string, args ...any) {
	l.diags.warnf(pos, fix, format, args...)
}

// readXML reads and parses a project file; problems become diagnostics and a nil result.
func (l *loader) readXML(rel string) *node {
	data, err := os.ReadFile(filepath.Join(l.dir, rel))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		l.errorf(Pos{File: rel}, "", "cannot read: %v", err)
		return nil
	}
	root, err := parseXML(data)
	if err != nil {
		line := 1
		var xe *XMLError
		if errors.As(err, &xe) {
			line = xe.Line
		}
		l.errorf(Pos{File: rel, Line: line}, "", "%v", err)
		return nil
	}
	return root
}

func (l *loader) pos(rel string, n *node) Pos { return Pos{File: rel, Line: n.Line} }

// subdirs lists the directories under rel, sorted.
func (l *loader) subdirs(rel string) []string {
	entries, err := os.ReadDir(filepath.Join(l.dir, rel))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func (l *loader) loadPolicies() {
	entries, err := os.ReadDir(filepath.Join(l.dir, policiesDir))
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".rego") {
			continue
		}
		rel := filepath.ToSlash(filepath.Join(policiesDir, e.Name()))
		data, err := os.ReadFile(filepath.Join(l.dir, rel))
		if err != nil {
			l.errorf(Pos{File: rel}, "", "cannot read: %v", err)
			continue
		}
		if len(data) > maxDocumentBytes {
			l.errorf(Pos{File: rel, Line: 1}, "", "policy file is larger than %d bytes", maxDocumentBytes)
			continue
		}
		l.p.Policies = append(l.p.Policies, &PolicyFile{Path: rel, Source: string(data)})
	}
}

// boolAttr parses a boolean attribute the way real files write them.
func (l *loader) boolAttr(rel string, n *node, names ...string) bool {
	v, ok := n.attrAny(names...)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "yes", "1":
		return true
	case "false", "no", "0", "":
		return false
	}
	l.errorf(l.pos(rel, n), `write "true" or "false"`, "attribute %s has value %q, which is not a boolean", names[0], v)
	return false
}

// checkName refuses a name holding a character that is not printable (a control character such as
// a newline, a private-use or unassigned code point): names of tests and realms are written into
// the generated Rego, where OPA cannot always print such characters back, and nobody can read or
// type them in a configuration.
func (l *loader) checkName(rel string, n *node, what, name string) bool {
	for _, r := range name {
		if !unicode.IsPrint(r) {
			l.errorf(l.pos(rel, n), "use letters, digits, punctuation and spaces",
				"%s name %q contains %U, which is not a printable character", what, name, r)
			return false
		}
	}
	return true
}

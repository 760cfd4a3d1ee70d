// Package migrate upgrades a Worklight project written in the authentication model before
// Worklight 5.0.0.3 (realms and login modules, protection carried by <usage>,
// authenticationRealm and requiresAuthentication) to security tests, as Worklight Studio's
// 5.0.0.3 auto-upgrade did. The project loader refuses the old model rather than serve it
// unprotected; this package is the one command that gets such a project loading.
//
// The upgrade edits the XML as text at the positions of the elements and attributes it
// changes, so comments, indentation and everything it does not touch stay as they were.
package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/realmgate/realmgate/project"
)

// BackupDir is the folder, inside the project, that receives a copy of every file the upgrade
// changes, at the same relative path (Worklight Studio's apps-backup).
const BackupDir = "apps-backup"

const authConfigRel = "server/conf/authenticationConfig.xml"

// File is one file the upgrade changes.
type File struct {
	Rel      string // slash-separated path inside the project
	Old, New []byte
}

// Plan is what the upgrade would do to a project.
type Plan struct {
	Files []File
	// Left lists what could not be upgraded (a procedure that requires authentication without
	// naming a realm, say): the loader still refuses it, and a person has to choose the test.
	Left []string
}

// Test names the upgrade gives the security tests it adds.
func customTestName(realm string) string    { return realm + "-customSecurityTest" }
func webTestName(app string) string         { return app + "-webSecurityTest" }
func webEnvTestName(app, env string) string { return app + "-" + env + "-webSecurityTest" }
func mobileTestName(app, env string) string { return app + "-" + env + "-mobileSecurityTest" }

// newTest is a security test the upgrade adds to authenticationConfig.xml.
type newTest struct {
	Kind  string // customSecurityTest, webSecurityTest, mobileSecurityTest
	Name  string
	Realm string
}

// DocError is a project file the upgrade could not read.
type DocError struct {
	Rel string
	Err error
}

func (e *DocError) Error() string { return e.Rel + ": " + e.Err.Error() }
func (e *DocError) Unwrap() error { return e.Err }

// planner holds the state of one planning pass.
type planner struct {
	dir   string
	tests map[string]newTest // by name
	plan  *Plan
}

// Make plans the upgrade of the project in dir without changing anything. A project already in
// the 5.0.0.3 model yields an empty plan.
func Make(dir string) (*Plan, error) {
	p := &planner{dir: dir, tests: map[string]newTest{}, plan: &Plan{}}
	authData, err := p.read(authConfigRel)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var auth *elem
	existing := map[string]bool{}
	if authData != nil {
		if auth, err = parse(authData); err != nil {
			return nil, &DocError{Rel: authConfigRel, Err: err}
		}
		for _, st := range auth.children("securityTests") {
			for _, t := range st.Children {
				if name, _ := t.attr("name"); name != "" {
					existing[name] = true
				}
			}
		}
	}
	if err := p.adapters(auth != nil); err != nil {
		return nil, err
	}
	if err := p.apps(auth != nil); err != nil {
		return nil, err
	}
	if auth != nil {
		if f, ok, err := p.authConfig(authData, auth, existing); err != nil {
			return nil, err
		} else if ok {
			p.plan.Files = append([]File{f}, p.plan.Files...)
		}
	}
	sort.Slice(p.plan.Files, func(i, j int) bool { return p.plan.Files[i].Rel < p.plan.Files[j].Rel })
	return p.plan, nil
}

func (p *planner) read(rel string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(p.dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	if len(b) > maxDocumentBytes {
		return nil, &DocError{Rel: rel, Err: fmt.Errorf("%d bytes, more than the %d allowed", len(b), maxDocumentBytes)}
	}
	return b, nil
}

func (p *planner) left(format string, args ...any) {
	p.plan.Left = append(p.plan.Left, fmt.Sprintf(format, args...))
}

func (p *planner) addTest(t newTest) {
	p.tests[t.Name] = t
}

// subdirs lists the folders under rel, sorted; a missing folder has none.
func (p *planner) subdirs(rel string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(p.dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// adapters gives each procedure protected by a realm (authenticationRealm) a customSecurityTest
// holding that realm, in securityTest="...", and drops the old attributes.
func (p *planner) adapters(haveAuth bool) error {
	dirs, err := p.subdirs("adapters")
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		rel := path.Join("adapters", dir, dir+".xml")
		data, err := p.read(rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		root, err := parse(data)
		if err != nil {
			return &DocError{Rel: rel, Err: err}
		}
		var edits []edit
		unresolved := 0
		for _, proc := range root.children("procedure") {
			name, _ := proc.attr("name")
			if test, _ := proc.attr("securityTest"); test != "" {
				continue
			}
			realm, _ := proc.attr("authenticationRealm")
			if realm == "" {
				if v, ok := attrAny(proc, "requiresAuthentication", "authenticationRequired"); ok && strings.EqualFold(v, "true") {
					unresolved++
					p.left("%s: procedure %q requires authentication without naming a realm: give it securityTest=\"...\" by hand", rel, name)
				}
				continue
			}
			if !haveAuth {
				unresolved++
				p.left("%s: procedure %q is protected by realm %q, but the project has no %s to hold its security test", rel, name, realm, authConfigRel)
				continue
			}
			test := customTestName(realm)
			p.addTest(newTest{Kind: "customSecurityTest", Name: test, Realm: realm})
			// securityTest takes authenticationRealm's place, so a tag laid out on several
			// lines keeps its layout.
			if e, ok := replaceAttr(data, proc, "authenticationRealm", "securityTest", test); ok {
				edits = append(edits, e)
			}
			for _, a := range []string{"securityTest", "requiresAuthentication", "authenticationRequired"} {
				if e, ok := removeAttr(data, proc, a); ok {
					edits = append(edits, e) // securityTest="" names no test
				}
			}
		}
		if v, ok := root.attr("requiresAuthentication"); ok && strings.EqualFold(v, "true") {
			if unresolved == 0 {
				e, _ := removeAttr(data, root, "requiresAuthentication")
				edits = append(edits, e)
			} else {
				p.left("%s: adapter %q keeps requiresAuthentication until its procedures have security tests", rel, dir)
			}
		}
		if err := p.file(rel, data, edits); err != nil {
			return err
		}
	}
	return nil
}

func attrAny(e *elem, names ...string) (string, bool) {
	for _, n := range names {
		if v, ok := e.attr(n); ok {
			return v, true
		}
	}
	return "", false
}

// onStartup returns the first realm of a <usage requireAuthentication="onStartup"> child of e,
// and whether e has a <usage> that decides (onStartup, or another mode such as "never").
func onStartup(e *elem) (realm string, decided bool) {
	us := e.children("usage")
	if len(us) == 0 {
		return "", false
	}
	if mode, _ := us[0].attr("requireAuthentication"); !strings.EqualFold(mode, "onStartup") {
		return "", true
	}
	return usageRealm(us[0]), true
}

// usageRealm is the first realm a <usage> names, or "".
func usageRealm(u *elem) string {
	for _, r := range u.children("realm") {
		if name, _ := r.attr("name"); name != "" {
			return name
		}
	}
	return ""
}

// usages returns every <usage> element under e, at any depth (the loader refuses one anywhere).
func usages(e *elem) []*elem {
	var out []*elem
	for _, c := range e.Children {
		if strings.EqualFold(c.Name, "usage") {
			out = append(out, c)
			continue
		}
		out = append(out, usages(c)...)
	}
	return out
}

// apps gives each environment of an application that required authentication on startup a
// webSecurityTest (web environments) or mobileSecurityTest (each mobile one) naming the realm as
// testUser, and drops <usage>.
func (p *planner) apps(haveAuth bool) error {
	dirs, err := p.subdirs("apps")
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		rel := path.Join("apps", dir, "application-descriptor.xml")
		data, err := p.read(rel)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		root, err := parse(data)
		if err != nil {
			return &DocError{Rel: rel, Err: err}
		}
		all := usages(root)
		app, _ := root.attr("id")
		if app == "" {
			app = dir
		}
		startup, noRealm := false, false
		for _, u := range all {
			if mode, _ := u.attr("requireAuthentication"); strings.EqualFold(mode, "onStartup") {
				startup = true
				noRealm = noRealm || usageRealm(u) == ""
			}
		}
		if !startup {
			continue
		}
		if noRealm {
			// Dropping that <usage> would leave the application open: a person chooses the realm.
			p.left("%s: application %q requires authentication on startup without naming a realm: add <realm name=\"...\"/> to its <usage> and run again", rel, app)
			continue
		}
		if !haveAuth {
			p.left("%s: application %q requires authentication on startup, but the project has no %s to hold its security tests", rel, app, authConfigRel)
			continue
		}
		appRealm, _ := onStartup(root)
		type envElem struct {
			name string
			e    *elem
		}
		var envs []envElem
		if env, ok := project.NativeEnvironment(root.Name); ok {
			envs = append(envs, envElem{env, root})
			appRealm = ""
		} else {
			for _, c := range root.Children {
				if project.IsEnvironment(c.Name) {
					envs = append(envs, envElem{strings.ToLower(c.Name), c})
				}
			}
		}
		var edits []edit
		for _, env := range envs {
			if test, _ := env.e.attr("securityTest"); test != "" {
				continue
			}
			realm, decided := onStartup(env.e)
			if !decided {
				realm = appRealm
			}
			if realm == "" {
				continue
			}
			var t newTest
			switch {
			case project.IsMobileEnvironment(env.name):
				t = newTest{Kind: "mobileSecurityTest", Name: mobileTestName(app, env.name), Realm: realm}
			case realm == appRealm:
				t = newTest{Kind: "webSecurityTest", Name: webTestName(app), Realm: realm}
			default:
				t = newTest{Kind: "webSecurityTest", Name: webEnvTestName(app, env.name), Realm: realm}
			}
			p.addTest(t)
			if e, ok := removeAttr(data, env.e, "securityTest"); ok {
				edits = append(edits, e) // securityTest="" names no test
			}
			edits = append(edits, addAttr(data, env.e, "securityTest", t.Name))
		}
		for _, u := range all {
			edits = append(edits, removeElem(data, u))
		}
		if err := p.file(rel, data, edits); err != nil {
			return err
		}
	}
	return nil
}

// authConfig drops the login modules' old attributes and adds the new security tests.
func (p *planner) authConfig(data []byte, root *elem, existing map[string]bool) (File, bool, error) {
	var edits []edit
	for _, lms := range root.children("loginModules") {
		for _, lm := range lms.children("loginModule") {
			for _, a := range []string{"canBeResourceLogin", "isIdentityAssociationKey"} {
				if e, ok := removeAttr(data, lm, a); ok {
					edits = append(edits, e)
				}
			}
		}
	}
	var names []string
	for name := range p.tests {
		if !existing[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		e, err := insertTests(data, root, names, p.tests)
		if err != nil {
			return File{}, false, &DocError{Rel: authConfigRel, Err: err}
		}
		edits = append(edits, e)
	}
	if len(edits) == 0 {
		return File{}, false, nil
	}
	out, err := apply(data, edits)
	if err != nil {
		return File{}, false, &DocError{Rel: authConfigRel, Err: err}
	}
	return File{Rel: authConfigRel, Old: data, New: out}, true, nil
}

// insertTests returns the edit that adds the tests: into the existing <securityTests>, or as a
// new <securityTests> before the first child of the root (where Worklight writes it).
func insertTests(data []byte, root *elem, names []string, tests map[string]newTest) (edit, error) {
	nl := newline(data)
	if len(root.Children) == 0 {
		return edit{}, fmt.Errorf("<%s> has no realms to protect with security tests", root.Name)
	}
	first := root.Children[0]
	unit := indentOf(data, first)
	if unit == "" {
		unit = "\t"
	}
	body := func(level string) string {
		var b strings.Builder
		for _, name := range names {
			t := tests[name]
			in := level + unit
			fmt.Fprintf(&b, "%s<%s name=\"%s\">%s", level, t.Kind, escapeAttr(t.Name), nl)
			if t.Kind == "customSecurityTest" {
				fmt.Fprintf(&b, "%s<test realm=\"%s\" isInternalUserID=\"true\"/>%s", in, escapeAttr(t.Realm), nl)
			} else {
				fmt.Fprintf(&b, "%s<testUser realm=\"%s\"/>%s", in, escapeAttr(t.Realm), nl)
			}
			fmt.Fprintf(&b, "%s</%s>%s", level, t.Kind, nl)
		}
		return b.String()
	}
	for _, st := range root.Children {
		if !strings.EqualFold(st.Name, "securityTests") {
			continue
		}
		level := indentOf(data, st)
		prefix := tagPrefix(data, st)
		if st.TagEnd == st.End { // <securityTests/>
			return edit{From: st.Start, To: st.End, Text: "<" + prefix + "securityTests>" + nl + body(level+unit) + level + "</" + prefix + "securityTests>"}, nil
		}
		closing := st.End - 1
		for closing > st.TagEnd && data[closing] != '<' {
			closing--
		}
		at := closing
		for at > st.TagEnd && (data[at-1] == ' ' || data[at-1] == '\t') {
			at--
		}
		if at > 0 && data[at-1] == '\n' {
			return edit{From: at, To: at, Text: body(level + unit)}, nil
		}
		return edit{From: closing, To: closing, Text: nl + body(level+unit) + level}, nil
	}
	prefix := tagPrefix(data, first)
	text := "<" + prefix + "securityTests>" + nl + body(unit+unit) + unit + "</" + prefix + "securityTests>" + nl + nl + unit
	return edit{From: first.Start, To: first.Start, Text: text}, nil
}

// tagPrefix returns the namespace prefix of e's start tag ("tns:" or ""), so that new elements
// are written as their siblings are.
func tagPrefix(data []byte, e *elem) string {
	tag := string(data[e.Start+1 : e.TagEnd])
	end := strings.IndexAny(tag, " \t\r\n/>")
	if end < 0 {
		end = len(tag)
	}
	if i := strings.IndexByte(tag[:end], ':'); i >= 0 {
		return tag[:i+1]
	}
	return ""
}

// file records the result of edits to one file, when they change it.
func (p *planner) file(rel string, data []byte, edits []edit) error {
	if len(edits) == 0 {
		return nil
	}
	out, err := apply(data, edits)
	if err != nil {
		return &DocError{Rel: rel, Err: err}
	}
	p.plan.Files = append(p.plan.Files, File{Rel: rel, Old: data, New: out})
	return nil
}

// BackupExistsError is a file whose backup is already in apps-backup/: the upgrade does not
// overwrite the copy of an earlier original.
type BackupExistsError struct{ Path string }

func (e *BackupExistsError) Error() string {
	return fmt.Sprintf("%s already exists: move it away before upgrading again", e.Path)
}

// Apply copies each file of the plan into apps-backup/ under dir, then writes the upgraded file
// in its place (through a temporary file and a rename, so a reader never sees half a file).
// Every backup is written before any file is changed.
func Apply(dir string, plan *Plan) error {
	for _, f := range plan.Files {
		dst := filepath.Join(dir, BackupDir, filepath.FromSlash(f.Rel))
		if _, err := os.Lstat(dst); err == nil {
			return &BackupExistsError{Path: dst}
		}
	}
	for _, f := range plan.Files {
		dst := filepath.Join(dir, BackupDir, filepath.FromSlash(f.Rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := os.WriteFile(dst, f.Old, 0o644); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	for _, f := range plan.Files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Rel))
		mode := fs.FileMode(0o644)
		if st, err := os.Stat(dst); err == nil {
			mode = st.Mode().Perm()
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), ".migrate-*")
		if err != nil {
			return err
		}
		_, werr := tmp.Write(f.New)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), mode)); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %w", f.Rel, err)
		}
		if err := os.Rename(tmp.Name(), dst); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("write %s: %w", f.Rel, err)
		}
	}
	return nil
}

package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/project"
)

// adapterLoginRealm is a realm of a corpus project whose login-function names a function of a
// JavaScript adapter: an adapter-based login (Worklight's AdapterAuthenticator).
type adapterLoginRealm struct {
	project, realm, adapter, loginFunction, logoutFunction string
}

// authConfigRealms is what corpusAdapterLogins reads of an authenticationConfig.xml: the realms
// and their parameters, written either as value="..." or as the element's text.
type authConfigRealms struct {
	Realms []struct {
		Name   string `xml:"name,attr"`
		Params []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
			Text  string `xml:",chardata"`
		} `xml:"parameter"`
	} `xml:"realms>realm"`
}

// corpusAdapterLogins lists the adapter-based logins of the corpus at root, by project and realm.
// It reads the XML itself rather than through the project model, which refuses most of these
// projects as a whole.
func corpusAdapterLogins(t *testing.T, root string) []adapterLoginRealm {
	t.Helper()
	confs, err := filepath.Glob(filepath.Join(root, "*", filepath.FromSlash(project.AuthConfigPath)))
	if err != nil {
		t.Fatal(err)
	}
	var out []adapterLoginRealm
	for _, conf := range confs {
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		var c authConfigRealms
		if err := xml.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", conf, err)
		}
		proj := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(conf))))
		for _, r := range c.Realms {
			l := adapterLoginRealm{project: proj, realm: r.Name}
			for _, p := range r.Params {
				v := strings.TrimSpace(p.Value)
				if v == "" {
					v = strings.TrimSpace(p.Text)
				}
				switch p.Name {
				case "login-function":
					l.loginFunction = v
				case "logout-function":
					l.logoutFunction = v
				}
			}
			adapter, _, ok := strings.Cut(l.loginFunction, ".")
			if !ok {
				continue
			}
			l.adapter = adapter
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].project != out[j].project {
			return out[i].project < out[j].project
		}
		return out[i].realm < out[j].realm
	})
	return out
}

var adapterNameAttr = regexp.MustCompile(`<(?:\w+:)?adapter\b[^>]*?\bname\s*=\s*"([^"]*)"`)

// adapterFolder returns the folder under adapters/ of the project at dir that declares adapter
// name, or "" when none does.
func adapterFolder(t *testing.T, dir, name string) string {
	t.Helper()
	xmls, _ := filepath.Glob(filepath.Join(dir, "adapters", "*", "*.xml"))
	for _, f := range xmls {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := adapterNameAttr.FindSubmatch(b); m != nil && string(m[1]) == name {
			return filepath.Base(filepath.Dir(f))
		}
	}
	return ""
}

// projectErrors loads the project at dir as hostd serve and hostd check do (the model with its
// JavaScript checked, then the policies compiled) and returns its errors, FILE relative to dir,
// or, when the daemon would start on it, the project.
func projectErrors(t *testing.T, dir string) (*project.Project, []project.Diagnostic) {
	t.Helper()
	p, _, err := daemon.LoadProject(context.Background(), dir)
	if err == nil {
		// hostd check leaves a SQL adapter's JNDI name to hostd.yaml's dataSources; the tests'
		// daemons map none, so the daemon refuses such an adapter at its data source.
		var errs []project.Diagnostic
		for _, name := range slices.Sorted(maps.Keys(p.Adapters)) {
			if ds := p.Adapters[name].DataSource; ds != nil && ds.JNDIName != "" {
				errs = append(errs, project.Diagnostic{Severity: project.Error, Pos: ds.Pos,
					Message: fmt.Sprintf("adapter %q: its data source %q is not mapped in hostd.yaml's dataSources (the tests' daemons map none)", name, ds.JNDIName)})
			}
		}
		if len(errs) > 0 {
			return nil, errs
		}
		return p, nil
	}
	var le *project.LoadError
	if !errors.As(err, &le) {
		return nil, []project.Diagnostic{{Severity: project.Error, Message: err.Error()}}
	}
	errs := le.Diagnostics.Errors()
	for i, d := range errs {
		if filepath.IsAbs(d.Pos.File) {
			if rel, err := filepath.Rel(dir, d.Pos.File); err == nil {
				errs[i].Pos.File = filepath.ToSlash(rel)
			}
		}
	}
	return nil, errs
}

// protectedBy lists what the project protects with a security test holding realm: adapter
// procedures, application environments (and the procedures that take their test) and static
// resources.
func protectedBy(p *project.Project, realm string) []string {
	holds := map[string]bool{}
	for name, test := range p.Tests {
		for _, tr := range test.Realms {
			if tr.Realm == realm {
				holds[name] = true
			}
		}
	}
	var out []string
	for _, a := range p.Adapters {
		for _, proc := range a.Procedures {
			if holds[proc.SecurityTest] {
				out = append(out, fmt.Sprintf("procedure %s.%s", a.Name, proc.Name))
			}
		}
	}
	for _, app := range p.Apps {
		for _, env := range app.Envs {
			if holds[env.SecurityTest] {
				out = append(out, fmt.Sprintf("environment %s of application %s", env.Name, app.ID))
			}
		}
	}
	for _, r := range p.StaticResources {
		if holds[r.SecurityTest] {
			out = append(out, "static resource "+r.ID)
		}
	}
	sort.Strings(out)
	return out
}

// refusal renders a load error as "FILE:LINE: message", without the fix.
func refusal(d project.Diagnostic) string {
	if d.Pos.File == "" {
		return d.Message
	}
	return d.Pos.String() + ": " + d.Message
}

// adapterLoginRow is one line of the table of corpus adapter-based logins.
type adapterLoginRow struct {
	adapterLoginRealm
	// projectStatus is "loads" or the project's first error as it is in the corpus.
	projectStatus string
	// adapterStatus is "supported APIs only" or the first error at the login adapter's files.
	adapterStatus string
	// drop are the other adapters that keep the project from loading, and loginStatus is
	// whether the project loads without them ("loads") or its first error then.
	drop        []string
	loginStatus string
	loginErrors []string
	// protects is, for a login that loads, what the project protects with a test holding the
	// realm ("nothing" for a realm a client cannot meet but by an explicit login).
	protects string
	tested   string
}

func (r adapterLoginRow) loads() bool { return r.loginStatus == "loads" }

func (r adapterLoginRow) String() string {
	adapter, login := r.adapterStatus, r.loginStatus
	if adapter == r.projectStatus {
		adapter = "the project's first error"
	}
	switch {
	case len(r.drop) > 0:
		if login == r.adapterStatus {
			login = "the adapter's first error"
		}
		login = fmt.Sprintf("without adapters %s: %s", strings.Join(r.drop, ", "), login)
	case login == r.projectStatus && login != "loads":
		login = "the project's first error"
	}
	protects := ""
	if r.protects != "" {
		protects = "\tprotects: " + r.protects + "\n"
	}
	return fmt.Sprintf("%s realm %s, adapter %s\n\tproject: %s\n\tadapter: %s\n\tlogin:   %s\n%s\ttested:  %s\n",
		r.project, r.realm, r.adapter, r.projectStatus, adapter, login, protects, r.tested)
}

// untestedCorpusLogins say why a login that loads is not driven by a test; a login that loads
// and is in neither this map nor the tests' tables fails TestCorpusAdapterLoginTable.
var untestedCorpusLogins = map[string]string{
	// Both logins check the password through invokeProcedure against the project's SQL adapter,
	// which needs a MySQL database with the tables its statements name.
	"madel0093__Diary/SimpleAuthRealm":            "its submit procedure reads the user through invokeProcedure from the SQL adapter DiaryMySQL, which needs a MySQL database with its tables",
	"sangamewin__restroom/UserSecurityCheckRealm": "its submit procedure reads the user through invokeProcedure from the SQL adapter MySqlAdapter, whose URL names a Worklight property",
}

// protectsInCopy says, by project/realm, whether the test's copy of the project protects
// something with the realm (corpusLogin.protectTest); testedCorpusLogins fills it.
var protectsInCopy map[string]bool

// testedCorpusLogins returns which test drives each corpus login, by project/realm, and the
// adapters each one leaves out of its copy.
func testedCorpusLogins() (tested map[string]string, drops map[string][]string) {
	tested, drops = map[string]string{}, map[string][]string{}
	protectsInCopy = map[string]bool{}
	for _, tc := range corpusLogins {
		k := tc.project + "/" + tc.realm
		tested[k] = "yes, one step (TestCorpusJavaScriptLogins)"
		switch {
		case tc.protectTest != "" && tc.protected != "":
			tested[k] = fmt.Sprintf("yes, one step: the copy declares the script's %s, protected by %s, since the project protects nothing with the realm (TestCorpusJavaScriptLogins)",
				tc.protected, tc.protectTest)
		case tc.protectTest != "":
			env := "web"
			if tc.env != "" {
				env = tc.env
			}
			tested[k] = fmt.Sprintf("yes, one step, at the app's init: the copy protects its %s environment with %s, since the project protects nothing with the realm (TestCorpusJavaScriptLogins)",
				env, tc.protectTest)
		}
		drops[k] = tc.drop
		protectsInCopy[k] = tc.protectTest != ""
	}
	for _, tc := range twoStepLogins {
		k := tc.project + "/" + tc.realm
		tested[k] = "yes, two steps (TestCorpusJavaScriptTwoStepLogins)"
		drops[k] = tc.drop
	}
	return tested, drops
}

// TestCorpusAdapterLoginTable recomputes, from the corpus, the table of its adapter-based logins
// (testdata/corpus-logins.golden; -update rewrites it): for each, whether its project loads as
// it is, whether its adapter needs only the APIs the JavaScript runtime offers, whether the
// project loads once the other adapters that the runtime refuses are left out, and which test
// logs a user in through it. A login that loads is driven by a test or says why not here.
func TestCorpusAdapterLoginTable(t *testing.T) {
	corpustest.Projects(t)
	root := corpustest.Dir
	logins := corpusAdapterLogins(t, root)
	tested, drops := testedCorpusLogins()

	type projectLoad struct {
		p    *project.Project
		errs []project.Diagnostic
	}
	loads := map[string]projectLoad{}
	var rows []adapterLoginRow
	for _, l := range logins {
		dir := filepath.Join(root, l.project)
		pl, ok := loads[l.project]
		if !ok {
			p, errs := projectErrors(t, dir)
			pl = projectLoad{p: p, errs: errs}
			loads[l.project] = pl
		}
		row := adapterLoginRow{adapterLoginRealm: l, projectStatus: "loads", adapterStatus: "supported APIs only", loginStatus: "loads"}
		folder := adapterFolder(t, dir, l.adapter)
		if folder == "" {
			row.adapterStatus = "no adapter of that name in the project"
		}
		dropSet := map[string]bool{}
		for _, d := range pl.errs {
			if row.projectStatus == "loads" {
				row.projectStatus = refusal(d)
			}
			rest, under := strings.CutPrefix(d.Pos.File, "adapters/")
			if !under {
				continue
			}
			f, _, _ := strings.Cut(rest, "/")
			if f == folder {
				if row.adapterStatus == "supported APIs only" {
					row.adapterStatus = refusal(d)
				}
				continue
			}
			dropSet[f] = true
		}
		for f := range dropSet {
			row.drop = append(row.drop, f)
		}
		sort.Strings(row.drop)
		loaded := pl.p
		if len(pl.errs) > 0 {
			errs := pl.errs
			if len(row.drop) > 0 {
				loaded, errs = projectErrors(t, copyWithout(t, dir, row.drop))
			}
			if len(errs) > 0 {
				row.loginStatus = refusal(errs[0])
			}
			for _, d := range errs {
				row.loginErrors = append(row.loginErrors, d.Message)
			}
		}
		if loaded != nil {
			row.protects = "nothing"
			if what := protectedBy(loaded, l.realm); len(what) > 0 {
				row.protects = strings.Join(what, ", ")
			}
		}
		k := l.project + "/" + l.realm
		if copied, ok := protectsInCopy[k]; ok && copied != (row.protects == "nothing") {
			t.Errorf("%s protects %s: its test's copy protects something with the realm only when the project protects nothing", k, row.protects)
		}
		switch why, untested := untestedCorpusLogins[k]; {
		case tested[k] != "":
			row.tested = tested[k]
			if !row.loads() {
				t.Errorf("%s is driven by a test but does not load: %s", k, row.loginStatus)
			}
			if diff := cmp.Diff(row.drop, drops[k]); diff != "" {
				t.Errorf("%s: the test leaves out other adapters than those that keep the project from loading (-computed +test):\n%s", k, diff)
			}
		case untested:
			row.tested = "no: " + why
			if !row.loads() {
				t.Errorf("%s does not load: it needs no reason not to be tested", k)
			}
		case row.loads():
			row.tested = "no"
			t.Errorf("%s loads: drive it in a test (corpusLogins, twoStepLogins) or say why not (untestedCorpusLogins)", k)
		default:
			row.tested = "no: it does not load: " + whoseRefusal(row.loginErrors)
		}
		rows = append(rows, row)
	}

	var b strings.Builder
	projects := map[string]bool{}
	nload, ntested := 0, 0
	for _, r := range rows {
		projects[r.project] = true
		if r.loads() {
			nload++
		}
		if strings.HasPrefix(r.tested, "yes") {
			ntested++
		}
	}
	fmt.Fprintf(&b, "# The adapter-based logins of the Worklight corpus: realms whose login-function names a\n")
	fmt.Fprintf(&b, "# function of a JavaScript adapter. TestCorpusAdapterLoginTable recomputes this file from the\n")
	fmt.Fprintf(&b, "# corpus (go test -run TestCorpusAdapterLoginTable ./hostd -update rewrites it).\n")
	fmt.Fprintf(&b, "# project: loads as it is, or its first error; adapter: the login adapter's first error;\n")
	fmt.Fprintf(&b, "# login: loads once the other adapters the runtime refuses are left out, or the first error then;\n")
	fmt.Fprintf(&b, "# protects: what the project protects with a test holding the realm;\n")
	fmt.Fprintf(&b, "# tested: the test that logs a user in through the Go client over the real -impl.js and XML.\n")
	fmt.Fprintf(&b, "%d adapter-based logins in %d projects: %d load, %d logged in by a test\n", len(rows), len(projects), nload, ntested)
	for _, r := range rows {
		b.WriteString("\n")
		b.WriteString(r.String())
	}
	checkGolden(t, filepath.Join("testdata", "corpus-logins.golden"), b.String())
	for k := range untestedCorpusLogins {
		if !slices.ContainsFunc(rows, func(r adapterLoginRow) bool { return r.project+"/"+r.realm == k }) {
			t.Errorf("untestedCorpusLogins names %s, which is no adapter-based login of the corpus", k)
		}
	}
}

// whoseRefusal says whose the errors of a login that does not load are: the script's when it
// calls Java (no sandbox runs it); the project's when its configuration names Java authenticator
// or login module classes; Realmgate's when they name Worklight server APIs the runtime does not
// offer yet; else the project's configuration (incomplete or contradictory).
func whoseRefusal(errs []string) string {
	var api, javaClass bool
	for _, msg := range errs {
		if strings.Contains(msg, " uses Java (") {
			return "the script's, it calls Java classes"
		}
		api = api || strings.Contains(msg, "which Realmgate's JavaScript runtime does not run")
		javaClass = javaClass || strings.Contains(msg, "which Realmgate does not implement")
	}
	switch {
	case javaClass:
		return "the project's, it configures Java authenticator or login module classes"
	case api:
		return "Realmgate's, a Worklight server API the runtime does not offer"
	}
	return "the project's configuration"
}

// copyWithout copies the project at dir into a temporary folder without the adapter folders
// drop, and returns the copy.
func copyWithout(t *testing.T, dir string, drop []string) string {
	t.Helper()
	out := t.TempDir()
	if err := os.CopyFS(out, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for _, a := range drop {
		if err := os.RemoveAll(filepath.Join(out, "adapters", a)); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// checkGolden compares got with the file at path, or rewrites it under -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is stale (-want +got; -update rewrites it):\n%s", path, diff)
	}
}

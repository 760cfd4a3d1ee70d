package jsapi

import (
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/realmgate/realmgate/internal/corpustest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// corpusAdapter is one row of the corpus's ADAPTERS.tsv: a JavaScript adapter and the features
// its curator listed for it.
type corpusAdapter struct {
	dir, path string
	features  []string
}

// readAdapters reads ADAPTERS.tsv, finding its columns by the names of its header.
func readAdapters(t *testing.T) (string, []corpusAdapter) {
	t.Helper()
	root := corpustest.Root(t)
	data, err := os.ReadFile(filepath.Join(root, "ADAPTERS.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	col := map[string]int{}
	for i, name := range strings.Split(lines[0], "\t") {
		col[name] = i
	}
	for _, name := range []string{"dir", "path", "features"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("ADAPTERS.tsv has no %q column: %q", name, lines[0])
		}
	}
	var out []corpusAdapter
	for _, line := range lines[1:] {
		f := strings.Split(line, "\t")
		a := corpusAdapter{dir: f[col["dir"]], path: f[col["path"]]}
		for _, feat := range strings.Split(f[col["features"]], ",") {
			if feat != "" {
				a.features = append(a.features, feat)
			}
		}
		out = append(out, a)
	}
	return root, out
}

// TSV feature names, and how a scan's uses map onto them.
const (
	featLogger     = "WL.Logger"
	featJava       = "Java calls"
	featPush       = "WL.Server.createEventSource/notifications"
	featTransforms = "JSON/XSLT transforms"
)

// tsvAPIs are the WL.Server APIs ADAPTERS.tsv names one by one.
var tsvAPIs = []string{
	"WL.Server.invokeHttp", "WL.Server.invokeProcedure", "WL.Server.setActiveUser",
	"WL.Server.getActiveUser", "WL.Server.getClientRequest", "WL.Server.createSQLStatement",
	"WL.Server.invokeSQLStatement", "WL.Server.invokeSQLStoredProcedure",
}

// pushAPIs are the notification APIs ADAPTERS.tsv groups under featPush.
var pushAPIs = []string{
	"WL.Server.createEventSource", "WL.Server.createDefaultNotification", "WL.Server.notifyAllDevices",
	"WL.Server.notifyDevice", "WL.Server.notifyDeviceSubscription", "WL.Server.notifyDeviceToken",
	"WL.Server.getUserNotificationSubscription", "WL.Server.setEventHandlers", "WL.Server.sendMessage",
	"WL.Server.createSMSEventHandler", "WL.Server.getSMSSubscription", "WL.Server.subscribeSMS",
	"WL.Server.unsubscribeSMS",
}

// authFunctions are the adapter-based authentication functions ADAPTERS.tsv lists when the
// script defines them.
var authFunctions = []string{"onAuthRequired", "submitAuthentication", "onLogout"}

// tsvFeatures returns what ADAPTERS.tsv would say of a scanned adapter, in its vocabulary:
// "JSON/XSLT transforms" there means the script applies an XSL transformation or the adapter's
// folder holds an XSL file.
func tsvFeatures(r *Report, folder []string) []string {
	var out []string
	add := func(f string) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for _, u := range r.Uses {
		switch {
		case u.API == FamilyXSL || u.API == FamilyStockXSL:
			add(featTransforms)
		case strings.HasPrefix(u.API, "WL.Logger."):
			add(featLogger)
		case u.API == FamilyJava:
			add(featJava)
		case slices.Contains(pushAPIs, u.API):
			add(featPush)
		case slices.Contains(tsvAPIs, u.API):
			add(u.API)
		}
	}
	for _, f := range authFunctions {
		if _, ok := r.Functions[f]; ok {
			add(f)
		}
	}
	for _, name := range folder {
		if strings.HasSuffix(name, ".xsl") {
			add(featTransforms)
		}
	}
	slices.Sort(out)
	return out
}

// tsvCorrections are the rows of ADAPTERS.tsv that the scan contradicts after review: each says
// what the scan finds that the row lacks (+) or lists wrongly (-), and why the scan is right.
var tsvCorrections = map[string]string{
	// ADAPTERS.tsv says "JSON/XSLT transforms" of these, but neither does the script apply an
	// XSL transformation (CatalogAdapter only mentions one in the template's comment) nor does
	// the corpus folder hold an XSL file: there is nothing to apply or refuse.
	"maggix__MobileFirstStarter/adapters/CatalogAdapter/CatalogAdapter-impl.js":               "-JSON/XSLT transforms",
	"saurabhbwin__DE-ALERTS/adapters/DEalertFAQ/DEalertFAQ-impl.js":                           "-JSON/XSLT transforms",
	"saurabhbwin__DE-ALERTS/adapters/PushNotificationAdapter/PushNotificationAdapter-impl.js": "-JSON/XSLT transforms",
	"saurabhbwin__DE-ALERTS/adapters/bluePageLoginAdapter/bluePageLoginAdapter-impl.js":       "-JSON/XSLT transforms",
	"saurabhbwin__DE-ALERTS/adapters/bluegroupAdapter/bluegroupAdapter-impl.js":               "-JSON/XSLT transforms",
	"xverges__mobilefirst-jasmine-sample/adapters/UserDataAdapter/UserDataAdapter-impl.js":    "-JSON/XSLT transforms",
}

// TestCorpusAgreesWithAdaptersTSV scans every JavaScript adapter of the corpus and checks that
// what it finds is what ADAPTERS.tsv lists, except where tsvCorrections says, after review, that
// the list is wrong; then it records the counts per API and status in testdata/corpus.golden
// (rewrite with -update).
func TestCorpusAgreesWithAdaptersTSV(t *testing.T) {
	root, rows := readAdapters(t)
	if len(rows) < 90 {
		t.Fatalf("ADAPTERS.tsv lists %d adapters, want the corpus's 94", len(rows))
	}
	type count struct{ adapters, uses int }
	perAPI := map[string]*count{}
	loadable, withMissing, logins, loadableLogins := 0, 0, 0, 0
	refusedBy, refusedAlone := map[string]int{}, map[string]int{}
	var golden strings.Builder
	corrections := map[string]string{}
	for _, row := range rows {
		file := filepath.Join(root, row.dir, filepath.FromSlash(row.path))
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Scan(row.path, src)
		if err != nil {
			t.Errorf("%s/%s: %v", row.dir, row.path, err)
			continue
		}
		r.ResolveXSL(func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(filepath.Dir(file), name)) })
		entries, err := os.ReadDir(filepath.Dir(file))
		if err != nil {
			t.Fatal(err)
		}
		var folder []string
		for _, e := range entries {
			folder = append(folder, e.Name())
		}
		want := slices.Sorted(slices.Values(row.features))
		got := tsvFeatures(r, folder)
		if diff := featureDiff(want, got); diff != "" {
			corrections[row.dir+"/"+row.path] = diff
		}

		for _, api := range r.APIs() {
			c := perAPI[api]
			if c == nil {
				c = &count{}
				perAPI[api] = c
			}
			c.adapters++
		}
		for _, u := range r.Uses {
			perAPI[u.API].uses++
		}
		refused := r.Refused()
		if len(refused) == 0 {
			loadable++
		}
		if slices.Contains(r.APIs(), "WL.Server.setActiveUser") {
			logins++
			if len(refused) == 0 {
				loadableLogins++
			}
		}
		seen := map[string]bool{}
		for _, u := range refused {
			if !seen[u.API] {
				seen[u.API] = true
				refusedBy[u.API]++
			}
		}
		if len(seen) == 1 {
			for api := range seen {
				refusedAlone[api]++
			}
		}
		procs, err := xmlProcedures(filepath.Join(filepath.Dir(file), strings.TrimSuffix(filepath.Base(file), "-impl.js")+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		missing := r.MissingFunctions(procs)
		if len(missing) > 0 {
			withMissing++
		}
		status := "loads  "
		if len(refused) > 0 || len(missing) > 0 {
			status = "refused"
		}
		fmt.Fprintf(&golden, "%s %s/%s: %s", status, row.dir, row.path, strings.Join(r.APIs(), ", "))
		if len(missing) > 0 {
			fmt.Fprintf(&golden, "; procedures without a function: %s", strings.Join(missing, ", "))
		}
		golden.WriteString("\n")
	}
	if diff := cmp.Diff(tsvCorrections, corrections); diff != "" {
		t.Errorf("the scan and ADAPTERS.tsv disagree where no reviewed correction says so (-reviewed +found):\n%s", diff)
	}

	fmt.Fprintf(&golden, "\nuses per API (adapters, uses, status):\n")
	for _, api := range slices.Sorted(mapKeys(perAPI)) {
		c := perAPI[api]
		fmt.Fprintf(&golden, "  %-45s %3d %4d %s\n", api, c.adapters, c.uses, Classify(api).Status)
	}
	fmt.Fprintf(&golden, "\nadapters refused per API (all, and those it alone refuses):\n")
	for _, api := range slices.Sorted(mapKeys(refusedBy)) {
		fmt.Fprintf(&golden, "  %-45s %3d %3d\n", api, refusedBy[api], refusedAlone[api])
	}
	fmt.Fprintf(&golden, "\n%d JavaScript adapters: %d use only supported APIs, %d use a refused one; %d declare a procedure the script has no function for\n",
		len(rows), loadable, len(rows)-loadable, withMissing)
	fmt.Fprintf(&golden, "%d adapters log users in (WL.Server.setActiveUser): %d use only supported APIs\n", logins, loadableLogins)
	t.Logf("%d adapters: %d use only supported APIs; %d declare a procedure without a function", len(rows), loadable, withMissing)
	checkGolden(t, filepath.Join("testdata", "corpus.golden"), golden.String())
}

// featureDiff says what got has that want lacks (+name) and the reverse (-name), or "".
func featureDiff(want, got []string) string {
	var d []string
	for _, g := range got {
		if !slices.Contains(want, g) {
			d = append(d, "+"+g)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			d = append(d, "-"+w)
		}
	}
	return strings.Join(d, " ")
}

func mapKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// xmlProcedures returns the names of the procedures an adapter XML declares.
func xmlProcedures(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Procedures []struct {
			Name string `xml:"name,attr"`
		} `xml:"procedure"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []string
	for _, p := range doc.Procedures {
		out = append(out, p.Name)
	}
	return out, nil
}

// checkGolden compares got with the golden file at path, or rewrites it under -update.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/jsapi -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-golden +got); run go test ./adapters/jsapi -update after review:\n%s", path, diff)
	}
}

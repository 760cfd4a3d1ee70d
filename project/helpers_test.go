package project

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// update rewrites golden files instead of comparing against them: go test ./project -update
var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// ac is the path of the authentication configuration inside a project, as diagnostics name it.
const ac = AuthConfigPath

// files is a project directory to build: relative path to content.
type files map[string]string

// writeProject writes the files into a new temporary directory and returns it.
func writeProject(t testing.TB, fs files) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range fs {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// authConfig wraps body in a tns:loginConfiguration document. Line 1 is the XML declaration and
// line 2 the root start tag, so when body begins with a newline its first line is line 3.
func authConfig(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">` +
		body + "</tns:loginConfiguration>\n"
}

// hybridApp is an application-descriptor.xml of a hybrid application; body starts on line 3.
func hybridApp(id, body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<application xmlns="http://www.worklight.com/application-descriptor" id="` + id + `" platformVersion="7.1.0.00">` +
		body + "</application>\n"
}

// adapterXML is an adapter declaration named name; body starts on line 3.
func adapterXML(name, body string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<wl:adapter xmlns:wl="http://www.ibm.com/mfp/integration" xmlns:http="http://www.ibm.com/mfp/integration/http" name="` + name + `">` +
		body + "</wl:adapter>\n"
}

// appPath and adapterPath are where a project keeps an application's descriptor and an adapter's
// declaration.
func appPath(id string) string       { return "apps/" + id + "/application-descriptor.xml" }
func adapterPath(name string) string { return "adapters/" + name + "/" + name + ".xml" }

// diagLines formats diagnostics as "FILE:LINE: severity: message", without the fix, so tables
// state positions and messages exactly and fixes are checked on their own.
func diagLines(ds Diagnostics) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Pos.String()+": "+d.Severity.String()+": "+d.Message)
	}
	return out
}

// checkGolden compares got with the golden file at path, or rewrites it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./project -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-golden +got); run go test ./project -update after review:\n%s", path, diff)
	}
}

// mustLoad loads dir and fails the test on any error, printing every diagnostic.
func mustLoad(t testing.TB, dir string) *Project {
	t.Helper()
	p, err := Load(dir, LoadOptions{})
	if err != nil {
		var le *LoadError
		if errors.As(err, &le) {
			t.Fatalf("Load: %v\n%s", err, strings.Join(diagLines(le.Diagnostics), "\n"))
		}
		t.Fatalf("Load: %v", err)
	}
	return p
}

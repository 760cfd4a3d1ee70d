package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/realmgate/realmgate/adapters/js/jstest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/project"
)

// jsEngineModule builds the JavaScript engine module from source, as development mode does (jstest).
func jsEngineModule(t testing.TB) string {
	t.Helper()
	return jstest.EngineModule(t)
}

var (
	xmlDomain   = regexp.MustCompile(`(?s)<domain>.*?</domain>`)
	xmlPort     = regexp.MustCompile(`(?s)<port>.*?</port>`)
	xmlProtocol = regexp.MustCompile(`(?s)<protocol>.*?</protocol>`)
)

// corpusProjectFiles returns the files that turn a copy of a corpus project into one the test
// serves: every adapter's <connectivity> rewritten to the local back end (plain HTTP on
// 127.0.0.1:port; the corpus's hosts are never contacted), and a hostd.yaml naming the engine.
func corpusProjectFiles(t *testing.T, dir string, port int, engine string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{
		"hostd.yaml": []byte("development: true\njsEngine: " + engine + "\n"),
	}
	xmls, _ := filepath.Glob(filepath.Join(dir, "adapters", "*", "*.xml"))
	for _, f := range xmls {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := xmlDomain.ReplaceAllString(string(b), "<domain>127.0.0.1</domain>")
		s = xmlPort.ReplaceAllString(s, "<port>"+strconv.Itoa(port)+"</port>")
		s = xmlProtocol.ReplaceAllString(s, "<protocol>http</protocol>")
		rel, _ := filepath.Rel(dir, f)
		files[filepath.ToSlash(rel)] = []byte(s)
	}
	return files
}

// localBackend is the back end the corpus adapters call, on 127.0.0.1.
func localBackend(t *testing.T, h http.HandlerFunc) (*httptest.Server, int) {
	t.Helper()
	if h == nil {
		h = func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, portS, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portS)
	return srv, port
}

// firstApp returns an application of the project and its environment to call from: a web
// environment when it has one (a mobile one needs a device realm the test does not drive).
func firstApp(t *testing.T, p *project.Project) (id, env, version string) {
	t.Helper()
	ids := make([]string, 0, len(p.Apps))
	for id := range p.Apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, mobile := range []bool{false, true} {
		for _, id := range ids {
			a := p.Apps[id]
			envs := make([]string, 0, len(a.Envs))
			for e := range a.Envs {
				envs = append(envs, e)
			}
			sort.Strings(envs)
			for _, e := range envs {
				if a.Envs[e].Mobile == mobile {
					return a.ID, e, cmp.Or(a.Envs[e].Version, "1.0")
				}
			}
		}
	}
	t.Fatalf("the project has no application")
	return
}

// jsProject returns the files that complete testdata/jsproject: the Feed adapter's XML with its
// back end's port, and hostd.yaml.
func jsProject(t *testing.T, port int, settings string) map[string][]byte {
	t.Helper()
	tmpl, err := os.ReadFile("testdata/jsproject/adapters/Feed/Feed.xml.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"adapters/Feed/Feed.xml": []byte(strings.ReplaceAll(string(tmpl), "{{PORT}}", strconv.Itoa(port))),
		"hostd.yaml":             []byte(settings),
	}
}

// A production daemon runs a JavaScript adapter only on the engine module hostd.yaml names and
// pins; the adapter's XML and -impl.js are the project's own, unchanged.
func TestJavaScriptAdapterEngineSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine")
	}
	engine := jsEngineModule(t)
	var rss atomic.Int32
	_, port := localBackend(t, func(w http.ResponseWriter, r *http.Request) {
		rss.Add(1)
		if r.URL.Path != "/rss/edition_tech.rss" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>`+
			`<item><title>One</title><link>http://example.com/1</link><guid>1</guid><pubDate>Mon</pubDate><description>first</description></item>`+
			`<item><title>Two</title><link>http://example.com/2</link><guid>2</guid><pubDate>Tue</pubDate><description>second</description></item>`+
			`</channel></rss>`)
	})
	b, err := os.ReadFile(engine)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	pin := hex.EncodeToString(sum[:])

	for _, tc := range []struct{ name, settings, want string }{
		{"no engine", "", "a JavaScript adapter needs the JavaScript engine module, and hostd.yaml names none"},
		{"unpinned engine", "jsEngine: " + engine + "\n", "is not pinned by SHA-256"},
		{"wrong pin", "jsEngine: " + engine + "\njsEngineSHA256: " + strings.Repeat("0", 64) + "\n", "but the configuration pins"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hostdtest.Launch("testdata/jsproject", hostdtest.Options{Data: t.TempDir(), Files: jsProject(t, port, tc.settings)})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Feed.xml:2") {
				t.Fatalf("start = %v, want a refusal at Feed.xml:2 containing %q", err, tc.want)
			}
		})
	}

	d := hostdtest.Start(t, "testdata/jsproject", hostdtest.Options{Files: jsProject(t, port, "jsEngine: "+engine+"\njsEngineSHA256: "+pin+"\n")})
	c, err := client.New(client.Config{BaseURL: d.URL, AppID: "JSApp", Environment: "mobilewebapp", AppVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, err := c.InvokeProcedure(ctx, "Feed", "getStories", "tech")
	if err != nil {
		t.Fatal(err)
	}
	var stories struct {
		IsSuccessful bool `json:"isSuccessful"`
		StatusCode   int  `json:"statusCode"`
		Items        []struct {
			Title, Link, GUID, PubDate, Description string
		} `json:"Items"`
	}
	if err := json.Unmarshal(out, &stories); err != nil {
		t.Fatal(err)
	}
	if !stories.IsSuccessful || stories.StatusCode != 200 || len(stories.Items) != 2 || stories.Items[1].Title != "Two" || stories.Items[0].Link != "http://example.com/1" {
		t.Errorf("getStories = %s", out)
	}
	out, err = c.InvokeProcedure(ctx, "Feed", "echo", map[string]any{"a": []any{1, "x"}})
	if err != nil {
		t.Fatal(err)
	}
	var echo struct {
		Value map[string]any `json:"value"`
		User  map[string]any `json:"user"`
	}
	if err := json.Unmarshal(out, &echo); err != nil || echo.Value["a"] == nil || echo.User["userId"] == nil {
		t.Errorf("echo = %s, %v: want the value and the anonymous user's identity", out, err)
	}
}

func TestBuildJSEngineUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"adapter", "build-js-engine"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--out FILE") {
		t.Errorf("exit %d, stderr %q: want the usage and 2", code, stderr.String())
	}
}

// startCorpusCopy starts a daemon on a corpus project's copy in dir and returns it, the project as
// the daemon loaded it, and the Go client's configuration for the project's first application.
func startCorpusCopy(t *testing.T, dir string, opts hostdtest.Options) (*hostdtest.Daemon, *project.Project, client.Config) {
	t.Helper()
	d := hostdtest.Start(t, dir, opts)
	p, err := project.Load(d.Dir, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app, env, version := firstApp(t, p)
	return d, p, client.Config{BaseURL: d.URL, AppID: app, Environment: env, AppVersion: version}
}

// corpusLoginCopy copies a corpus project into a temporary folder without the adapters drop,
// starts backend as its local back end on 127.0.0.1 and rewrites the copy's files to it and to
// the JavaScript engine module (corpusProjectFiles); it returns the folder.
func corpusLoginCopy(t *testing.T, project string, drop []string, backend http.HandlerFunc, engine string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(corpustest.Dir, project))); err != nil {
		t.Fatal(err)
	}
	for _, a := range drop {
		if err := os.RemoveAll(filepath.Join(dir, "adapters", a)); err != nil {
			t.Fatal(err)
		}
	}
	_, port := localBackend(t, backend)
	for name, b := range corpusProjectFiles(t, dir, port, engine) {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

package js_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/js"
	"github.com/realmgate/realmgate/internal/corpustest"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

var (
	xmlCommentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
	procedureRE  = regexp.MustCompile(`<(?:wl:)?procedure\s[^>]*?name\s*=\s*"([^"]+)"`)
)

// declaredProcedures lists the procedures an adapter XML declares (comments left out).
func declaredProcedures(t *testing.T, xmlFile string) []string {
	t.Helper()
	b, err := os.ReadFile(xmlFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range procedureRE.FindAllStringSubmatch(xmlCommentRE.ReplaceAllString(string(b), ""), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestCorpus loads every JavaScript adapter of the corpus, as its XML declares it, and calls each
// of its procedures without parameters against a local back end on 127.0.0.1 that answers every
// request with an empty JSON object: an adapter "runs" when at least one procedure returns. The
// result, adapter by adapter, is testdata/corpus.golden (go test ./adapters/js -run TestCorpus
// -update rewrites it after review).
func TestCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the corpus's JavaScript adapters")
	}
	if underRace {
		// The scripts run in the guest, which the race detector does not see; the host's side
		// of each call is the one TestSandbox and TestEcho run under it. Sixty loads at the
		// race detector's pace would cost CI minutes for nothing.
		t.Skip("the corpus sweep runs without the race detector")
	}
	// This package is two levels below the module root; corpustest.Dir is seen from one.
	corpus := filepath.Join("..", corpustest.Dir)
	if _, err := os.Stat(corpus); err != nil {
		t.Skipf("no Worklight corpus at %s", corpus)
	}
	scripts, err := filepath.Glob(filepath.Join(corpus, "*", "adapters", "*", "*-impl.js"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	hp := srvHostPort(t, srv)
	engine := engineModule(t)
	cache := adaptertest.CompilationCacheDir(t)
	ctx := context.Background()
	var lines []string
	loaded, ran := 0, 0
	for _, script := range scripts {
		dir := filepath.Dir(script)
		name := filepath.Base(dir)
		rel, _ := filepath.Rel(corpus, script)
		procs := declaredProcedures(t, filepath.Join(dir, name+".xml"))
		a, err := adapters.Open(ctx, adapters.Config{Name: name, Kind: js.Kind, Module: engine, Script: script,
			Procedures: procs, Settings: map[string]string{js.SettingConnectivity: srv.URL}, AllowHTTP: []adapters.HostPort{hp},
			CacheDir: cache, Limits: adapters.Limits{Instances: 1, CallTimeout: 5 * time.Second}})
		if err != nil {
			msg := err.Error()
			var ae *adapters.Error
			if ok := asError(err, &ae); ok {
				msg = ae.Message
				if ae.Err != nil {
					msg = ae.Err.Error()
				}
			}
			lines = append(lines, fmt.Sprintf("refused  %s: %s", filepath.ToSlash(rel), firstClause(msg)))
			continue
		}
		loaded++
		var ok []string
		for _, p := range procs {
			if _, err := a.Call(ctx, p, json.RawMessage(`{"parameters":[]}`)); err == nil {
				ok = append(ok, p)
			}
		}
		a.Close(ctx)
		if len(ok) > 0 {
			ran++
		}
		sort.Strings(ok)
		lines = append(lines, fmt.Sprintf("loaded   %s: %d of %d procedures ran (%s)", filepath.ToSlash(rel), len(ok), len(procs), strings.Join(ok, ", ")))
	}
	sort.Strings(lines)
	summary := fmt.Sprintf("%d JavaScript adapters: %d loaded, %d ran a procedure end to end", len(scripts), loaded, ran)
	t.Log(summary)
	got := summary + "\n" + strings.Join(lines, "\n") + "\n"
	golden := filepath.Join("testdata", "corpus.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-golden +got); run go test ./adapters/js -run TestCorpus -update after review:\n%s", golden, diff)
	}
}

// firstClause keeps the first use of a load error: the golden file says why, not every line.
func firstClause(msg string) string {
	if i := strings.Index(msg, "; "); i >= 0 {
		msg = msg[:i] + " (and more)"
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}

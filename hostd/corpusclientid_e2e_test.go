package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/corpustest"
)

// fakeCloudant stores JSON documents as Cloudant's HTTP API does, for the paths the corpus's
// DoubleStepAuth adapter uses: POST /DB (a document with its _id), GET /DB/ID, DELETE
// /DB/ID?rev=REV. It records the ids written.
type fakeCloudant struct {
	mu      sync.Mutex
	docs    map[string]map[string]any
	rev     int
	written []string
}

func (f *fakeCloudant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	db, id, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if db == "" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && id == "":
		var doc map[string]any
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err := json.Unmarshal(b, &doc); err != nil {
			http.Error(w, `{"error":"bad_request"}`, http.StatusBadRequest)
			return
		}
		docID, _ := doc["_id"].(string)
		if docID == "" || f.docs[docID] != nil {
			http.Error(w, `{"error":"conflict"}`, http.StatusConflict)
			return
		}
		f.rev++
		doc["_rev"] = fmt.Sprintf("%d-fake", f.rev)
		f.docs[docID] = doc
		f.written = append(f.written, docID)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "id": docID, "rev": doc["_rev"]})
	case r.Method == http.MethodGet && id != "":
		doc := f.docs[id]
		if doc == nil {
			http.Error(w, `{"error":"not_found"}`, http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(doc)
	case r.Method == http.MethodDelete && id != "":
		doc := f.docs[id]
		if doc == nil || doc["_rev"] != r.URL.Query().Get("rev") {
			http.Error(w, `{"error":"conflict"}`, http.StatusConflict)
			return
		}
		delete(f.docs, id)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true})
	default:
		http.NotFound(w, r)
	}
}

// stepLogin drives one client's two-step login one step at a time, as interleavedLogin does:
// each step's answer waits for its turn, and done reports the answer's outcome.
type stepLogin struct {
	c          *client.Client
	turn, done [3]chan struct{}
	ended      chan struct{}
	err        error
	out        []byte
}

func newStepLogin(t *testing.T, cfg client.Config, realm string, answers [3]client.AdapterSubmission) *stepLogin {
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l := &stepLogin{c: c, ended: make(chan struct{})}
	for i := range l.turn {
		l.turn[i], l.done[i] = make(chan struct{}), make(chan struct{}, 1)
	}
	step := 0
	c.RegisterHandler(realm, &client.AdapterHandler{Submit: func(_ context.Context, ap client.AdapterPrompt) (client.AdapterSubmission, error) {
		if step > 0 {
			l.done[step] <- struct{}{}
		}
		if ap.Error != "" {
			return client.AdapterSubmission{}, fmt.Errorf("step %d was refused: %s", step, ap.Error)
		}
		step = cmp.Or(ap.Step, 1)
		if step < 1 || step > 2 {
			return client.AdapterSubmission{}, fmt.Errorf("unexpected step %d", ap.Step)
		}
		<-l.turn[step]
		return answers[step], nil
	}})
	return l
}

func (l *stepLogin) run(adapter, procedure string) {
	defer close(l.ended)
	l.out, l.err = l.c.InvokeProcedure(context.Background(), adapter, procedure)
	for _, s := range []int{2, 1} {
		select {
		case l.done[s] <- struct{}{}:
		default:
		}
	}
}

// configuredCorpusLogins are the corpus logins whose project does not load as it is, because its
// configuration contradicts its script, and whose test's copy corrects the configuration to
// match the script (the script and the adapter XML are left as they are); by project/realm, the
// login table's "tested" line.
var configuredCorpusLogins = map[string]string{
	"MobileFirst-Platform-Developer-Center__DoubleStepAuth/TwoStepAuthRealm": "yes, two steps, two clients interleaved, step 1's user kept in a Cloudant database (a fake on 127.0.0.1) under WL.Server.getClientId(): " +
		"the copy renames the realm TwoStepAuthRealm and the test TwoStepAuthAdapter-securityTest of the configuration to DoubleStepAuthRealm and DoubleStepAuthAdapter-securityTest, the names the script and the adapter XML use (TestCorpusJavaScriptClientIDTwoStepLogins)",
}

// IBM's DoubleStepAuth sample keeps step 1's user in a Cloudant database under
// WL.Server.getClientId() and reads it back at step 2. Two clients log in with interleaved
// steps over the real -impl.js and XML, the database a fake on 127.0.0.1 (the copy's adapter
// XML names it): each client's steps see one client id (step 2 finds step 1's document), the
// two clients' ids differ (both documents are stored side by side), and neither is a session
// cookie. The sample's configuration names its realm TwoStepAuthRealm and its test
// TwoStepAuthAdapter-securityTest while its script and adapter XML name DoubleStepAuthRealm and
// DoubleStepAuthAdapter-securityTest: the copy renames the configuration's to the script's.
func TestCorpusJavaScriptClientIDTwoStepLogins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts a daemon")
	}
	corpustest.Projects(t)
	engine := jsEngineModule(t)
	const proj = "MobileFirst-Platform-Developer-Center__DoubleStepAuth"
	cloudant := &fakeCloudant{docs: map[string]map[string]any{}}
	dir := corpusLoginCopy(t, proj, nil, cloudant.ServeHTTP, engine)
	renames := strings.NewReplacer("TwoStepAuthRealm", "DoubleStepAuthRealm", "TwoStepAuthAdapter-securityTest", "DoubleStepAuthAdapter-securityTest")
	descs, _ := filepath.Glob(filepath.Join(dir, "apps", "*", "application-descriptor.xml"))
	for _, f := range append(descs, filepath.Join(dir, "server", "conf", "authenticationConfig.xml")) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(renames.Replace(string(b))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, p, cfg := startCorpusCopy(t, dir, hostdtest.Options{})
	cookies := &cookieRecorder{}
	cfg.HTTPClient = &http.Client{Transport: cookies}
	app, env := cfg.AppID, cfg.Environment
	answers := [3]client.AdapterSubmission{
		1: {Procedure: "submitAuthentication", Parameters: []any{"user", "REDACTED"}},
		2: {Procedure: "submitAuthentication2", Parameters: []any{"Lassie"}},
	}
	newLogin := func(device string) *stepLogin {
		c := cfg
		if p.Apps[app].Envs[env].Mobile {
			c.Device = &client.DeviceInfo{ID: device, OS: env, Model: "test"}
		}
		return newStepLogin(t, c, "DoubleStepAuthRealm", answers)
	}
	a, b := newLogin("device-a"), newLogin("device-b")
	go a.run("AuthAdapter", "getSecretData")
	go b.run("AuthAdapter", "getSecretData")
	for i, s := range []struct {
		l    *stepLogin
		step int
	}{{a, 1}, {b, 1}, {b, 2}, {a, 2}} {
		close(s.l.turn[s.step])
		<-s.l.done[s.step]
		if i == 1 {
			cloudant.mu.Lock()
			stored := len(cloudant.docs)
			cloudant.mu.Unlock()
			if stored != 2 {
				t.Errorf("after both clients' step 1, the database holds %d documents, want one per client", stored)
			}
		}
	}
	for who, l := range map[string]*stepLogin{"A": a, "B": b} {
		<-l.ended
		if l.err != nil {
			t.Errorf("%s: %v", who, l.err)
			continue
		}
		if !strings.Contains(string(l.out), "Very very very very secret data") {
			t.Errorf("%s: getSecretData = %s", who, l.out)
		}
		if got := l.c.Identities()["DoubleStepAuthRealm"]["userId"]; got != "user" {
			t.Errorf("%s is signed in as %v, want user", who, got)
		}
	}
	cloudant.mu.Lock()
	defer cloudant.mu.Unlock()
	if len(cloudant.written) != 2 || cloudant.written[0] == cloudant.written[1] {
		t.Fatalf("the clients' step 1 wrote documents %q: want two, under distinct client ids", cloudant.written)
	}
	if len(cloudant.docs) != 0 {
		t.Errorf("after both logins the database still holds %d documents: each step 2 deletes its client's", len(cloudant.docs))
	}
	if len(cookies.values) == 0 {
		t.Fatal("the daemon set no cookie: the comparison with the client ids shows nothing")
	}
	for _, id := range cloudant.written {
		if !clientIDShape.MatchString(id) {
			t.Errorf("client id %q: want a version 8 UUID", id)
		}
		for _, v := range cookies.values {
			if strings.Contains(v, id) || strings.Contains(id, v) {
				t.Errorf("client id %q is (part of) a cookie the daemon set", id)
			}
		}
	}
}

// clientIDShape is a client id's shape: a version 8 UUID in lower case (engine.ClientID).
var clientIDShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// cookieRecorder records the values of the cookies the daemon sets.
type cookieRecorder struct {
	mu     sync.Mutex
	values []string
}

func (c *cookieRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		for _, ck := range resp.Cookies() {
			if ck.Value != "" {
				c.values = append(c.values, ck.Value)
			}
		}
		c.mu.Unlock()
	}
	return resp, err
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/corpustest"
	"github.com/realmgate/realmgate/project"
)

// twoStepLogin is a two-step adapter-based login of the corpus (Worklight's double-step
// sample): submitAuthStep1 checks the credentials and asks a question, submitAuthStep2 checks
// the answer and calls setActiveUser.
type twoStepLogin struct {
	project, adapter, realm, protected string
	credentials                        []any
	answer, wrong                      string
	wrongMessage                       string
	user                               string
	backend                            http.HandlerFunc
	drop                               []string
	// submitParam, when set, is added to the realm in the copy's authenticationConfig.xml: the
	// submit-procedures parameter an operator adds when the adapter's XML leaves its submit
	// procedures protected by the application's test (no securityTest) rather than
	// wl_unprotected, which the engine does not run for an unauthenticated answer otherwise.
	submitParam string
}

// twoStepLogins are the corpus's two-step logins that load (hostd/testdata/corpus-logins.golden
// says why the others do not: NagashreeBhat's FunctionalityTest7.0 is refused for its
// configuration; the MobileFirst DoubleStepAuth sample, whose configuration names its realm
// otherwise than its script does, has a test of its own: TestCorpusJavaScriptClientIDTwoStepLogins).
var twoStepLogins = []twoStepLogin{
	{project: "hasanbasrirg__HyJek", adapter: "DoubleStepAuthAdapter", realm: "DoubleStepAuthRealm", protected: "getSecretData",
		credentials: []any{"user", "REDACTED"}, answer: "Lassie", wrong: "Rex", wrongMessage: "Wrong security question answer",
		user: "user"},
	{project: "paolob67__pb.bank", adapter: "DoubleStepAuthAdapter", realm: "DoubleStepAuthRealm", protected: "getSecretData",
		credentials: []any{"erin@example.com", "erin-pw"}, answer: "2468", wrong: "1111", wrongMessage: "Wrong security PIN",
		user: "u-erin", submitParam: "submitAuthStep1, submitAuthStep2",
		backend: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/users/erin@example.com" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"_id":"u-erin","password":"erin-pw","attributes":{"name":"Erin","surn":"Doe","pin_":"2468"}}`)
		}},
}

// stepPrompt is what the client's callback saw of one challenge.
type stepPrompt struct {
	Step      int
	Question  any
	Error     string
	Remaining int
}

// The corpus's two-step logins log a user in through the Go client over their real XML and
// -impl.js: a wrong answer at step 2 is a failed attempt that starts the login again, the second
// question is no failed attempt, and the right answer at step 2 passes the realm.
func TestCorpusJavaScriptTwoStepLogins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts a daemon per corpus project")
	}
	corpustest.Projects(t)
	engine := jsEngineModule(t)
	for _, tc := range twoStepLogins {
		t.Run(tc.project+"/"+tc.adapter, func(t *testing.T) {
			dir := corpusLoginCopy(t, tc.project, tc.drop, tc.backend, engine)
			if tc.submitParam != "" {
				addSubmitProcedures(t, dir, tc.realm, tc.submitParam)
			}
			var log adapterLog
			_, _, cfg := startCorpusCopy(t, dir, hostdtest.Options{Logger: log.logger()})
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var prompts []stepPrompt
			answers := []string{tc.wrong, tc.answer}
			c.RegisterHandler(tc.realm, &client.AdapterHandler{Submit: func(_ context.Context, ap client.AdapterPrompt) (client.AdapterSubmission, error) {
				sp := stepPrompt{Step: ap.Step, Question: ap.Question["question"], Error: ap.Error}
				if ap.RemainingAttempts != nil {
					sp.Remaining = *ap.RemainingAttempts
				}
				prompts = append(prompts, sp)
				if ap.Step != 2 {
					return client.AdapterSubmission{Procedure: "submitAuthStep1", Parameters: tc.credentials}, nil
				}
				if len(answers) == 0 {
					return client.AdapterSubmission{}, fmt.Errorf("asked step 2 again: %+v", prompts)
				}
				a := answers[0]
				answers = answers[1:]
				return client.AdapterSubmission{Procedure: "submitAuthStep2", Parameters: []any{a}}, nil
			}})
			ctx := context.Background()
			out, err := c.InvokeProcedure(ctx, tc.adapter, tc.protected)
			if err != nil {
				t.Fatalf("%s.%s: %v (prompts %+v)", tc.adapter, tc.protected, err, prompts)
			}
			if !strings.Contains(string(out), "secretData") {
				t.Errorf("%s.%s = %s", tc.adapter, tc.protected, out)
			}
			question := prompts[min(1, len(prompts)-1)].Question
			if q, _ := question.(string); q == "" {
				t.Errorf("step 2 asked no question: %+v", prompts)
			}
			want := []stepPrompt{
				{Step: 1},                     // the login function's challenge
				{Step: 2, Question: question}, // the second question: no error, no attempt spent
				{Step: 1, Error: tc.wrongMessage, Remaining: 4}, // a wrong answer at step 2 counts and starts again
				{Step: 2, Question: question},
			}
			if diff := cmp.Diff(want, prompts); diff != "" {
				t.Errorf("challenges (-want +got):\n%s", diff)
			}
			ids := c.Identities()
			if id, ok := ids[tc.realm]; !ok || id["userId"] != tc.user {
				t.Errorf("identity in %s = %+v, want user %s", tc.realm, ids[tc.realm], tc.user)
			}
			checkCorpusIdentity(t, c, tc.realm, tc.user)
			checkCorpusLogout(t, c, &log, tc.adapter, tc.protected, tc.realm)
		})
	}
}

// addSubmitProcedures names the submit procedures of realm in the project copy at dir.
func addSubmitProcedures(t *testing.T, dir, realm, procs string) {
	t.Helper()
	conf := filepath.Join(dir, filepath.FromSlash(project.AuthConfigPath))
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(<realm [^>]*name="` + regexp.QuoteMeta(realm) + `"[^>]*>)`)
	if !re.Match(b) {
		t.Fatalf("%s defines no realm %s", conf, realm)
	}
	b = re.ReplaceAll(b, []byte(`$1<parameter name="`+project.ParamSubmitProcedures+`" value="`+procs+`"/>`))
	if err := os.WriteFile(conf, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

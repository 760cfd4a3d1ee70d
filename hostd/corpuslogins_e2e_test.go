package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/internal/corpustest"
)

// corpusLogin is an adapter-based login of the corpus, driven as a client would.
type corpusLogin struct {
	project, adapter, realm string
	// protected is a procedure behind a security test holding the realm; the client calls it,
	// answers the challenge with submit(params...), and is served; served is what its answer
	// holds.
	protected, served string
	submit            string
	params            []any
	wrong             []any // an answer the adapter refuses
	user              string
	backend           http.HandlerFunc
	// drop are adapter folders of the project left out of the copy: adapters that use APIs the
	// engine refuses (SQL), which would keep the daemon from starting. TestCorpusAdapterLoginTable
	// checks that they are exactly those.
	drop []string
	// submitParam, when set, is added to the realm in the copy's authenticationConfig.xml (see
	// twoStepLogin.submitParam).
	submitParam string
	// prepare, when set, is what the app's client does before the login: it returns the right
	// answer's parameters, in place of params.
	prepare func(ctx context.Context, c *client.Client) ([]any, error)
	// onDemand, for a project that protects nothing with the realm, says that the app starts
	// the login itself, as Worklight's WL.Client.login(realm) did: the client logs in with
	// Login (POST /api/v1/login/{realm}) over the project as it is.
	onDemand bool
	// env, when set, is the application's environment the client calls from (firstApp picks a
	// web environment).
	env string
	// sql are the project's SQL adapters the login reads through, each given a database on a
	// local MariaDB (localSQLAdapters).
	sql []corpusSQL
}

// corpusLogins are the adapter-based logins of the corpus whose adapters use only the APIs the
// engine provides and sign in in one step. The credentials are the ones the -impl.js compares
// with (redacted in the corpus as "REDACTED"). The logins that load but are not driven say why
// in untestedCorpusLogins.
var corpusLogins = []corpusLogin{
	{project: "MobileFirst-Platform-Developer-Center__AdapterBasedAuth", adapter: "AuthAdapter", realm: "AuthRealm", protected: "getSecretData", served: "secretData",
		submit: "submitAuthentication", params: []any{"user", "REDACTED"}, wrong: []any{"user", "nope"}, user: "user"},
	{project: "hasanbasrirg__HyJek", adapter: "SingleStepAuthAdapter", realm: "SingleStepAuthRealm", protected: "getSecretData", served: "secretData",
		submit: "submitAuthentication", params: []any{"user", "REDACTED"}, wrong: []any{"user", "nope"}, user: "user"},
	{project: "paolob67__pb.bank", adapter: "SingleStepAuthAdapter", realm: "SingleStepAuthRealm", protected: "getSecretData", served: "secretData",
		submit: "submitAuthentication", params: []any{"erin@example.com", "erin-pw"}, wrong: []any{"erin@example.com", "x"}, user: "u-erin",
		backend: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/users/erin@example.com" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"_id":"u-erin","password":"erin-pw","attributes":{"name":"Erin","surn":"Doe"}}`)
		}},
	// ManheimAuto's app checks the password with submitAuthentication (an ordinary procedure that
	// returns its back end's answer) and hands the user object found to setIdentity, which logs
	// in whatever user object it receives: the login trusts the client, as the script was written.
	{project: "asetiyadi__ManheimAuto", adapter: "BluemixHTTP", realm: "AdapterAuthRealm", protected: "getInspectionChecklist", served: "{}",
		submit: "setIdentity", wrong: []any{map[string]any{}}, user: "jsmith", drop: []string{"GetChecklistAdapter"}, submitParam: "setIdentity",
		backend: func(w http.ResponseWriter, r *http.Request) {
			var creds struct{ Username, Password string }
			if r.Method != http.MethodPost || r.URL.Path != "/api/verifyUser" || json.NewDecoder(r.Body).Decode(&creds) != nil {
				http.NotFound(w, r)
				return
			}
			users := []any{}
			if creds.Username == "jsmith" && creds.Password == "jsmith-pw" {
				users = append(users, map[string]any{"username": "jsmith", "techId": "jsmith01", "firstname": "James", "lastname": "Smith"})
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"array": users})
		},
		prepare: func(ctx context.Context, c *client.Client) ([]any, error) {
			out, err := c.InvokeProcedure(ctx, "BluemixHTTP", "submitAuthentication", "jsmith", "jsmith-pw")
			if err != nil {
				return nil, err
			}
			var found struct{ Array []any }
			if err := json.Unmarshal(out, &found); err != nil || len(found.Array) != 1 {
				return nil, fmt.Errorf("submitAuthentication = %s (%v): want the user the back end found", out, err)
			}
			return found.Array, nil
		}},
	// handbkMFP, OfflineAuthentication and cnocApps protect nothing with their realm, so their
	// apps (whose code the corpus does not hold) could only log in by starting the login
	// themselves with WL.Client.login(realm): the client does the same, over the projects as
	// they are (handbkMFP without its SQL adapter, which the runtime refuses). The
	// OfflineAuthentication sample accepts any user whose password is the user name; its
	// application has an iPhone environment only.
	{project: "Alexander-Andrade__handbkMFP", adapter: "AuthAdapter", realm: "AuthRealm", onDemand: true,
		submit: "submitAuthentication", params: []any{"user", "REDACTED"}, wrong: []any{"user", "nope"}, user: "user", drop: []string{"SQL"}},
	{project: "MobileFirst-Platform-Developer-Center__OfflineAuthentication", adapter: "authenticationAdapter", realm: "myCustomRealm", onDemand: true,
		submit: "submitAuthentication", params: []any{"ada", "ada"}, wrong: []any{"ada", "bob"}, user: "ada", env: "iphone"},
	{project: "sita158__cnocApps", adapter: "AuthenticationAdapter", realm: "AuthRealm", onDemand: true,
		submit: "submitAuthentication", params: []any{"cnoc", "REDACTED"}, wrong: []any{"cnoc", "nope"}, user: "cnoc"},
	// Diary's and restroom's logins read the user through WL.Server.invokeProcedure from the
	// project's SQL adapter, which runs its statement on a local MariaDB holding the user's row.
	{project: "madel0093__Diary", adapter: "SimpleAuthAdapter", realm: "SimpleAuthRealm", protected: "requestForData", served: "You can only see this if you are logged in",
		submit: "submitAuthentication", params: []any{"ann@example.com", "ann-pw"}, wrong: []any{"ann@example.com", "nope"}, user: "ann@example.com",
		prepare: initFirst("ann@example.com", "ann-pw"),
		sql: []corpusSQL{{adapter: "DiaryMySQL", setup: []string{
			"CREATE TABLE User (idUser INT PRIMARY KEY, name VARCHAR(32), password VARCHAR(32), email VARCHAR(64), birth DATE, idGeneralUser INT)",
			"INSERT INTO User VALUES (1, 'ann', 'ann-pw', 'ann@example.com', NULL, 11)"}}}},
	// restroom protects nothing with its realm but MySqlAdapter's updates, whose statements
	// MariaDB refuses ("update table avail ..."): its app logs in on demand.
	{project: "sangamewin__restroom", adapter: "UserValidator", realm: "UserSecurityCheckRealm", onDemand: true,
		submit: "submitAuthentication", params: []any{"sam", "sam-pw"}, wrong: []any{"sam", "nope"}, user: "sam",
		sql: []corpusSQL{{adapter: "MySqlAdapter", writesURL: true, setup: []string{
			"CREATE TABLE user (username VARCHAR(32) PRIMARY KEY, password VARCHAR(32), usertype VARCHAR(16))",
			"INSERT INTO user VALUES ('sam', 'sam-pw', 'admin')",
			"CREATE TABLE avail (City VARCHAR(32) PRIMARY KEY, Men INT, Women INT)",
			"INSERT INTO avail VALUES ('Pune', 2, 3)"}}},
		backend: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/rss/edition.rss" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><item><title>Restrooms open</title></item></channel></rss>`)
		}},
}

// adapterLog records the daemon's log records that carry a procedure attribute (what adapters
// log, by the procedure that logged it), so that a test can see a logout function run.
type adapterLog struct {
	mu      sync.Mutex
	records []adapterLogRecord
}

type adapterLogRecord struct{ adapter, procedure, message string }

type adapterLogHandler struct {
	log   *adapterLog
	attrs []slog.Attr
}

func (h adapterLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h adapterLogHandler) Handle(_ context.Context, r slog.Record) error {
	rec := adapterLogRecord{message: r.Message}
	take := func(a slog.Attr) bool {
		switch a.Key {
		case "adapter":
			rec.adapter = a.Value.String()
		case "procedure":
			rec.procedure = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		take(a)
	}
	r.Attrs(take)
	if rec.procedure == "" {
		return nil
	}
	h.log.mu.Lock()
	h.log.records = append(h.log.records, rec)
	h.log.mu.Unlock()
	return nil
}

func (h adapterLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return adapterLogHandler{log: h.log, attrs: append(append([]slog.Attr{}, h.attrs...), attrs...)}
}

func (h adapterLogHandler) WithGroup(string) slog.Handler { return h }

func (l *adapterLog) logger() *slog.Logger { return slog.New(adapterLogHandler{log: l}) }

// checkCorpusIdentity checks that the daemon's session holds user as realm's identity.
func checkCorpusIdentity(t *testing.T, c *client.Client, realm, user string) {
	t.Helper()
	sess, err := c.Session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id := sess.Realms[realm].Identity; id["userId"] != user {
		t.Errorf("the session's identity in %s = %+v, want user %s", realm, id, user)
	}
}

// scriptLogs returns how many records adapter's script logged itself (WL.Logger), leaving out
// the record the backend writes for each guest call.
func (l *adapterLog) scriptLogs(adapter string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r.adapter == adapter && r.message != adapters.GuestCallMessage {
			n++
		}
	}
	return n
}

// checkCorpusLogout logs the client out of realm and checks that the realm's logout function ran
// (the script logs during the logout: the corpus's logout functions all call WL.Logger, and the
// engine runs no other function of the adapter then) and that the protected procedure (none: a
// login on demand) challenges again.
func checkCorpusLogout(t *testing.T, c *client.Client, log *adapterLog, adapter, protected, realm string) {
	t.Helper()
	ctx := context.Background()
	before := log.scriptLogs(adapter)
	if err := c.Logout(ctx, realm); err != nil {
		t.Errorf("logout: %v", err)
	}
	if log.scriptLogs(adapter) == before {
		t.Errorf("logout: the realm's logout function did not run (it logs when it does)")
	}
	challenged := false
	c.RegisterHandler(realm, client.HandlerFunc(func(context.Context, *client.Challenge) (*client.Answer, error) {
		challenged = true
		return nil, errors.New("logged out")
	}))
	var err error
	if protected == "" {
		_, err = c.Login(ctx, realm) // the app starts the login again
	} else {
		_, err = c.InvokeProcedure(ctx, adapter, protected)
	}
	if err == nil || !challenged {
		t.Errorf("%s.%s after logout: err %v, challenged %v: want the realm's challenge again", adapter, cmp.Or(protected, "(login)"), err, challenged)
	}
}

// The corpus's one-step adapter-based logins log a user in through the Go client over their
// real XML and -impl.js: the login function's challenge, a wrong answer refused, the right one
// accepted, the protected procedure served with the user's identity, and logout running the
// realm's logout function.
func TestCorpusJavaScriptLogins(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and starts a daemon per corpus project")
	}
	corpustest.Projects(t)
	engine := jsEngineModule(t)
	for _, tc := range corpusLogins {
		t.Run(tc.project+"/"+tc.adapter, func(t *testing.T) {
			t.Parallel() // a daemon and a back end of its own
			dir := corpusLoginCopy(t, tc.project, tc.drop, tc.backend, engine)
			localSQLAdapters(t, dir, tc.sql)
			if tc.submitParam != "" {
				addSubmitProcedures(t, dir, tc.realm, tc.submitParam)
			}
			var log adapterLog
			_, p, cfg := startCorpusCopy(t, dir, hostdtest.Options{Logger: log.logger()})
			if tc.env != "" {
				e := p.Apps[cfg.AppID].Envs[tc.env]
				if e == nil {
					t.Fatalf("application %s has no environment %s", cfg.AppID, tc.env)
				}
				cfg.Environment, cfg.AppVersion = tc.env, cmp.Or(e.Version, "1.0")
				cfg.Device = &client.DeviceInfo{ID: "corpus-device-1", OS: tc.env, Model: "test"}
			}
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			params := tc.params
			if tc.prepare != nil {
				if params, err = tc.prepare(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			var challenges []map[string]any
			answers := [][]any{tc.wrong, params}
			c.RegisterHandler(tc.realm, client.HandlerFunc(func(_ context.Context, ch *client.Challenge) (*client.Answer, error) {
				var payload map[string]any
				if err := json.Unmarshal(ch.Payload, &payload); err != nil {
					return nil, err
				}
				challenges = append(challenges, payload)
				if len(challenges) > len(answers) {
					return nil, errors.New("too many challenges")
				}
				return &client.Answer{Body: map[string]any{"procedure": tc.submit, "parameters": answers[len(challenges)-1]}}, nil
			}))
			if tc.onDemand {
				id, err := c.Login(ctx, tc.realm)
				if err != nil {
					t.Fatalf("login to %s: %v", tc.realm, err)
				}
				if id["userId"] != tc.user {
					t.Errorf("login to %s = %v, want user %s", tc.realm, id, tc.user)
				}
			} else {
				out, err := c.InvokeProcedure(ctx, tc.adapter, tc.protected)
				if err != nil {
					t.Fatalf("%s.%s: %v", tc.adapter, tc.protected, err)
				}
				if !strings.Contains(string(out), tc.served) {
					t.Errorf("%s.%s = %s, want %s in it", tc.adapter, tc.protected, out, tc.served)
				}
			}
			if len(challenges) != 2 {
				t.Fatalf("%d challenges, want 2 (a refused answer, then the right one): %v", len(challenges), challenges)
			}
			if challenges[0]["authenticator"] != "adapter" {
				t.Errorf("first challenge %v: want the login-function's object", challenges[0])
			}
			if challenges[1]["error"] == nil {
				t.Errorf("second challenge %v: want the refusal of the wrong answer", challenges[1])
			}
			checkCorpusIdentity(t, c, tc.realm, tc.user)
			checkCorpusLogout(t, c, &log, tc.adapter, tc.protected, tc.realm)
		})
	}
}

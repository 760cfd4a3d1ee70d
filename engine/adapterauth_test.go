package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// fakeAdapter runs the Auth adapter of adapterLab: every submit logs in "carol", the login
// function asks for credentials, and it records what ran.
type fakeAdapter struct {
	mu    sync.Mutex
	calls []string
	// identity, when set, is the identity a submit returns instead of carol's.
	identity string
}

func (f *fakeAdapter) Call(_ context.Context, adapter, procedure string, _ json.RawMessage) (json.RawMessage, error) {
	f.mu.Lock()
	f.calls = append(f.calls, adapter+"."+procedure)
	f.mu.Unlock()
	switch procedure {
	case "onAuthRequired":
		return json.RawMessage(`{"authRequired":true}`), nil
	case "submitAuthentication", "step1", "step2":
		if f.identity != "" {
			return json.RawMessage(`{"identity":` + f.identity + `}`), nil
		}
		return json.RawMessage(`{"identity":{"userId":"carol"}}`), nil
	}
	return json.RawMessage(`{"paid":true}`), nil
}

func (f *fakeAdapter) ran() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// adapterLab has two adapter-based realms on one adapter: DefaultRealm submits to
// submitAuthentication, StepsRealm to step1 and step2.
func adapterLab(t *testing.T, f *fakeAdapter) *lab {
	files := labFiles(t)
	conf := files[project.AuthConfigPath]
	conf = strings.Replace(conf, "<securityTests>", `<securityTests>
		<customSecurityTest name="adapterDefault"><test realm="DefaultRealm" isInternalUserID="true"/></customSecurityTest>
		<customSecurityTest name="adapterSteps"><test realm="StepsRealm" isInternalUserID="true"/></customSecurityTest>`, 1)
	conf = strings.Replace(conf, "<realms>", `<realms>
		<realm name="DefaultRealm" loginModule="AnyUser">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Auth.onAuthRequired"/>
		</realm>
		<realm name="StepsRealm" loginModule="AnyUser">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Auth.onAuthRequired"/>
			<parameter name="submit-procedures" value="step1, Auth.step2"/>
		</realm>`, 1)
	files[project.AuthConfigPath] = conf
	files["adapters/Auth/Auth.xml"] = `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="Auth" xmlns:wl="http://www.ibm.com/mfp/integration">
	<procedure name="submitAuthentication"/>
	<procedure name="step1"/>
	<procedure name="step2"/>
	<procedure name="pay" securityTest="adapterDefault"/>
	<procedure name="rates" securityTest="wl_unprotected"/>
</wl:adapter>
`
	return newLabWith(t, labOptions{files: files, procs: f})
}

func TestAdapterRealmRunsOnlyItsSubmitProcedures(t *testing.T) {
	f := &fakeAdapter{}
	l := adapterLab(t, f)
	cases := []struct {
		realm, procedure string
		want             string // "success", "retry" or an error code
		ran              []string
	}{
		{"DefaultRealm", "", "success", []string{"Auth.submitAuthentication"}},
		{"DefaultRealm", "submitAuthentication", "success", []string{"Auth.submitAuthentication"}},
		{"DefaultRealm", "rates", "retry", []string{"Auth.rates", "Auth.onAuthRequired"}}, // unprotected: anyone may run it; then a new challenge
		{"DefaultRealm", "pay", string(engine.CodeProcedureNotAllowed), nil},
		{"DefaultRealm", "step1", string(engine.CodeProcedureNotAllowed), nil},
		{"DefaultRealm", "onAuthRequired", string(engine.CodeProcedureNotAllowed), nil},
		{"DefaultRealm", "nosuch", string(engine.CodeProcedureNotAllowed), nil},
		{"StepsRealm", "step1", "success", []string{"Auth.step1"}},
		{"StepsRealm", "step2", "success", []string{"Auth.step2"}},
		{"StepsRealm", "", string(engine.CodeProcedureNotAllowed), nil},
		{"StepsRealm", "submitAuthentication", string(engine.CodeProcedureNotAllowed), nil},
		{"StepsRealm", "pay", string(engine.CodeProcedureNotAllowed), nil},
	}
	for _, tc := range cases {
		c := l.client("mobilewebapp", "1.0")
		test := map[string]string{"DefaultRealm": "adapterDefault", "StepsRealm": "adapterSteps"}[tc.realm]
		c.mustChallenge(test)
		f.ran()
		body, _ := json.Marshal(map[string]any{"procedure": tc.procedure, "parameters": []any{"carol", "pw"}})
		got := outcome(c.answer(tc.realm, string(body)))
		if diff := cmp.Diff([]any{tc.want, tc.ran}, []any{got, f.ran()}); diff != "" {
			t.Errorf("%s answered with %q (-want +got):\n%s", tc.realm, tc.procedure, diff)
		}
	}
}

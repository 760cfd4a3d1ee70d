package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// stepsAdapter is Worklight's double-step sample in Go: step1(user, password) asks a second
// question, step2(answer) logs the user in; refusals carry an errorMessage and the login
// function's authStep 1. again answers with the login function's own object, loop asks one more
// question each time, direct logs in at once.
type stepsAdapter struct{ loops int }

func (f *stepsAdapter) Call(_ context.Context, _, procedure string, in json.RawMessage) (json.RawMessage, error) {
	var input struct{ Parameters []string }
	if err := json.Unmarshal(in, &input); err != nil {
		return nil, err
	}
	arg := func(i int) string {
		if i < len(input.Parameters) {
			return input.Parameters[i]
		}
		return ""
	}
	refuse := func(msg string) (json.RawMessage, error) {
		return json.RawMessage(`{"authRequired":true,"authStep":1,"errorMessage":"` + msg + `"}`), nil
	}
	switch procedure {
	case "onAuthRequired", "again":
		return json.RawMessage(`{"authRequired":true,"authStep":1,"errorMessage":null}`), nil
	case "direct":
		return json.RawMessage(`{"identity":{"userId":"carol"}}`), nil
	case "step1":
		if arg(0) != "carol" || arg(1) != "pw" {
			return refuse("Invalid login credentials")
		}
		return json.RawMessage(`{"authRequired":true,"authStep":2,"question":"What is your pet's name?","errorMessage":""}`), nil
	case "step2":
		if arg(0) != "Lassie" {
			return refuse("Wrong security question answer")
		}
		return json.RawMessage(`{"identity":{"userId":"carol"},"authRequired":false}`), nil
	case "loop":
		f.loops++
		return json.RawMessage(fmt.Sprintf(`{"authRequired":true,"authStep":%d}`, f.loops+1)), nil
	}
	return nil, fmt.Errorf("no procedure %s", procedure)
}

// stepsLab has the adapter-based realm StepsRealm, on adapter Auth, protecting test "adapterTwoStep".
func stepsLab(t testing.TB, f engine.ProcedureRunner) *lab {
	files := labFiles(t)
	conf := files[project.AuthConfigPath]
	conf = strings.Replace(conf, "<securityTests>", `<securityTests>
		<customSecurityTest name="adapterTwoStep"><test realm="StepsRealm" isInternalUserID="true"/></customSecurityTest>`, 1)
	conf = strings.Replace(conf, "<realms>", `<realms>
		<realm name="StepsRealm" loginModule="AnyUser">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Auth.onAuthRequired"/>
			<parameter name="submit-procedures" value="step1, step2, again, loop, direct, fuzz"/>
		</realm>`, 1)
	files[project.AuthConfigPath] = conf
	files["adapters/Auth/Auth.xml"] = `<?xml version="1.0" encoding="UTF-8"?>
<wl:adapter name="Auth" xmlns:wl="http://www.ibm.com/mfp/integration">
	<procedure name="step1"/>
	<procedure name="step2"/>
	<procedure name="again"/>
	<procedure name="loop"/>
	<procedure name="direct"/>
	<procedure name="fuzz"/>
</wl:adapter>
`
	return newLabWith(t, labOptions{files: files, procs: f, config: engine.Config{MaxAttempts: 3}})
}

// Token modes of a step's answer.
const (
	lastToken  = "last"  // the stepToken of the last challenge
	noToken    = "none"  // no stepToken
	staleToken = "stale" // the stepToken of an earlier challenge, already used
)

// stepAnswer is one answer of a login and what it must come to.
type stepAnswer struct {
	procedure string
	params    []string
	token     string
	// want is the outcome ("success", "retry" or an error code); for a retry, step is the
	// challenge's authStep, err whether it carries an error (a failed attempt) and remaining
	// its remainingAttempts (0 when absent).
	want      string
	step      float64
	err       bool
	remaining int
}

func TestAdapterRealmMultiStepLogin(t *testing.T) {
	login := func(p ...string) stepAnswer { return stepAnswer{procedure: "step1", params: p, token: lastToken} }
	second := func(a, token string) stepAnswer {
		return stepAnswer{procedure: "step2", params: []string{a}, token: token}
	}
	with := func(a stepAnswer, want string, step float64, err bool, remaining int) stepAnswer {
		a.want, a.step, a.err, a.remaining = want, step, err, remaining
		return a
	}
	loops := func(n int) []stepAnswer {
		var out []stepAnswer
		for i := range n {
			out = append(out, with(stepAnswer{procedure: "loop", token: lastToken}, "retry", float64(i+2), false, 0))
		}
		return out
	}
	cases := []struct {
		name    string
		answers []stepAnswer
	}{
		{"single step", []stepAnswer{
			with(stepAnswer{procedure: "direct"}, "success", 0, false, 0),
		}},
		{"two steps", []stepAnswer{
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Lassie", lastToken), "success", 0, false, 0),
		}},
		{"wrong password at step 1 counts", []stepAnswer{
			with(login("carol", "nope"), "retry", 1, true, 2),
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Lassie", lastToken), "success", 0, false, 0),
		}},
		{"wrong answer at step 2 counts and starts again", []stepAnswer{
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Rex", lastToken), "retry", 1, true, 2),
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Lassie", lastToken), "success", 0, false, 0),
		}},
		{"the attempt limit is as strict at step 2", []stepAnswer{
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Rex", lastToken), "retry", 1, true, 2),
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Fido", lastToken), "retry", 1, true, 1),
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Max", lastToken), string(engine.CodeTooManyAttempts), 0, false, 0),
			with(login("carol", "pw"), string(engine.CodeTooManyAttempts), 0, false, 0),
		}},
		{"a step's answer without its token counts", []stepAnswer{
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Lassie", noToken), "retry", 1, true, 2),
		}},
		{"a used step token counts", []stepAnswer{
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Rex", lastToken), "retry", 1, true, 2),
			with(login("carol", "pw"), "retry", 2, false, 0),
			with(second("Lassie", staleToken), "retry", 1, true, 1),
		}},
		{"the first question again is a refusal", []stepAnswer{
			with(stepAnswer{procedure: "again"}, "retry", 1, true, 2),
		}},
		{"at most 8 steps", append(loops(8),
			with(stepAnswer{procedure: "loop", token: lastToken}, "retry", 1, true, 2)),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := stepsLab(t, &stepsAdapter{})
			c := l.client("mobilewebapp", "1.0")
			ch := c.mustChallenge("adapterTwoStep").Challenges["StepsRealm"]
			if diff := cmp.Diff(map[string]any{"authenticator": "adapter", "adapter": "Auth", "authRequired": true, "authStep": float64(1), "errorMessage": nil}, ch); diff != "" {
				t.Fatalf("first challenge (-want +got):\n%s", diff)
			}
			var last, stale string
			for i, a := range tc.answers {
				body := map[string]any{"procedure": a.procedure, "parameters": a.params}
				switch a.token {
				case lastToken:
					if last != "" {
						body["stepToken"] = last
					}
				case staleToken:
					body["stepToken"] = stale
				}
				b, _ := json.Marshal(body)
				res, err := c.answer("StepsRealm", string(b))
				got := stepAnswer{procedure: a.procedure, params: a.params, token: a.token, want: outcome(res, err)}
				if err == nil && res.Retry != nil {
					p := res.Retry.Challenges["StepsRealm"]
					got.step, _ = p["authStep"].(float64)
					_, got.err = p["error"]
					if r, ok := p["remainingAttempts"].(int); ok {
						got.remaining = r
					}
					tok, _ := p["stepToken"].(string)
					if (tok != "") == got.err || (tok == "") != (got.step == 1) {
						t.Errorf("answer %d: challenge %v: a step carries a stepToken, a refusal none", i, p)
					}
					if last != "" {
						stale = last
					}
					last = tok
				}
				if diff := cmp.Diff(a, got, cmp.AllowUnexported(stepAnswer{})); diff != "" {
					t.Fatalf("answer %d (-want +got):\n%s", i, diff)
				}
				if got.want == "success" {
					if id := res.Identity; id["userId"] != "carol" {
						t.Errorf("identity %v, want carol", id)
					}
					c.mustAllow("adapterTwoStep")
				}
			}
		})
	}
}

// fuzzStepsAdapter returns, from procedure "fuzz", the objects it is given in turn.
type fuzzStepsAdapter struct {
	stepsAdapter
	outs [][]byte
}

func (f *fuzzStepsAdapter) Call(ctx context.Context, adapter, procedure string, in json.RawMessage) (json.RawMessage, error) {
	if procedure != "fuzz" {
		return f.stepsAdapter.Call(ctx, adapter, procedure, in)
	}
	if len(f.outs) == 0 {
		return json.RawMessage(`{"authRequired":true,"errorMessage":"no more"}`), nil
	}
	out := f.outs[0]
	f.outs = f.outs[1:]
	return out, nil
}

// FuzzAdapterSteps feeds a login the objects a script's submit procedure might return: a realm
// is passed only by an identity with a userId, a step carries a fresh stepToken and spends no
// attempt, any other answer spends exactly one, and no login has more than 8 steps.
func FuzzAdapterSteps(f *testing.F) {
	f.Add([]byte(`{"authRequired":true,"authStep":2,"question":"q","errorMessage":""}`), []byte(`{"identity":{"userId":"carol"}}`), true)
	f.Add([]byte(`{"authRequired":true,"authStep":1,"errorMessage":null}`), []byte(`{"authRequired":true,"errorMessage":"no"}`), true)
	f.Add([]byte(`{"authRequired":true,"authStep":2}`), []byte(`{"authRequired":true,"authStep":3}`), false)
	f.Add([]byte(`{"identity":{"userId":""}}`), []byte(`[1]`), true)
	f.Add([]byte(`{"authRequired":"true","errorMessage":0}`), []byte(`null`), true)
	fa := &fuzzStepsAdapter{}
	l := stepsLab(f, fa)
	f.Fuzz(func(t *testing.T, first, second []byte, token bool) {
		fa.outs = nil
		for range 6 {
			fa.outs = append(fa.outs, first, second)
		}
		c := l.withT(t).client("mobilewebapp", "1.0")
		c.mustChallenge("adapterTwoStep")
		remaining, steps, last := 3, 0, ""
		for range 12 {
			body := map[string]any{"procedure": "fuzz", "parameters": []any{}}
			if token && last != "" {
				body["stepToken"] = last
			}
			b, _ := json.Marshal(body)
			res, err := c.answer("StepsRealm", string(b))
			var ee *engine.Error
			switch {
			case errors.As(err, &ee):
				if ee.Code == engine.CodeTooManyAttempts && remaining != 1 {
					t.Fatalf("too many attempts with %d remaining", remaining)
				}
				return
			case err != nil:
				t.Fatalf("answer: %v", err)
			case res.Retry == nil:
				if id := res.Identity; id["userId"] == nil || id["userId"] == "" {
					t.Fatalf("passed with identity %v", id)
				}
				return
			}
			p := res.Retry.Challenges["StepsRealm"]
			tok, _ := p["stepToken"].(string)
			if tok != "" {
				steps++
				if _, hasErr := p["error"]; hasErr || steps > 8 || tok == last {
					t.Fatalf("step %d: challenge %v after token %q", steps, p, last)
				}
			} else {
				remaining--
				steps = 0
				if p["remainingAttempts"] != remaining {
					t.Fatalf("refusal %v: want remainingAttempts %d", p, remaining)
				}
			}
			last = tok
		}
	})
}

// BenchmarkAdapterLogin compares a one-step adapter-based login with a two-step one (the second
// question costs a login-function call, a nonce and an answer more).
func BenchmarkAdapterLogin(b *testing.B) {
	l := stepsLab(b, &stepsAdapter{})
	answer := func(c *client, body string) *engine.AnswerResult {
		res, err := c.answer("StepsRealm", body)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	b.Run("one-step", func(b *testing.B) {
		for b.Loop() {
			c := l.client("mobilewebapp", "1.0")
			c.mustChallenge("adapterTwoStep")
			if res := answer(c, `{"procedure":"direct"}`); res.Status != engine.StatusSuccess {
				b.Fatalf("%+v", res)
			}
		}
	})
	b.Run("two-step", func(b *testing.B) {
		for b.Loop() {
			c := l.client("mobilewebapp", "1.0")
			c.mustChallenge("adapterTwoStep")
			res := answer(c, `{"procedure":"step1","parameters":["carol","pw"]}`)
			tok, _ := res.Retry.Challenges["StepsRealm"]["stepToken"].(string)
			if res := answer(c, `{"procedure":"step2","parameters":["Lassie"],"stepToken":"`+tok+`"}`); res.Status != engine.StatusSuccess {
				b.Fatalf("%+v", res)
			}
		}
	})
}

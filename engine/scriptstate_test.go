package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
)

// stateAdapter is a two-step login that keeps step 1's user in its script state, as a
// JavaScript adapter keeps it in a global: step1(user) answers the next question and the state
// {"user": user}; step2() logs in the user of the state it is given. It records the state and
// request each call got.
type stateAdapter struct {
	mu       sync.Mutex
	states   []string
	requests []any
}

func (f *stateAdapter) Call(ctx context.Context, _, procedure string, in json.RawMessage) (json.RawMessage, error) {
	st := adapters.ScriptStateOf(ctx)
	var input struct {
		Parameters []string
		Request    any
	}
	if err := json.Unmarshal(in, &input); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.states = append(f.states, procedure+" "+string(st.In))
	f.requests = append(f.requests, input.Request)
	f.mu.Unlock()
	var kept struct{ User string }
	if len(st.In) > 0 {
		if err := json.Unmarshal(st.In, &kept); err != nil {
			return nil, err
		}
	}
	out, state := `{"authRequired":true,"authStep":1,"errorMessage":null}`, string(st.In)
	switch procedure {
	case "step1":
		out, state = `{"authRequired":true,"authStep":2,"question":"?","errorMessage":""}`, fmt.Sprintf(`{"user":%q}`, input.Parameters[0])
	case "step2":
		if kept.User == "" {
			out = `{"authRequired":true,"authStep":1,"errorMessage":"no user"}`
		} else {
			out = fmt.Sprintf(`{"identity":{"userId":%q}}`, kept.User)
		}
	}
	st.Out, st.Returned = json.RawMessage(state), true
	return json.RawMessage(out), nil
}

// A realm's calls carry the session's script state and save what they return with the
// session: two sessions' interleaved logins each log in their own user, and a logout forgets
// the state.
func TestAdapterRealmScriptStateIsPerSession(t *testing.T) {
	f := &stateAdapter{}
	l := stepsLab(t, f)
	carol, dave := l.client("mobilewebapp", "1.0"), l.client("mobilewebapp", "1.0")
	carol.headers["X-Trace"] = "c-1"
	token := map[*client]string{}
	start := func(c *client) {
		c.mustChallenge("adapterTwoStep")
	}
	step1 := func(c *client, user string) {
		res, err := c.answer("StepsRealm", `{"procedure":"step1","parameters":["`+user+`"]}`)
		if err != nil || res.Retry == nil {
			t.Fatalf("step1(%s) = %+v, %v", user, res, err)
		}
		token[c], _ = res.Retry.Challenges["StepsRealm"]["stepToken"].(string)
	}
	step2 := func(c *client) string {
		res, err := c.answer("StepsRealm", `{"procedure":"step2","stepToken":"`+token[c]+`"}`)
		if err != nil || res.Identity == nil {
			t.Fatalf("step2 = %+v, %v", res, err)
		}
		return fmt.Sprint(res.Identity["userId"])
	}
	start(carol)
	start(dave)
	sidBeforeLogin := carol.sid
	step1(carol, "carol")
	step1(dave, "dave")
	if got := step2(dave); got != "dave" {
		t.Errorf("dave logged in as %s", got)
	}
	if got := step2(carol); got != "carol" {
		t.Errorf("carol logged in as %s", got)
	}
	want := []string{
		"onAuthRequired ", "onAuthRequired ",
		"step1 ", `onAuthRequired {"user":"carol"}`, // the login function's object, to compare with step 1's
		"step1 ", `onAuthRequired {"user":"dave"}`,
		`step2 {"user":"dave"}`, `step2 {"user":"carol"}`,
	}
	if diff := cmp.Diff(want, f.states); diff != "" {
		t.Errorf("the states the calls got (-want +got):\n%s", diff)
	}

	// A procedure call of the session gets its state; one without a session none.
	var got []string
	record := func(ctx context.Context) error {
		got = append(got, string(adapters.ScriptStateOf(ctx).In))
		return nil
	}
	for _, sid := range []string{carol.sid, ""} {
		if err := l.eng.CallWithScriptState(context.Background(), carol.app, sid, "Auth", record); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{`{"user":"carol"}`, ""}, got); diff != "" {
		t.Errorf("procedure calls' states (-want +got):\n%s", diff)
	}

	if err := l.eng.Logout(context.Background(), carol.app, carol.sid, "StepsRealm"); err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := l.eng.CallWithScriptState(context.Background(), carol.app, carol.sid, "Auth", record); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{""}, got); diff != "" {
		t.Errorf("after the logout (-want +got):\n%s", diff)
	}

	// The realm's calls carry the client's request, and the session's client id: one for
	// carol's calls, another for dave's, neither a session id.
	start(carol) // after the login and the logout, which rotated the session id
	f.mu.Lock()
	defer f.mu.Unlock()
	want2 := map[string]any{"headers": map[string]any{"X-Trace": "c-1"}, "parameters": map[string]any{}}
	clientIDs := map[int]string{}
	for i, r := range f.requests {
		req, _ := r.(map[string]any)
		id, _ := req["clientId"].(string)
		if !clientIDPattern.MatchString(id) {
			t.Errorf("call %d's request.clientId = %q, want a version 8 UUID", i, id)
		}
		clientIDs[i] = id
		delete(req, "clientId")
	}
	for i, proc := range []string{"onAuthRequired", "step1", "step2"} {
		if diff := cmp.Diff(want2, f.requests[[]int{0, 2, 7}[i]]); diff != "" {
			t.Errorf("%s's request (-want +got):\n%s", proc, diff)
		}
	}
	carolID, daveID := clientIDs[0], clientIDs[1]
	for _, i := range []int{2, 3, 7, len(f.requests) - 1} {
		if clientIDs[i] != carolID {
			t.Errorf("carol's call %d has client id %q, want %q as in her first call", i, clientIDs[i], carolID)
		}
	}
	for _, i := range []int{4, 5, 6} {
		if clientIDs[i] != daveID {
			t.Errorf("dave's call %d has client id %q, want %q as in his first call", i, clientIDs[i], daveID)
		}
	}
	if carolID == daveID {
		t.Errorf("carol and dave share the client id %q", carolID)
	}
	if carolID == carol.sid || carolID == sidBeforeLogin || strings.Contains(carolID, carol.sid) {
		t.Errorf("the client id %q is the session id", carolID)
	}
	if carol.sid == sidBeforeLogin {
		t.Errorf("the session id did not rotate: the client id's stability is not shown")
	}
}

// A procedure call's state is written only over the state it started from: a logout during the
// call, or an overlapping call that ended first, drops it.
func TestProcedureScriptStateCompareAndSet(t *testing.T) {
	l := stepsLab(t, &stateAdapter{})
	c := l.client("mobilewebapp", "1.0")
	c.mustChallenge("adapterTwoStep") // makes the session
	ctx := context.Background()
	set := func(state string, during func()) func(context.Context) error {
		return func(ctx context.Context) error {
			st := adapters.ScriptStateOf(ctx)
			if during != nil {
				during()
			}
			st.Out, st.Returned = json.RawMessage(state), true
			return nil
		}
	}
	read := func() string {
		var got string
		if err := l.eng.CallWithScriptState(ctx, c.app, c.sid, "Auth", func(ctx context.Context) error {
			got = string(adapters.ScriptStateOf(ctx).In)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := l.eng.CallWithScriptState(ctx, c.app, c.sid, "Auth", set(`{"n":1}`, nil)); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != `{"n":1}` {
		t.Fatalf("state %q, want n 1", got)
	}
	// An overlapping call ends first: the slower one's state is dropped.
	if err := l.eng.CallWithScriptState(ctx, c.app, c.sid, "Auth", set(`{"n":2}`, func() {
		if err := l.eng.CallWithScriptState(ctx, c.app, c.sid, "Auth", set(`{"n":3}`, nil)); err != nil {
			t.Fatal(err)
		}
	})); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != `{"n":3}` {
		t.Errorf("state %q, want the first to end (n 3)", got)
	}
	// A logout during the call: nothing comes back.
	if err := l.eng.CallWithScriptState(ctx, c.app, c.sid, "Auth", set(`{"n":4}`, func() {
		if err := l.eng.Logout(ctx, c.app, c.sid, "StepsRealm"); err != nil {
			t.Fatal(err)
		}
	})); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "" {
		t.Errorf("after a logout during a call, state %q", got)
	}
	// The same when the call started from no state at all, for the user the logout ends: what it
	// computed for that user is dropped.
	c.mustChallenge("adapterTwoStep")
	res, err := c.answer("StepsRealm", `{"procedure":"step1","parameters":["carol"]}`)
	if err != nil || res.Retry == nil {
		t.Fatalf("step1 = %+v, %v", res, err)
	}
	token, _ := res.Retry.Challenges["StepsRealm"]["stepToken"].(string)
	if res, err := c.answer("StepsRealm", `{"procedure":"step2","stepToken":"`+token+`"}`); err != nil || res.Identity == nil {
		t.Fatalf("step2 = %+v, %v", res, err)
	}
	if err := l.eng.CallWithScriptState(ctx, c.app, c.sid, "Other", set(`{"carols":5}`, func() {
		if err := l.eng.Logout(ctx, c.app, c.sid, "StepsRealm"); err != nil {
			t.Fatal(err)
		}
	})); err != nil {
		t.Fatal(err)
	}
	if err := l.eng.CallWithScriptState(ctx, c.app, c.sid, "Other", func(ctx context.Context) error {
		if in := adapters.ScriptStateOf(ctx).In; in != nil {
			t.Errorf("after a logout during a call that started with no state, state %s", in)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

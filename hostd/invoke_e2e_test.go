package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// writeTB writes a file of a test project, making its folders.
func writeTB(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// invokeProject is a project whose JavaScript adapters call each other with
// WL.Server.invokeProcedure: Mashup's unprotected procedures call Accounts' protected ones, a
// chain of calls d1 → d2 → ... → d6, a procedure that calls itself, and ones that name what
// does not exist or only realms call. Accounts' submitAuthentication, the submit procedure of an
// adapter-based realm, checks the password through invokeProcedure too.
const invokeAccounts = `
function getBalance() {
	return {user: WL.Server.getActiveUser().userId, balance: 100};
}
function getProfile() {
	return {user: WL.Server.getActiveUser("AdapterRealm").userId};
}
function checkPassword(user, password) {
	return {ok: password === "secret-" + user};
}
function onAuthRequired(headers, errorMessage) {
	return {authRequired: true, errorMessage: errorMessage};
}
function submitAuthentication(user, password) {
	var check = WL.Server.invokeProcedure({adapter: "Accounts", procedure: "checkPassword", parameters: [user, password]});
	if (!check.isSuccessful || !check.ok) {
		return onAuthRequired(null, "wrong password");
	}
	WL.Server.setActiveUser("AdapterRealm", {userId: user});
	return {authRequired: false};
}
`

const invokeMashup = `
function call(adapter, procedure) {
	return WL.Server.invokeProcedure({adapter: adapter, procedure: procedure, parameters: []});
}
function summary() { return {inner: call("Accounts", "getBalance")}; }
function profile() { return {inner: call("Accounts", "getProfile")}; }
function loop() { return {inner: call("Mashup", "loop")}; }
function missing() { return {inner: call("Accounts", "nope")}; }
function internal() { return {inner: call("Accounts", "onAuthRequired")}; }
function d1() { return {depth: 1, next: call("Mashup", "d2")}; }
function d2() { return {depth: 2, next: call("Mashup", "d3")}; }
function d3() { return {depth: 3, next: call("Mashup", "d4")}; }
function d4() { return {depth: 4, next: call("Mashup", "d5")}; }
function d5() { return {depth: 5, next: call("Mashup", "d6")}; }
function d6() { return {depth: 6}; }
`

func writeInvokeProject(t testing.TB, dir string) {
	t.Helper()
	writeTB(t, filepath.Join(dir, "hostd.yaml"), "development: true\njsEngine: "+jsEngineModule(t)+"\n")
	writeTB(t, filepath.Join(dir, "adapters/Accounts/Accounts-impl.js"), invokeAccounts)
	writeTB(t, filepath.Join(dir, "adapters/Accounts/Accounts.xml"), `<wl:adapter name="Accounts" xmlns:wl="http://www.ibm.com/mfp/integration">
	<procedure name="getBalance" securityTest="LoginTests"/>
	<procedure name="getProfile" securityTest="AdapterTests"/>
	<procedure name="checkPassword" securityTest="wl_unprotected"/>
	<procedure name="submitAuthentication" securityTest="wl_unprotected"/>
</wl:adapter>`)
	var procs strings.Builder
	for _, p := range []string{"summary", "profile", "loop", "missing", "internal", "d1", "d2", "d3", "d4", "d5", "d6"} {
		procs.WriteString("\n\t<procedure name=\"" + p + "\" securityTest=\"wl_unprotected\"/>")
	}
	writeTB(t, filepath.Join(dir, "adapters/Mashup/Mashup-impl.js"), invokeMashup)
	// Six instances: the chain d1 → ... → d5 holds five at once.
	writeTB(t, filepath.Join(dir, "adapters/Mashup/Mashup.xml"), `<wl:adapter name="Mashup" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="js" instances="6"/>`+procs.String()+`
</wl:adapter>`)
	// One instance: its call of itself would wait for the instance it holds.
	writeTB(t, filepath.Join(dir, "adapters/Solo/Solo-impl.js"), `function outer() { return {inner: WL.Server.invokeProcedure({adapter: "Solo", procedure: "inner", parameters: []})}; }
function inner() { return {}; }`)
	writeTB(t, filepath.Join(dir, "adapters/Solo/Solo.xml"), `<wl:adapter name="Solo" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="js" instances="1"/>
	<procedure name="outer" securityTest="wl_unprotected"/>
	<procedure name="inner" securityTest="wl_unprotected"/>
</wl:adapter>`)
	writeTB(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="LoginTests">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="Login" isInternalUserID="true" step="1"/>
		</customSecurityTest>
		<customSecurityTest name="AdapterTests">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="AdapterRealm" isInternalUserID="true" step="1"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="Login" loginModule="AnyUser"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="AdapterRealm" loginModule="AnyUser">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Accounts.onAuthRequired"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="AnyUser"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
	</loginModules>
</tns:loginConfiguration>`)
	writeTB(t, filepath.Join(dir, "apps/Bank/application-descriptor.xml"), `<application id="Bank">
	<mobilewebapp securityTest="LoginTests" version="1.0"/>
</application>`)
}

// TestInvokeProcedureThroughTheHost: WL.Server.invokeProcedure applies the called procedure's
// security test with the caller's session and never challenges; the callee sees the caller's
// identity; cycles, chains deeper than 4, unknown procedures and the procedures only realms
// call are refused with Worklight's isSuccessful: false; an adapter-based realm's submit
// procedure may invoke another procedure during the login.
func TestInvokeProcedureThroughTheHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine")
	}
	dir := t.TempDir()
	writeInvokeProject(t, dir)
	d := startDaemon(t, dir, "")

	logins, submits := 0, 0
	c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "Bank", Environment: "mobilewebapp", AppVersion: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler("Login", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		logins++
		return client.Credentials{Username: "alice", Password: "any"}, nil
	}})
	c.RegisterHandler("AdapterRealm", &client.AdapterHandler{Submit: func(_ context.Context, p client.AdapterPrompt) (client.AdapterSubmission, error) {
		submits++
		return client.AdapterSubmission{Parameters: []any{"alice", "secret-alice"}}, nil
	}})
	ctx := context.Background()
	call := func(adapter, procedure string) map[string]any {
		t.Helper()
		raw, err := c.InvokeProcedure(ctx, adapter, procedure)
		if err != nil {
			t.Fatalf("%s.%s: %v", adapter, procedure, err)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s.%s: %s: %v", adapter, procedure, raw, err)
		}
		return out
	}
	// refusal checks an answer of isSuccessful false: its code, and that its message names want.
	refusal := func(what string, answer any, code, want string) {
		t.Helper()
		m, _ := answer.(map[string]any)
		errs, _ := m["errors"].([]any)
		if m["isSuccessful"] != false || m["code"] != code || len(errs) != 1 || !strings.Contains(errs[0].(string), want) {
			t.Errorf("%s = %v, want isSuccessful false, code %q, one error naming %q", what, answer, code, want)
		}
	}

	// Before any login the protected callee is refused, naming its realm; nobody was challenged.
	refusal("summary before the login", call("Mashup", "summary")["inner"], "realm_required", "realm Login")
	if logins != 0 {
		t.Fatalf("invokeProcedure challenged: %d logins", logins)
	}
	// The client logs in by calling the protected procedure itself.
	if got := call("Accounts", "getBalance"); got["user"] != "alice" || logins != 1 {
		t.Fatalf("getBalance = %v after %d logins", got, logins)
	}
	// Now the session passes the callee's test, and the callee sees the caller's identity.
	if diff := cmp.Diff(map[string]any{"inner": map[string]any{"isSuccessful": true, "user": "alice", "balance": 100.0}}, call("Mashup", "summary")); diff != "" {
		t.Errorf("summary after the login (-want +got):\n%s", diff)
	}

	refusal("loop", call("Mashup", "loop")["inner"], "cycle", "Mashup.loop is already running")
	refusal("missing", call("Mashup", "missing")["inner"], "not_found", `no procedure "nope"`)
	refusal("Solo calling itself", call("Solo", "outer")["inner"], "adapter_busy", "as many as it runs at once")
	refusal("internal", call("Mashup", "internal")["inner"], "not_found", `no procedure "onAuthRequired"`)

	// d1 → d2 → d3 → d4 → d5 are four nested calls; d5's call of d6 would be the fifth.
	level := call("Mashup", "d1")
	for depth := 1; depth <= 5; depth++ {
		if level["depth"] != float64(depth) {
			t.Fatalf("level %d of the chain = %v", depth, level)
		}
		next, _ := level["next"].(map[string]any)
		if depth == 5 {
			refusal("d5's call of d6", next, "depth_exceeded", "deeper than 4")
			break
		}
		if next["isSuccessful"] != true {
			t.Fatalf("call at depth %d refused: %v", depth, next)
		}
		level = next
	}

	// The adapter realm's login runs submitAuthentication, which invokes checkPassword.
	refusal("profile before the adapter login", call("Mashup", "profile")["inner"], "realm_required", "realm AdapterRealm")
	if got := call("Accounts", "getProfile"); got["user"] != "alice" || submits != 1 {
		t.Fatalf("getProfile = %v after %d submissions", got, submits)
	}
	if diff := cmp.Diff(map[string]any{"inner": map[string]any{"isSuccessful": true, "user": "alice"}}, call("Mashup", "profile")); diff != "" {
		t.Errorf("profile after the adapter login (-want +got):\n%s", diff)
	}
}

// BenchmarkInvokeProcedure compares a client's call of a protected JavaScript procedure (direct)
// with a call of an unprotected one that reaches it through invokeProcedure (nested): the
// nested call adds one decision of the callee's test (a session read) and a second JavaScript
// call. Report nested/direct from one run.
func BenchmarkInvokeProcedure(b *testing.B) {
	dir := b.TempDir()
	writeInvokeProject(b, dir)
	st, err := daemon.LoadSettings(dir)
	if err != nil {
		b.Fatal(err)
	}
	st.Listen, st.Data, st.AdapterCacheDir = "127.0.0.1:0", b.TempDir(), adaptertest.CompilationCacheDir(b)
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: st})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "Bank", Environment: "mobilewebapp", AppVersion: "1.0"})
	if err != nil {
		b.Fatal(err)
	}
	c.RegisterHandler("Login", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
		return client.Credentials{Username: "alice", Password: "any"}, nil
	}})
	ctx := context.Background()
	if _, err := c.InvokeProcedure(ctx, "Accounts", "getBalance"); err != nil {
		b.Fatal(err)
	}
	calls := []struct{ adapter, procedure, want string }{
		{"Accounts", "getBalance", `"balance":100`},
		{"Mashup", "summary", `"isSuccessful":true`},
	}
	run := func(i int) time.Duration {
		start := time.Now()
		out, err := c.InvokeProcedure(ctx, calls[i].adapter, calls[i].procedure)
		if err != nil || !strings.Contains(string(out), calls[i].want) {
			b.Fatalf("%s.%s = %s, %v", calls[i].adapter, calls[i].procedure, out, err)
		}
		return time.Since(start)
	}
	for range 20 { // the first calls instantiate the adapters' engines
		run(0)
		run(1)
	}
	// Interleaved, so that the machine's load weighs on both alike.
	var spent [2]time.Duration
	n := 0
	for b.Loop() {
		spent[0] += run(0)
		spent[1] += run(1)
		n++
	}
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(n), "direct-ns/op")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(n), "nested-ns/op")
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "nested/direct")
}

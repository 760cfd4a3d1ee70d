package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
)

// WL.Server.invokeProcedure: an adapter call runs another procedure of a deployed adapter
// through the host, so that the called procedure's security test applies as it would to a
// client. The test is decided with the session of the request that made the outer call, and
// never challenges: there is no client on the line to answer a challenge, so a test the session
// does not already pass refuses the call and names the realm it needs.

// InvokeScope is the request whose adapter call an invoker serves.
type InvokeScope struct {
	App AppContext
	// SessionID is the session of the request (after the request's own authorization, which
	// may have made or rotated it); "" when it has none.
	SessionID string
	// Client is the client's address as the server saw it, and Passive what the request
	// carries for the realms a test observes (the anti-XSRF header, a header login).
	Client  string
	Passive Passive
	// Caller is the procedure the client called, Adapter.procedure: the start of the chain.
	Caller string
}

// Invoker returns the invoker of an adapter call a client made (the daemon's procedure
// endpoint): put it in the call's context with adapters.WithInvoker.
func (e *Engine) Invoker(scope InvokeScope) adapters.Invoker {
	return &invoker{e: e, app: scope.App, sessionID: scope.SessionID, client: scope.Client, passive: scope.Passive, chain: adapters.InvokeChain{scope.Caller}}
}

// invoker runs invokeProcedure calls for one request. Each decision reads the request's
// session from the store anew and never writes it: a nested call's decision cannot change the
// session its request holds (a realm's request holds it locked, and saves it when it ends).
type invoker struct {
	e         *Engine
	app       AppContext
	sessionID string
	client    string
	passive   Passive
	chain     adapters.InvokeChain
}

// realmInvoker is the invoker of a realm's adapter call (adapterauth.go): its decisions read
// the session of the realm's request as the store holds it (what the request itself changes
// is saved when it ends).
func (e *Engine) realmInvoker(x *exchange, adapter, procedure string) adapters.Invoker {
	id := x.s.rec.ID
	if x.s.rotated != "" {
		id = x.s.rotated // the new id is stored when the request ends
	}
	return &invoker{e: e, app: x.app, sessionID: id, client: x.clientIP, passive: x.passive, chain: adapters.InvokeChain{adapter + "." + procedure}}
}

// slotRunner is a ProcedureRunner that says how many calls of an adapter may run at once (the
// daemon's): a chain of invokeProcedure calls that holds them all fails at once rather than
// wait for an instance it holds itself.
type slotRunner interface {
	Slots(adapter string) int
}

// Invoke runs adapter.procedure for the call in progress (adapters.Invoker).
func (inv *invoker) Invoke(ctx context.Context, adapter, procedure string, parameters json.RawMessage) (json.RawMessage, error) {
	chain, err := inv.chain.Next(adapter, procedure)
	if err != nil {
		return nil, err
	}
	e := inv.e
	ref := adapter + "." + procedure
	a := e.project.Adapters[adapter]
	if a == nil {
		return nil, &adapters.InvokeError{Code: adapters.InvokeNotFound, Message: fmt.Sprintf("adapter %q is not deployed", adapter)}
	}
	proc := a.Procedures[procedure]
	if proc == nil || e.project.Internal[ref] {
		// A procedure that realms call (a PKI bridge's, a login function) is not the callers' to call.
		return nil, &adapters.InvokeError{Code: adapters.InvokeNotFound, Message: fmt.Sprintf("adapter %q has no procedure %q", adapter, procedure)}
	}
	var params []any
	if err := json.Unmarshal(parameters, &params); err != nil {
		return nil, &adapters.InvokeError{Code: adapters.InvokeBadRequest, Message: "parameters must be a JSON array"}
	}
	if params == nil {
		params = []any{}
	}
	test := proc.SecurityTest
	if test == "" {
		test = inv.envTest()
	}
	// One read of the session serves the decision and the callee's script state. It is not
	// saved: a nested call never writes the session.
	now := e.now()
	sess, err := e.loadSession(ctx, inv.sessionID, inv.app, now)
	if err != nil {
		return nil, &adapters.InvokeError{Code: adapters.InvokeUnavailable, Message: "the session could not be read", Err: err}
	}
	scripts := &adapters.ScriptState{}
	if !sess.isNew {
		scripts.In = sess.st.Scripts[adapter] // before the decision, which may change sess in memory
	}
	identity := map[string]any{}
	var request map[string]any
	if test != project.Unprotected {
		acc, err := inv.authorize(ctx, sess, now, ref, adapter, procedure, test, params)
		if err != nil {
			return nil, err
		}
		identity = map[string]any{"user": acc.User, "device": acc.Device, "realms": acc.Identities}
		if acc.ClientID != "" {
			// WL.Server.getClientId() in the called procedure: the session's, as in the caller.
			request = map[string]any{"clientId": acc.ClientID}
		}
	}
	if e.procs == nil {
		return nil, &adapters.InvokeError{Code: adapters.InvokeUnavailable, Message: fmt.Sprintf("adapter %q has no backend in this deployment", adapter)}
	}
	input := map[string]any{
		"parameters": params,
		"app":        map[string]any{"id": inv.app.App, "env": inv.app.Env, "version": inv.app.Version},
		"identity":   identity,
	}
	if request != nil {
		input["request"] = request
	}
	in, err := json.Marshal(input)
	if err != nil {
		return nil, &adapters.InvokeError{Code: adapters.InvokeBadRequest, Message: "the parameters cannot be passed to the adapter"}
	}
	if sr, ok := e.procs.(slotRunner); ok {
		if n, held := sr.Slots(adapter), inv.chain.Held(adapter); n > 0 && held >= n {
			return nil, &adapters.InvokeError{Code: string(adapters.CodeBusy),
				Message: fmt.Sprintf("this chain of calls (%s) already runs %d calls of adapter %s, as many as it runs at once: %s would wait for itself", strings.Join(inv.chain, " → "), held, adapter, ref)}
		}
	}
	callee := *inv
	callee.chain = chain
	// The callee runs with its own adapter's script state of the session, as the store holds
	// it, in place of the caller's, which ctx carries while the caller runs (an adapter would
	// otherwise start from another adapter's globals and write into its state). What the callee
	// changes is not kept: a client's request keeps the state of the adapter it called, and the
	// session is not locked across the call.
	ctx = adapters.WithScriptState(ctx, scripts)
	return e.procs.Call(adapters.WithInvoker(ctx, &callee), adapter, procedure, in)
}

// envTest is the security test of the request's environment, which a procedure without one of
// its own gets (as the procedure endpoint gives it).
func (inv *invoker) envTest() string {
	if app := inv.e.project.Apps[inv.app.App]; app != nil {
		if env := app.Envs[inv.app.Env]; env != nil {
			return env.SecurityTest
		}
	}
	return project.DefaultWebTest
}

// authorize decides test for session s (as Invoke read it) without challenging, from the realms
// s has passed and not outlived, as the store (or the realm's request) holds them; s is not saved.
// Passive realms are not observed again (the outer request observed them, and what they
// passed is in the session), so a nested decision never passes more than the outer one could.
func (inv *invoker) authorize(ctx context.Context, s *session, now time.Time, ref, adapter, procedure, testName string, params []any) (*Access, error) {
	e := inv.e
	test, ok := e.project.Tests[testName]
	if !ok {
		return nil, &adapters.InvokeError{Code: adapters.InvokeUnavailable, Message: fmt.Sprintf("security test %q of %s is not defined", testName, ref)}
	}
	x := exchange{ctx: ctx, e: e, s: s, now: now, app: inv.app, passive: inv.passive, test: test, clientIP: inv.client, client: clientKey(inv.client)}
	req := AccessRequest{App: inv.app, SessionID: inv.sessionID, Client: inv.client, Passive: inv.passive,
		Resource: Resource{Kind: ResourceProcedure, Name: ref, Test: testName,
			Attributes: map[string]any{"adapter": adapter, "procedure": procedure}},
		Facts: map[string]any{"parameters": params, "invokedBy": inv.chain[len(inv.chain)-1]}}
	// The realms the session passed, and those the test observes in the request (the
	// anti-XSRF header): as the request's own decision saw them. The session is not saved.
	passed, err := e.observe(&x)
	if err != nil {
		e.obs.Decision(testName, OutcomeError)
		return nil, &adapters.InvokeError{Code: adapters.InvokeUnavailable, Message: "the security test of " + ref + " could not be decided", Err: err}
	}
	authn := e.authenticated(passed)
	facts, withheld, err := e.boundFacts(req.Facts, authn)
	if err != nil {
		e.obs.Decision(testName, decisionOutcome(nil, err))
		return nil, &adapters.InvokeError{Code: adapters.InvokeDenied, Message: fmt.Sprintf("%s refuses these parameters: %s", ref, errorMessage(err))}
	}
	input := policies.Input{
		Test:     testName,
		Passed:   passed,
		App:      policies.App{ID: inv.app.App, Env: inv.app.Env, Version: inv.app.Version},
		Resource: policies.Resource{Kind: req.Resource.Kind, Name: ref, Attributes: req.Resource.Attributes},
		Request:  facts,
	}
	input.User, _ = e.identities(x.s, test, now)
	dec, err := e.evaluate(ctx, input, authn)
	if err != nil {
		e.obs.Decision(testName, OutcomeError)
		return nil, &adapters.InvokeError{Code: adapters.InvokeUnavailable, Message: "the security test of " + ref + " could not be decided", Err: err}
	}
	if withheld && dec.Outcome == policies.Allow {
		dec = policies.Decision{Outcome: policies.Deny, Reasons: []string{"request too large for a caller who has not authenticated"}}
	}
	e.logDecision(&x, req, passed, dec, &input)
	switch dec.Outcome {
	case policies.Allow:
		e.obs.Decision(testName, OutcomeAllow)
		acc := &Access{Allowed: true, Test: testName, Identities: identitiesOf(x.s, now), ClientID: ClientID(x.s.st.Lineage)}
		acc.User, acc.Device = e.identities(x.s, test, now)
		return acc, nil
	case policies.Challenge:
		e.obs.Decision(testName, OutcomeChallenge)
		realm := strings.Join(dec.Realms, ", ")
		return nil, &adapters.InvokeError{Code: adapters.InvokeRealmRequired, Realm: realm,
			Message: fmt.Sprintf("%s needs a login to realm %s (security test %s) that this session has not made: invokeProcedure does not challenge, so the client must log in first", ref, realm, testName)}
	default:
		e.obs.Decision(testName, OutcomeDeny)
		return nil, &adapters.InvokeError{Code: adapters.InvokeDenied, Message: fmt.Sprintf("%s: %s", ref, joinReasons(dec.Reasons))}
	}
}

// errorMessage is the message of an engine error, for a guest.
func errorMessage(err error) string {
	if ee, ok := err.(*Error); ok {
		return ee.Message
	}
	return "refused"
}

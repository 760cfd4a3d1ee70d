package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/project"
)

// ProcedureRunner runs adapter procedures; the daemon passes its loaded adapters. The engine
// uses it for adapter-based realms.
type ProcedureRunner interface {
	Call(ctx context.Context, adapter, procedure string, input json.RawMessage) (json.RawMessage, error)
}

// InitRunner is a ProcedureRunner whose adapters remember their init (adapters.Initializer):
// CallInit runs procedure of adapter on an instance that ran init, running init first only on an
// instance that has not. The daemon's runner is one; with a runner that is not, a PKI bridge's
// init runs before each of its procedures.
type InitRunner interface {
	ProcedureRunner
	CallInit(ctx context.Context, adapter string, init adapters.Init, procedure string, input json.RawMessage) (json.RawMessage, error)
}

// DefaultSubmitProcedure is the procedure an adapter-based answer calls when it names none.
const DefaultSubmitProcedure = project.DefaultSubmitProcedure

// adapterRealm is a realm with com.worklight.integration.auth.AdapterAuthenticator: the adapter
// decides the login. Its login-function makes the challenge (Worklight's onAuthRequired), and the
// procedure a client's answer names decides it: returning {"identity": {"userId": ...}} logs the
// user in (Worklight's WL.Server.setActiveUser), {"authRequired": true, "errorMessage": ...} is a
// wrong answer, and {"authRequired": true, ...} with no errorMessage and another object than the
// login function's is the login's next step (adaptersteps.go).
type adapterRealm struct {
	name           string
	adapter        string
	loginFunction  string
	logoutFunction string
	exp            time.Duration
	// allowedSubmits are the procedures an answer may name: the realm's submit procedures and
	// the adapter's unprotected ones. Running any other procedure through the realm would run
	// it without its own security test.
	allowedSubmits map[string]bool
	runner         ProcedureRunner // nil: no adapter is loaded
}

func newAdapterRealm(e *Engine, p *project.Project, r *project.Realm, lm *project.LoginModule) (realm, error) {
	login, _ := r.Params.Get("login-function")
	loginRef, ok := adapters.ParseProcRef(login)
	if !ok {
		return nil, fmt.Errorf("login-function %q is not Adapter.function", login)
	}
	adapter := loginRef.Adapter
	ar := &adapterRealm{
		name: r.Name, adapter: adapter, loginFunction: loginRef.Procedure,
		runner:         e.procs,
		allowedSubmits: map[string]bool{},
	}
	if logout, ok := r.Params.Get("logout-function"); ok && logout != "" {
		ref, ok := adapters.ParseProcRef(logout)
		if !ok || ref.Adapter != adapter {
			return nil, fmt.Errorf("logout-function %q must be a function of adapter %s", logout, adapter)
		}
		ar.logoutFunction = ref.Procedure
	}
	if a := p.Adapters[adapter]; a != nil {
		procs, _ := r.SubmitProcedures()
		for _, ref := range procs {
			name := ref
			if ad, proc, qualified := strings.Cut(ref, "."); qualified {
				if ad != adapter {
					continue // the loader reports it
				}
				name = proc
			}
			if _, declared := a.Procedures[name]; declared {
				ar.allowedSubmits[name] = true
			}
		}
		for name, proc := range a.Procedures {
			// An unprotected procedure may be called by anyone anyway; a procedure a realm calls
			// (a PKI bridge's, a login function) stays out of clients' reach.
			if proc.SecurityTest == project.Unprotected && !p.Internal[adapter+"."+name] {
				ar.allowedSubmits[name] = true
			}
		}
	}
	if lm != nil && lm.ExpirationInSeconds > 0 {
		ar.exp = time.Duration(lm.ExpirationInSeconds) * time.Second
	}
	return ar, nil
}

func (a *adapterRealm) expiration() time.Duration { return a.exp }

func (a *adapterRealm) call(x *exchange, procedure string, input map[string]any) (map[string]any, error) {
	if a.runner == nil {
		return nil, &Error{Code: CodeNotImplemented, Message: "adapter " + a.adapter + " is not loaded: realm " + a.name + " cannot authenticate",
			Details: map[string]any{"realm": a.name}}
	}
	input["realm"] = a.name
	input["app"] = map[string]any{"id": x.app.App, "env": x.app.Env, "version": x.app.Version}
	if x.passive.Request != nil {
		if req := x.passive.Request(); req != nil {
			input["request"] = req
		}
	}
	in, err := json.Marshal(input)
	if err != nil {
		return nil, errorf(CodeBadRequest, "the answer cannot be passed to the adapter: %v", err)
	}
	ctx, keepState := x.scriptCall(a.adapter)
	// WL.Server.invokeProcedure from the realm's functions applies the called procedure's test
	// with the session this request holds (invoke.go).
	ctx = adapters.WithInvoker(ctx, x.e.realmInvoker(x, a.adapter, procedure))
	out, err := a.runner.Call(ctx, a.adapter, procedure, in)
	if err != nil {
		return nil, adapterError(a.adapter, procedure, err)
	}
	keepState()
	var obj map[string]any
	if err := json.Unmarshal(out, &obj); err != nil || obj == nil {
		return nil, &Error{Code: CodeUnavailable, Message: fmt.Sprintf("%s.%s must return a JSON object", a.adapter, procedure), Err: err}
	}
	return obj, nil
}

// adapterBusy is the error of a request whose adapter call was refused because the adapter runs
// and queues as many calls as it may (adapters.CodeBusy): unavailable, with the adapter's
// message ("adapter X is busy") and when to retry; nil for any other error.
func adapterBusy(err error) error {
	var ae *adapters.Error
	if !errors.As(err, &ae) || ae.Code != adapters.CodeBusy {
		return nil
	}
	return &Error{Code: CodeUnavailable, Message: ae.Message, RetryAfter: ae.RetryAfter, Err: err}
}

// adapterError turns an adapter failure into the engine's error for this request.
func adapterError(adapter, procedure string, err error) error {
	var ae *adapters.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case adapters.CodeFailed:
			return &Error{Code: CodeRefused, Message: ae.Message, Err: err}
		case adapters.CodeUnknownProcedure:
			return &Error{Code: CodeNotImplemented, Message: fmt.Sprintf("adapter %s has no function %s", adapter, procedure), Err: err}
		case adapters.CodeBusy:
			return adapterBusy(err)
		}
	}
	return &Error{Code: CodeUnavailable, Message: fmt.Sprintf("adapter %s could not run %s", adapter, procedure), Err: err}
}

func (a *adapterRealm) challenge(x *exchange) (map[string]any, error) {
	a.endSteps(x) // the login function's challenge starts a login
	out, err := a.call(x, a.loginFunction, map[string]any{})
	if err != nil {
		return nil, err
	}
	payload := map[string]any{}
	for k, v := range out {
		payload[k] = v
	}
	payload["authenticator"] = "adapter"
	payload["adapter"] = a.adapter
	return payload, nil
}

func (a *adapterRealm) answer(x *exchange, req *AnswerRequest) (answerOutcome, error) {
	var body struct {
		Procedure  string `json:"procedure"`
		Parameters []any  `json:"parameters"`
		// StepToken answers a step of a multi-step login: the single-use nonce of the step's
		// challenge (adaptersteps.go).
		StepToken string `json:"stepToken"`
	}
	if err := decodeAnswer(req.Body, &body); err != nil {
		return answerOutcome{}, err
	}
	if body.Procedure == "" {
		body.Procedure = DefaultSubmitProcedure
	}
	if !a.allowedSubmits[body.Procedure] {
		return answerOutcome{}, &Error{Code: CodeProcedureNotAllowed,
			Message: fmt.Sprintf("procedure %q of adapter %s does not receive the credentials of realm %s: name one of its submit procedures (parameter %s)",
				truncate(body.Procedure, 128), a.adapter, a.name, project.ParamSubmitProcedures),
			Details: map[string]any{"realm": a.name}}
	}
	if body.Parameters == nil {
		body.Parameters = []any{}
	}
	// The adapter decides what the parameters mean, so no account is known: only the client's
	// failures count.
	if err := x.e.beginLogin(x, a.name, "", ""); err != nil {
		return answerOutcome{}, err
	}
	steps, err := a.checkStep(x, body.StepToken)
	if err != nil {
		return answerOutcome{}, err
	}
	out, err := a.call(x, body.Procedure, map[string]any{"parameters": body.Parameters})
	if err != nil {
		return answerOutcome{}, err
	}
	if _, ok := out["identity"].(map[string]any); !ok {
		next, err := a.nextStep(x, out, steps)
		if err != nil || next != nil {
			return answerOutcome{challenge: next}, err
		}
	}
	a.endSteps(x)
	if id, ok := out["identity"].(map[string]any); ok {
		user, _ := id["userId"].(string)
		if user == "" || len(user) > maxUsername {
			return answerOutcome{}, &Error{Code: CodeUnavailable, Message: fmt.Sprintf("%s.%s returned an identity without a userId", a.adapter, body.Procedure)}
		}
		identity := map[string]any{}
		for k, v := range id {
			identity[k] = v
		}
		if _, ok := identity["displayName"]; !ok {
			identity["displayName"] = user
		}
		identity["realm"] = a.name
		return answerOutcome{identity: identity, userLogin: true}, nil
	}
	msg, _ := out["errorMessage"].(string)
	if msg == "" {
		msg = "the adapter did not accept the answer"
	}
	msg = truncate(msg, 512)
	return answerOutcome{}, retry("%s", msg)
}

// logout runs the realm's logout-function, if any; a failure is logged, not returned: the
// session forgets the login either way.
func (a *adapterRealm) logout(x *exchange) {
	if a.logoutFunction == "" {
		return
	}
	if _, err := a.call(x, a.logoutFunction, map[string]any{}); err != nil {
		x.e.log.Warn("logout-function failed", "realm", a.name, "err", err)
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

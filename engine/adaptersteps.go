package engine

import (
	"crypto/subtle"
	"reflect"
	"strconv"
)

// Multi-step adapter-based logins (Worklight's "double step" authentication): a submit procedure
// that answers {"authRequired": true, "authStep": 2, "question": ...} asks the client another
// question. In Worklight such an answer, with no active user, is simply the realm's next
// challenge; the realm is passed only when the adapter calls setActiveUser.
//
// The engine tells a step from a wrong answer by what the adapter returned:
//   - a non-empty errorMessage is a wrong answer (every Worklight sample and corpus script
//     signals a refusal so, at any step): it counts against the realm's attempts, the account's
//     and the client's backoff exactly as a one-step login's, and the login starts again at the
//     login function's challenge;
//   - authRequired true, no errorMessage, and an object other than the login function's
//     challenge (authStep 2, a question) is the next step: a new challenge carrying the
//     adapter's object and a fresh single-use nonce (stepToken) that the answer to the step
//     must carry; it is not a failed attempt;
//   - authRequired true with the login function's own object is a wrong answer: a script that
//     asks its first question again has refused the answer, and treating it as a step would
//     let a client guess without ever counting a failure.
//
// A login has at most maxAdapterSteps steps: past them the answer is a wrong answer, so a script
// cannot keep a client in an endless login nor turn its refusals into free guesses.
//
// What the adapter learned at a step (who passed step 1) is the adapter's to keep, as in
// Worklight, where it lived in the adapter's session.

// maxAdapterSteps bounds the challenges that follow the login function's in one login.
const maxAdapterSteps = 8

// Realm-state keys of a login in progress: how many steps were asked and the nonce of the last.
const (
	dataAdapterSteps = "adapterSteps"
	dataAdapterNonce = "adapterStepNonce"
)

// checkStep verifies the step token of an answer: when the login is at a step, the answer must
// carry the nonce of that step's challenge, unused. It returns the steps asked so far.
func (a *adapterRealm) checkStep(x *exchange, token string) (int, error) {
	rs := x.s.peek(a.name)
	if rs == nil || rs.Data[dataAdapterSteps] == "" {
		return 0, nil
	}
	steps, err := strconv.Atoi(rs.Data[dataAdapterSteps])
	if err != nil || steps < 1 || steps > maxAdapterSteps {
		return 0, retry("the login's state is damaged: answer the new challenge")
	}
	want := rs.Data[dataAdapterNonce]
	if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
		return 0, retry("the answer must carry the stepToken of the login's last challenge")
	}
	if err := x.e.consumeNonce(x, token, a.name); err != nil {
		return 0, err
	}
	return steps, nil
}

// nextStep returns the challenge of the login's next step when out, the submit procedure's
// object without an identity, asks another question; nil when out is a wrong answer.
func (a *adapterRealm) nextStep(x *exchange, out map[string]any, steps int) (map[string]any, error) {
	if out["authRequired"] != true || !emptyMessage(out["errorMessage"]) {
		return nil, nil
	}
	if steps >= maxAdapterSteps {
		return nil, retry("the login asked more than %d questions", maxAdapterSteps)
	}
	first, err := a.call(x, a.loginFunction, map[string]any{})
	if err != nil {
		return nil, err
	}
	if reflect.DeepEqual(withoutMessage(first), withoutMessage(out)) {
		return nil, nil // the first question again: a refusal
	}
	n, err := x.e.issueNonce(x, a.name)
	if err != nil {
		return nil, err
	}
	rs := x.s.realm(a.name)
	if rs.Data == nil {
		rs.Data = map[string]string{}
	}
	rs.Data[dataAdapterSteps] = strconv.Itoa(steps + 1)
	rs.Data[dataAdapterNonce] = n
	x.s.dirty = true
	payload := make(map[string]any, len(out)+3)
	for k, v := range out {
		if !serverMembers[k] {
			payload[k] = v
		}
	}
	payload["authenticator"] = "adapter"
	payload["adapter"] = a.adapter
	payload["stepToken"] = n
	return payload, nil
}

// serverMembers are the members of a challenge the server speaks through: a step's object does
// not set them, so a script's "error" cannot pass for a refusal nor its "stepToken" for a nonce.
var serverMembers = map[string]bool{"authenticator": true, "adapter": true, "stepToken": true, "error": true, "remainingAttempts": true}

// endSteps forgets a login's steps: it passed, failed or starts again.
func (a *adapterRealm) endSteps(x *exchange) {
	rs := x.s.peek(a.name)
	if rs == nil || rs.Data[dataAdapterSteps] == "" && rs.Data[dataAdapterNonce] == "" {
		return
	}
	delete(rs.Data, dataAdapterSteps)
	delete(rs.Data, dataAdapterNonce)
	x.s.dirty = true
}

// emptyMessage reports whether an errorMessage member says nothing: absent, null or "".
func emptyMessage(v any) bool {
	s, isString := v.(string)
	return v == nil || isString && s == ""
}

// withoutMessage is an adapter's object without its errorMessage, for comparing questions.
func withoutMessage(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "errorMessage" {
			out[k] = v
		}
	}
	return out
}

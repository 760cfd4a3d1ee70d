package engine

import (
	"context"

	"github.com/realmgate/realmgate/adapters"
)

// Observer is told what the engine does, for an operator's counters: decisions, challenges,
// failed answers, certificates, tokens. The engine calls it on the request's goroutine, so its
// methods must be cheap and must not block; they must not fail either. Every label it receives
// is bounded: a security test, realm or adapter of the project, or a stable code; never a user,
// a session, a device or a token. The engine knows nothing of how the observer counts (hostd
// uses Prometheus); a nil Options.Observer observes nothing.
type Observer interface {
	// Decision is one security-test decision of Authorize: OutcomeAllow, OutcomeChallenge,
	// OutcomeDeny (a refusal: a policy, a remote-disable rule, a blocked device, a realm that
	// refused for good) or OutcomeError (the engine could not decide: store or policy failure).
	Decision(test, outcome string)
	// Challenge is a realm challenged by a decision.
	Challenge(realm string)
	// AnswerFailed is an answer to a realm that did not pass it: code is the engine's error
	// code, or CodeWrongAnswer for a wrong answer the client may try again.
	AnswerFailed(realm string, code Code)
	// CertificateIssued is a certificate recorded after issuance; bridge is BridgeBuiltinCA,
	// BridgeEmbeddedPKI or the name of the adapter that signed it.
	CertificateIssued(realm, bridge string)
	// CertificateRefused is an issuing realm's refusal of a certificate request (the CSR or
	// the identity rejected by the host's checks or the bridge).
	CertificateRefused(realm, bridge string)
	// TokenMinted is an access token minted for scope, a security test of the project.
	TokenMinted(scope string)
	// TokenValidated is an online validation: OutcomeActive, OutcomeInactive or OutcomeError.
	TokenValidated(outcome string)
}

// Outcomes an Observer receives.
const (
	OutcomeAllow     = "allow"
	OutcomeChallenge = "challenge"
	OutcomeDeny      = "deny"
	OutcomeError     = "error"
	OutcomeActive    = "active"
	OutcomeInactive  = "inactive"
)

// CodeWrongAnswer labels a failed answer that the realm lets the client try again (a wrong
// password): it is not an error the API returns, the client gets the realm's challenge again.
const CodeWrongAnswer Code = "wrong_answer"

// Bridge labels of certificates that no adapter signs: the built-in provisioning CA and an
// embedded PKCS#12 PKI (a realm's pki-bridge-class BridgeEmbedded).
const (
	BridgeBuiltinCA   = "builtin"
	BridgeEmbeddedPKI = "embedded"
)

// unknownLabel stands for a name the project does not define (a realm in a URL), so that a
// client cannot grow the observer's label sets.
const unknownLabel = "unknown"

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) Decision(string, string)           {}
func (NopObserver) Challenge(string)                  {}
func (NopObserver) AnswerFailed(string, Code)         {}
func (NopObserver) CertificateIssued(string, string)  {}
func (NopObserver) CertificateRefused(string, string) {}
func (NopObserver) TokenMinted(string)                {}
func (NopObserver) TokenValidated(string)             {}

func observerOr(o Observer) Observer {
	if o == nil {
		return NopObserver{}
	}
	return o
}

// Authorize decides a request for a protected resource. It returns an *Error when the request is
// refused (application disabled, denied by policy, a realm this version cannot enforce) or the
// engine cannot decide (store or policy failure). Each call is one decision for the Observer.
func (e *Engine) Authorize(ctx context.Context, req AccessRequest) (*Access, error) {
	acc, err := e.authorize(ctx, req)
	test := req.Resource.Test
	if _, ok := e.project.Tests[test]; !ok {
		test = unknownLabel
	}
	e.obs.Decision(test, decisionOutcome(acc, err))
	return acc, err
}

// decisionOutcome classifies what Authorize returned.
func decisionOutcome(acc *Access, err error) string {
	switch {
	case err == nil && acc != nil && acc.Allowed:
		return OutcomeAllow
	case err == nil:
		return OutcomeChallenge
	}
	switch CodeOf(err) {
	case CodeUnavailable, CodePolicyTimeout, CodeUnknownSecurityTest, CodeUnknownRealm, CodeNotImplemented:
		return OutcomeError
	}
	return OutcomeDeny
}

// Answer handles a client's answer to a realm's challenge. A failed answer is told to the
// Observer by realm and code, and a refused certificate request by realm and bridge.
func (e *Engine) Answer(ctx context.Context, req AnswerRequest) (*AnswerResult, error) {
	res, err := e.answer(ctx, req)
	realm := req.Realm
	if _, ok := e.realms[realm]; !ok {
		realm = unknownLabel
	}
	switch {
	case err != nil:
		code := CodeOf(err)
		e.obs.AnswerFailed(realm, code)
		if code == CodeCSRRejected || code == CodeRefused {
			if b := e.bridgeOf(realm); b != "" {
				e.obs.CertificateRefused(realm, b)
			}
		}
	case res != nil && res.Retry != nil && wrongAnswer(res.Retry, req.Realm):
		e.obs.AnswerFailed(realm, CodeWrongAnswer)
	}
	return res, err
}

// wrongAnswer reports whether a retry challenge is the one settle makes for a wrong answer: it
// counts the attempts left (a next round or a dependent realm's challenge does not).
func wrongAnswer(ch *Challenge, realm string) bool {
	_, counted := ch.Challenges[realm]["remainingAttempts"]
	return counted
}

// bridgeOf names the bridge that signs the certificates of an issuing realm: the built-in CA,
// the embedded PKI or the bridge adapter; "" for a realm that issues none.
func (e *Engine) bridgeOf(realm string) string {
	switch r := e.realms[realm].(type) {
	case *provisioningRealm:
		if r.bridge != nil && r.bridge.generates() {
			return r.bridge.procs[adapters.PKICertificateGeneration].Adapter
		}
		return BridgeBuiltinCA
	case *userCertRealm:
		switch b := r.bridge.(type) {
		case *embeddedBridge:
			return BridgeEmbeddedPKI
		case *adapterBridge:
			if ref, ok := b.procs[adapters.PKICertificateGeneration]; ok {
				return ref.Adapter
			}
		}
		return unknownLabel
	}
	return ""
}

// IssueToken runs the scope's security test for the request and, when it passes, mints a token
// for audience (see TokenIssuer.Audience), bound to the session's token lineage so that a logout
// revokes it. A request that has not passed every realm of the scope gets the test's challenge in
// Access. A minted token is told to the Observer by scope.
func (e *Engine) IssueToken(ctx context.Context, ti *TokenIssuer, req AccessRequest, audience string) (*Access, *Token, error) {
	acc, tok, err := e.issueToken(ctx, ti, req, audience)
	if tok != nil && err == nil {
		e.obs.TokenMinted(req.Resource.Test) // a test of the project: issueToken ran it
	}
	return acc, tok, err
}

// IntrospectToken validates a token online (TokenIssuer.Introspect): anything invalid, for
// another audience than the one named, or revoked (its session logged out, its device was
// blocked) is not active. The error is for what must not be answered "not active": tokens off
// (CodeNotImplemented), a malformed audience (CodeInvalidTarget), a revocation store that does not
// answer (CodeUnavailable: never take the token for valid). Each call is one validation for the
// Observer.
func (e *Engine) IntrospectToken(ctx context.Context, q TokenQuery) (Introspection, error) {
	in, err := e.introspectToken(ctx, q)
	switch {
	case err != nil:
		e.obs.TokenValidated(OutcomeError)
	case in.Active:
		e.obs.TokenValidated(OutcomeActive)
	default:
		e.obs.TokenValidated(OutcomeInactive)
	}
	return in, err
}

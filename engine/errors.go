package engine

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable error code: it appears in API error bodies ("error") and decision logs. The
// HTTP layer maps codes to statuses in one place.
type Code string

// Codes the engine returns.
const (
	CodeBadRequest          Code = "bad_request"           // malformed answer body
	CodeUnknownApplication  Code = "unknown_application"   // no such app or environment
	CodeUnknownRealm        Code = "unknown_realm"         // no such realm in the project
	CodeNoChallenge         Code = "no_challenge"          // an answer for a realm not challenged in this session
	CodeRefused             Code = "realm_refused"         // final refusal by a realm
	CodeTooManyAttempts     Code = "too_many_attempts"     // attempt limit reached
	CodeApplicationDisabled Code = "application_disabled"  // remote disable: block
	CodeDeviceBlocked       Code = "device_blocked"        // the device was blocked by an administrator
	CodeDeviceProofRequired Code = "device_proof_required" // a new key for a device id whose live certificate's key did not sign a proof
	CodePolicyDenied        Code = "policy_denied"         // a policy denied the request
	CodeNotImplemented      Code = "not_implemented"       // a realm this version recognizes but cannot enforce
	CodeXSRF                Code = "xsrf_token_mismatch"   // an answer without the session's WL-Instance-Id
	CodeUnavailable         Code = "unavailable"           // the store or the policy engine failed
	CodeNonce               Code = "invalid_token"         // a nonce that is unknown, used or expired
	CodeUnknownSecurityTest Code = "unknown_security_test" // a resource names a test that does not exist
	CodeBackoff             Code = "login_backoff"         // failed logins of this account or client: wait RetryAfter
	CodeIdentityMismatch    Code = "identity_mismatch"     // a login of another user than the session's
	CodeProcedureNotAllowed Code = "procedure_not_allowed" // an adapter-based answer naming a procedure that does not take credentials
	CodeInputTooLarge       Code = "input_too_large"       // request facts too large for a caller who has not authenticated
	CodePolicyTimeout       Code = "policy_timeout"        // the policy did not decide within the caller's deadline
	CodeInvalidTarget       Code = "invalid_target"        // a token requested for an audience this server does not know (RFC 8707)
	CodeNotFound            Code = "not_found"             // an administered object (device, certificate) that does not exist
	CodeInvalidScope        Code = "invalid_scope"         // a token requested for a scope that is not one security test of the project
	CodeSessionFull         Code = "session_full"          // the session's state would grow past its bound (maxSessionStateBytes)
)

// Error is the engine's one error type: a code, a message a person can act on, and details that
// go into the response body.
type Error struct {
	Code    Code
	Message string
	// Details are extra members of the response body (downloadLink, realm, ...).
	Details map[string]any
	// RetryAfter, when positive, is how long the client must wait before asking again
	// (CodeBackoff); the HTTP layer sends it as Retry-After.
	RetryAfter time.Duration
	// Err is the cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches an *Error with the same code, so errors.Is(err, &Error{Code: CodeRefused}) works.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == ""
}

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func unavailable(what string, err error) *Error {
	return &Error{Code: CodeUnavailable, Message: what + " is unavailable; try again", Err: err}
}

// CodeOf returns the code of err, or CodeUnavailable for errors that are not *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnavailable
}

package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinels for errors.Is. Server replies arrive as *Error values, which match the sentinels of
// their status and code; failures found on the client side arrive as *RealmError values wrapping
// one of the client-side sentinels (or the error a handler returned).
var (
	// ErrApplicationDisabled matches a 403 "application_disabled" reply: an administrator blocked
	// this application version (remote disable). The *Error carries the message and, when the
	// administrator gave one, a DownloadLink to a newer version.
	ErrApplicationDisabled = errors.New("application disabled")
	// ErrTooManyAttempts matches a 429 reply: a realm was answered wrongly too often in this
	// session (five times by default).
	ErrTooManyAttempts = errors.New("too many attempts")
	// ErrRefused matches every 403 reply: a realm refused for good (wrong device, rejected CSR,
	// blocked application, ...). Retrying the same answer will not help.
	ErrRefused = errors.New("refused")
	// ErrDeviceProofRequired matches a 403 "device_proof_required" reply: the device id holds a
	// live certificate whose key this client does not have, so it cannot take a new key (a
	// reinstalled app that lost its keystore, or another device claiming the id). An
	// administrator's reset of the device (POST /admin/v1/devices/{id}/reset) lets it provision.
	ErrDeviceProofRequired = errors.New("device proof required")

	// ErrNoHandler: the server challenged a realm for which no handler is registered.
	ErrNoHandler = errors.New("no challenge handler registered for the realm")
	// ErrTooManyRounds: one realm was challenged more often in one call than Config.MaxRounds
	// allows. It stops a server (or handler) that never settles from looping forever.
	ErrTooManyRounds = errors.New("realm challenged too many times")
	// ErrCredentialsRejected: the server rejected the fixed Credentials of a LoginHandler.
	// Retrying them would only spend the remaining attempts.
	ErrCredentialsRejected = errors.New("credentials rejected")
	// ErrUnsupportedChallenge: a handler got a challenge it cannot answer (an unknown
	// authenticator, a remote-disable action other than "notify", ...).
	ErrUnsupportedChallenge = errors.New("unsupported challenge")
	// ErrUnexpectedStatus: a single-round realm's answer was acknowledged with a status other
	// than "success", which only multi-round handlers understand.
	ErrUnexpectedStatus = errors.New("unexpected realm status")
	// ErrMalformedResponse: a server reply that should be JSON of a known shape is not.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrResponseTooLarge: a server reply the client must read exceeds MaxResponseBytes.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrRequestTooLarge: a request body without GetBody is larger than MaxRequestBytes, so
	// it cannot be kept for re-issuing the request after a challenge.
	ErrRequestTooLarge = errors.New("request body too large to replay")
)

// CodeProcedureFailed is the Code of the *Error that InvokeProcedure returns when the procedure
// answered {"isSuccessful": false, "errors": [...]} without an error code of its own.
const CodeProcedureFailed = "procedure_failed"

// Error is a refusal or failure reported by the server in its error body
// {"error": code, "message": text, "downloadLink": url}. Message and Code come from the server;
// they are cleaned of control characters and bounded in size, so they are safe to log and show.
type Error struct {
	// Status is the HTTP status of the reply.
	Status int
	// Code is the server's stable snake_case error code ("application_disabled",
	// "too_many_attempts", "realm_refused", ...), or empty when the body had none.
	Code string
	// Message is text a person can act on.
	Message string
	// DownloadLink is where a blocked application's update can be fetched (remote disable).
	// Only http and https links are kept.
	DownloadLink string
	// Realm is the realm whose answer drew this reply, empty for a resource request.
	Realm string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("realmgate: ")
	if e.Realm != "" {
		fmt.Fprintf(&b, "realm %s: ", e.Realm)
	}
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.DownloadLink != "" {
		b.WriteString(" (download: " + e.DownloadLink + ")")
	}
	return b.String()
}

// Is lets errors.Is match the server sentinels: ErrRefused for any 403, ErrTooManyAttempts for a
// 429 or the too_many_attempts code, ErrApplicationDisabled for the application_disabled code,
// ErrDeviceProofRequired for the device_proof_required code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRefused:
		return e.Status == http.StatusForbidden
	case ErrTooManyAttempts:
		return e.Status == http.StatusTooManyRequests || e.Code == "too_many_attempts"
	case ErrApplicationDisabled:
		return e.Code == "application_disabled"
	case ErrDeviceProofRequired:
		return e.Code == "device_proof_required"
	}
	return false
}

// RealmError is a failure to settle one realm's challenge found on the client side: no handler,
// too many rounds, a handler's own error, a malformed challenge payload. Err says which; errors.Is
// and errors.As see through it.
type RealmError struct {
	Realm string
	// Round is how many times the realm had been challenged in the call when it failed.
	Round int
	Err   error
}

func (e *RealmError) Error() string {
	if e.Round > 0 {
		return fmt.Sprintf("realmgate: realm %s (round %d): %v", e.Realm, e.Round, e.Err)
	}
	return fmt.Sprintf("realmgate: realm %s: %v", e.Realm, e.Err)
}

func (e *RealmError) Unwrap() error { return e.Err }

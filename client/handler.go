package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// ChallengeHandler answers the challenges of one realm. Register one per realm with
// Client.RegisterHandler; the client calls it whenever the server challenges that realm and
// posts its answers to POST /api/v1/auth/{realm}.
//
// A realm is settled in rounds. HandleChallenge answers a challenge payload (from a resource's
// 401 or from a 401 reply to a previous answer, which then carries Error and RemainingAttempts).
// HandleStatus answers a 200 reply whose status is not "success": multi-round realms use it, for
// example device provisioning ("provisioned", with a certificate and a fresh token to sign) and
// user-certificate enrollment ("enrolled"). A reply with status "success" ends the realm.
//
// The client calls the handlers of one Client one at a time, never concurrently, with a context
// that lets a handler issue requests through the same Client (they do not wait for the challenge
// in progress). A handler shared by several clients must be safe for concurrent use.
type ChallengeHandler interface {
	// HandleChallenge returns the answer to post. An error abandons the call that drew the
	// challenge; the caller sees it inside a *RealmError.
	HandleChallenge(ctx context.Context, c *Challenge) (*Answer, error)
	// HandleStatus returns the next answer of a multi-round realm. Single-round handlers return
	// an error wrapping ErrUnexpectedStatus.
	HandleStatus(ctx context.Context, s *Status) (*Answer, error)
}

// Challenge is one challenge for a realm.
type Challenge struct {
	Realm string
	// SecurityTest and Step name the test and step that drew the challenge; they are empty and
	// zero when the challenge is the server's reply to a wrong answer.
	SecurityTest string
	Step         int
	// Round counts how often the realm has been consulted in this call: 1 for its first
	// challenge, more after wrong answers or multi-round replies.
	Round int
	// Payload is the realm's challenge object as the server sent it.
	Payload json.RawMessage
	// Error is the server's message about the previous answer, empty on a first challenge.
	Error string
	// RemainingAttempts is how many answers the server still accepts, nil when it did not say.
	RemainingAttempts *int
}

// Decode unmarshals the payload into v.
func (c *Challenge) Decode(v any) error {
	if err := json.Unmarshal(c.Payload, v); err != nil {
		return fmt.Errorf("%w: %s challenge payload: %w", ErrMalformedResponse, c.Realm, err)
	}
	return nil
}

// Status is a 200 reply to an answer whose status is not "success".
type Status struct {
	Realm string
	// Status is the reply's status ("provisioned", "enrolled", ...).
	Status string
	// Round counts the consultations of the realm in this call, as in Challenge.
	Round int
	// Body is the whole reply object.
	Body json.RawMessage
}

// Decode unmarshals the reply body into v.
func (s *Status) Decode(v any) error {
	if err := json.Unmarshal(s.Body, v); err != nil {
		return fmt.Errorf("%w: %s %s reply: %w", ErrMalformedResponse, s.Realm, s.Status, err)
	}
	return nil
}

// Answer is what a handler sends for a realm: POST /api/v1/auth/{realm} with Body encoded as
// JSON ("{}" when nil) and Header added to the request (replacing the client's own headers of the
// same name).
type Answer struct {
	Body   any
	Header http.Header
	// Skip sends nothing: the handler settled the challenge locally (as the anti-XSRF handler
	// does by storing the instance id), and the client re-issues the original request.
	Skip bool
}

// HandlerFunc adapts a function to a single-round ChallengeHandler.
type HandlerFunc func(ctx context.Context, c *Challenge) (*Answer, error)

// HandleChallenge calls f.
func (f HandlerFunc) HandleChallenge(ctx context.Context, c *Challenge) (*Answer, error) {
	return f(ctx, c)
}

// HandleStatus refuses: a HandlerFunc realm has a single round.
func (f HandlerFunc) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	return nil, unexpectedStatus(s)
}

func unexpectedStatus(s *Status) error {
	return fmt.Errorf("%w %q", ErrUnexpectedStatus, s.Status)
}

// Compile-time interface guards.
var (
	_ ChallengeHandler = HandlerFunc(nil)
	_ ChallengeHandler = (*LoginHandler)(nil)
	_ ChallengeHandler = (*NotifyHandler)(nil)
	_ ChallengeHandler = (*DeviceHandler)(nil)
	_ ChallengeHandler = (*xsrfHandler)(nil)
)

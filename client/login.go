package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Credentials are what a user types into a login form. They print with the password redacted,
// so logging a value that holds them does not leak it.
type Credentials struct {
	Username string
	Password string
}

// String shows the user name only.
func (c Credentials) String() string { return "{" + c.Username + " [redacted]}" }

// GoString shows the user name only, for %#v.
func (c Credentials) GoString() string {
	return fmt.Sprintf("client.Credentials{Username: %q, Password: \"[redacted]\"}", c.Username)
}

// LoginPrompt tells an Ask callback what the server wants.
type LoginPrompt struct {
	Realm string
	// Authenticator is "form", "basic" or "header".
	Authenticator string
	// Attempt counts the answers asked for this realm in this call, from 1.
	Attempt int
	// Error is the server's message about the previous answer, empty on a first challenge.
	Error string
	// RemainingAttempts is how many answers the server still accepts, nil when it did not say.
	RemainingAttempts *int
}

// LoginHandler answers the challenges of realms backed by a login module, whichever
// authenticator the challenge names:
//
//   - form: posts {"username", "password"};
//   - basic: posts {} with an "Authorization: Basic" header;
//   - header: posts {} with the header the challenge names set to the user name (the
//     password is not sent).
//
// With Ask set, Ask is called for every answer, so a user can retype a wrong password; the
// server's error and remaining attempts are in the prompt. Without Ask the fixed Credentials are
// sent once per call, and a rejection ends the call with ErrCredentialsRejected rather than
// spending the remaining attempts on the same wrong password.
type LoginHandler struct {
	Credentials Credentials
	Ask         func(ctx context.Context, p LoginPrompt) (Credentials, error)
}

// HandleChallenge answers a login challenge.
func (h *LoginHandler) HandleChallenge(ctx context.Context, ch *Challenge) (*Answer, error) {
	var p struct {
		Authenticator string `json:"authenticator"`
		Header        string `json:"header"`
	}
	if err := ch.Decode(&p); err != nil {
		return nil, err
	}
	switch p.Authenticator {
	case "form", "basic", "header":
	case "":
		return nil, fmt.Errorf("%w: login challenge names no authenticator", ErrUnsupportedChallenge)
	default:
		return nil, fmt.Errorf("%w: authenticator %q", ErrUnsupportedChallenge, sanitize(p.Authenticator, 32))
	}
	if p.Authenticator == "header" && !validHeaderName(p.Header) {
		return nil, fmt.Errorf("%w: header authenticator names no valid header", ErrMalformedResponse)
	}

	creds := h.Credentials
	if h.Ask != nil {
		var err error
		creds, err = h.Ask(ctx, LoginPrompt{
			Realm:             ch.Realm,
			Authenticator:     p.Authenticator,
			Attempt:           ch.Round,
			Error:             ch.Error,
			RemainingAttempts: ch.RemainingAttempts,
		})
		if err != nil {
			return nil, err
		}
	} else if ch.Round > 1 && ch.Error != "" {
		return nil, fmt.Errorf("%w: %s", ErrCredentialsRejected, ch.Error)
	}

	switch p.Authenticator {
	case "basic":
		if strings.ContainsRune(creds.Username, ':') {
			return nil, fmt.Errorf("realmgate: a Basic user name cannot contain ':'")
		}
		tok := base64.StdEncoding.EncodeToString([]byte(creds.Username + ":" + creds.Password))
		return &Answer{Header: http.Header{"Authorization": {"Basic " + tok}}}, nil
	case "header":
		if strings.ContainsAny(creds.Username, "\r\n\x00") {
			return nil, fmt.Errorf("realmgate: a header user name cannot contain line breaks")
		}
		return &Answer{Header: http.Header{http.CanonicalHeaderKey(p.Header): {creds.Username}}}, nil
	default:
		return &Answer{Body: map[string]string{"username": creds.Username, "password": creds.Password}}, nil
	}
}

// HandleStatus refuses: login realms have a single round.
func (h *LoginHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	return nil, unexpectedStatus(s)
}

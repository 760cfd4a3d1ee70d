package client

import (
	"context"
	"fmt"
)

// AdapterPrompt tells an AdapterHandler's Submit what an adapter-based realm asks.
type AdapterPrompt struct {
	Realm   string
	Adapter string
	// Question is the adapter's object: the login function's on a first challenge (Worklight's
	// {"authRequired": true, "authStep": 1, ...}), the submit procedure's at a later step of a
	// multi-step login ({"authStep": 2, "question": ...}). The server's own members
	// (authenticator, adapter, stepToken, error, remainingAttempts) are left out.
	Question map[string]any
	// Step is the object's authStep, 0 when it has none.
	Step int
	// Round counts the challenges of this realm in this call, from 1.
	Round int
	// Error is the adapter's message about the previous answer, empty on a first challenge and
	// at a step that followed a right answer.
	Error string
	// RemainingAttempts is how many answers the server still accepts, nil when it did not say.
	RemainingAttempts *int
}

// AdapterSubmission is the answer to an adapter-based challenge: the submit procedure to call
// (empty: submitAuthentication) and its parameters.
type AdapterSubmission struct {
	Procedure  string
	Parameters []any
}

// AdapterHandler answers the challenges of adapter-based realms
// ({"authenticator": "adapter"}): Submit is called for every challenge, the first one and each
// step of a multi-step login, and its submission is posted with the step's single-use token
// (stepToken) when the challenge carries one, so Submit deals only with the questions.
//
// Every challenge is a round of Config.MaxRounds: a login of n steps answered wrongly k times
// takes up to (k+1)·n rounds, so a client of logins longer than two steps raises MaxRounds.
type AdapterHandler struct {
	Submit func(ctx context.Context, p AdapterPrompt) (AdapterSubmission, error)
}

// serverMembers are the members the server adds to an adapter's object.
var serverMembers = map[string]bool{"authenticator": true, "adapter": true, "stepToken": true, "error": true, "remainingAttempts": true}

// HandleChallenge answers an adapter-based challenge.
func (h *AdapterHandler) HandleChallenge(ctx context.Context, ch *Challenge) (*Answer, error) {
	var p map[string]any
	if err := ch.Decode(&p); err != nil {
		return nil, err
	}
	if auth, _ := p["authenticator"].(string); auth != "adapter" {
		return nil, fmt.Errorf("%w: realm %s is not adapter-based (authenticator %q)", ErrUnsupportedChallenge, ch.Realm, sanitize(auth, 32))
	}
	if h.Submit == nil {
		return nil, fmt.Errorf("realmgate: AdapterHandler for realm %s has no Submit", ch.Realm)
	}
	prompt := AdapterPrompt{Realm: ch.Realm, Question: map[string]any{}, Round: ch.Round, Error: ch.Error, RemainingAttempts: ch.RemainingAttempts}
	prompt.Adapter, _ = p["adapter"].(string)
	for k, v := range p {
		if !serverMembers[k] {
			prompt.Question[k] = v
		}
	}
	if step, ok := p["authStep"].(float64); ok && step == float64(int(step)) {
		prompt.Step = int(step)
	}
	sub, err := h.Submit(ctx, prompt)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"procedure": sub.Procedure, "parameters": sub.Parameters}
	if sub.Procedure == "" {
		body["procedure"] = "submitAuthentication"
	}
	if sub.Parameters == nil {
		body["parameters"] = []any{}
	}
	if tok, ok := p["stepToken"].(string); ok && tok != "" {
		body["stepToken"] = tok
	}
	return &Answer{Body: body}, nil
}

// HandleStatus refuses: an adapter-based realm answers with challenges or success only.
func (h *AdapterHandler) HandleStatus(_ context.Context, s *Status) (*Answer, error) {
	return nil, unexpectedStatus(s)
}

var _ ChallengeHandler = (*AdapterHandler)(nil)

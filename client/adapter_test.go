package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
)

func TestAdapterHandler(t *testing.T) {
	t.Parallel()
	two := 2
	// The handler of Worklight's double-step sample: credentials first, the pet's name at step 2.
	steps := &client.AdapterHandler{Submit: func(_ context.Context, p client.AdapterPrompt) (client.AdapterSubmission, error) {
		if p.Step == 2 {
			return client.AdapterSubmission{Procedure: "submitAuthStep2", Parameters: []any{"Lassie"}}, nil
		}
		return client.AdapterSubmission{Procedure: "submitAuthStep1", Parameters: []any{"user", "pw"}}, nil
	}}
	var prompts []client.AdapterPrompt
	record := &client.AdapterHandler{Submit: func(_ context.Context, p client.AdapterPrompt) (client.AdapterSubmission, error) {
		prompts = append(prompts, p)
		return client.AdapterSubmission{}, nil
	}}
	failing := &client.AdapterHandler{Submit: func(context.Context, client.AdapterPrompt) (client.AdapterSubmission, error) {
		return client.AdapterSubmission{}, errors.New("cancelled by the user")
	}}
	cases := []struct {
		name    string
		handler *client.AdapterHandler
		payload string
		errText string
		remain  *int
		want    map[string]any
		prompt  *client.AdapterPrompt
	}{
		{name: "first question", handler: steps,
			payload: `{"authenticator":"adapter","adapter":"A","authRequired":true,"authStep":1,"errorMessage":null}`,
			want:    map[string]any{"procedure": "submitAuthStep1", "parameters": []any{"user", "pw"}}},
		{name: "second question carries the step token", handler: steps,
			payload: `{"authenticator":"adapter","adapter":"A","authRequired":true,"authStep":2,"question":"Pet?","errorMessage":"","stepToken":"n-2"}`,
			want:    map[string]any{"procedure": "submitAuthStep2", "parameters": []any{"Lassie"}, "stepToken": "n-2"}},
		{name: "defaults", handler: record,
			payload: `{"authenticator":"adapter","adapter":"A","authRequired":true,"question":"Pet?","error":"wrong","remainingAttempts":2}`,
			remain:  &two,
			want:    map[string]any{"procedure": "submitAuthentication", "parameters": []any{}},
			prompt: &client.AdapterPrompt{Realm: "r", Adapter: "A", Round: 1, Error: "wrong", RemainingAttempts: &two,
				Question: map[string]any{"authRequired": true, "question": "Pet?"}}},
		{name: "not adapter-based", handler: steps, payload: `{"authenticator":"form"}`,
			errText: `unsupported challenge: realm r is not adapter-based (authenticator "form")`},
		{name: "submit fails", handler: failing, payload: `{"authenticator":"adapter"}`, errText: "cancelled by the user"},
	}
	for _, tc := range cases {
		prompts = nil
		ch := &client.Challenge{Realm: "r", Round: 1, Payload: json.RawMessage(tc.payload), RemainingAttempts: tc.remain}
		if tc.prompt != nil {
			ch.Error = tc.prompt.Error
		}
		a, err := tc.handler.HandleChallenge(context.Background(), ch)
		var got map[string]any
		errText := ""
		if err != nil {
			errText = err.Error()
		} else {
			got = a.Body.(map[string]any)
		}
		if diff := cmp.Diff([]any{tc.want, tc.errText}, []any{got, errText}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
		if tc.prompt != nil {
			if diff := cmp.Diff([]client.AdapterPrompt{*tc.prompt}, prompts); diff != "" {
				t.Errorf("%s: prompt (-want +got):\n%s", tc.name, diff)
			}
		}
	}
}

// FuzzAdapterHandler hands the handler arbitrary challenge payloads: it never panics, answers
// only an adapter-based challenge, always names a procedure and parameters, and returns a
// stepToken exactly when the challenge carries a non-empty one.
func FuzzAdapterHandler(f *testing.F) {
	f.Add([]byte(`{"authenticator":"adapter","adapter":"A","authRequired":true,"authStep":2,"stepToken":"n"}`))
	f.Add([]byte(`{"authenticator":"adapter","authStep":1.5,"stepToken":7}`))
	f.Add([]byte(`{"authenticator":"form"}`))
	f.Add([]byte(`[]`))
	h := &client.AdapterHandler{Submit: func(_ context.Context, p client.AdapterPrompt) (client.AdapterSubmission, error) {
		for k := range p.Question {
			if k == "stepToken" || k == "authenticator" {
				return client.AdapterSubmission{}, errors.New("server member " + k + " in the question")
			}
		}
		return client.AdapterSubmission{Procedure: "p"}, nil
	}}
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, err := h.HandleChallenge(context.Background(), &client.Challenge{Realm: "r", Round: 1, Payload: payload})
		var p map[string]any
		adapterBased := json.Unmarshal(payload, &p) == nil && p["authenticator"] == "adapter"
		if err != nil {
			if adapterBased && !errors.Is(err, client.ErrMalformedResponse) {
				t.Fatalf("adapter-based challenge %s: %v", payload, err)
			}
			return
		}
		if !adapterBased {
			t.Fatalf("answered %s", payload)
		}
		body := a.Body.(map[string]any)
		if body["procedure"] != "p" || body["parameters"] == nil {
			t.Fatalf("body %v", body)
		}
		tok, _ := p["stepToken"].(string)
		if got, has := body["stepToken"]; has != (tok != "") || has && got != tok {
			t.Fatalf("challenge %s: body %v", payload, body)
		}
	})
}

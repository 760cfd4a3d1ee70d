package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestHandlerAnswersGolden pins the answer each built-in handler gives to each challenge shape:
// these are the wire shapes the daemon reads (testdata/answers.golden.json).
func TestHandlerAnswersGolden(t *testing.T) {
	t.Parallel()
	ask := &client.LoginHandler{Ask: func(_ context.Context, p client.LoginPrompt) (client.Credentials, error) {
		return client.Credentials{Username: "u-" + p.Authenticator, Password: "p"}, nil
	}}
	fixed := &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "secret"}}
	device := &client.DeviceHandler{Device: *testDevice}
	notify := &client.NotifyHandler{}
	cases := []struct {
		name    string
		handler client.ChallengeHandler
		payload string
		round   int
		errText string
	}{
		{name: "form", handler: fixed, payload: `{"authenticator":"form"}`},
		{name: "form retry asks", handler: ask, payload: `{"authenticator":"form","error":"wrong","remainingAttempts":3}`, round: 2},
		{name: "form retry fixed", handler: fixed, payload: `{"authenticator":"form","error":"wrong","remainingAttempts":3}`, round: 2},
		{name: "form after an earlier call", handler: fixed, payload: `{"authenticator":"form","error":"wrong","remainingAttempts":3}`},
		{name: "basic", handler: fixed, payload: `{"authenticator":"basic","realm":"r"}`},
		{name: "basic colon in user", handler: &client.LoginHandler{Credentials: client.Credentials{Username: "a:b"}}, payload: `{"authenticator":"basic"}`},
		{name: "header", handler: fixed, payload: `{"authenticator":"header","header":"x-remote-user"}`},
		{name: "header bad name", handler: fixed, payload: `{"authenticator":"header","header":"a b"}`},
		{name: "adapter authenticator", handler: fixed, payload: `{"authenticator":"adapter"}`},
		{name: "no authenticator", handler: fixed, payload: `{}`},
		{name: "device", handler: device, payload: `{"token":"n-1"}`},
		{name: "device without token", handler: device, payload: `{}`},
		{name: "notify", handler: notify, payload: `{"action":"notify","message":"hi","messageId":"m-1"}`},
		{name: "notify unknown action", handler: notify, payload: `{"action":"block"}`},
	}
	type result struct {
		Name   string          `json:"name"`
		In     json.RawMessage `json:"challenge"`
		Body   any             `json:"body,omitempty"`
		Header map[string]any  `json:"header,omitempty"`
		Skip   bool            `json:"skip,omitempty"`
		Error  string          `json:"error,omitempty"`
	}
	var got []result
	for _, tc := range cases {
		round := tc.round
		if round == 0 {
			round = 1
		}
		ch := &client.Challenge{Realm: "r", Round: round, Payload: json.RawMessage(tc.payload)}
		var info struct {
			Error             string `json:"error"`
			RemainingAttempts *int   `json:"remainingAttempts"`
		}
		if err := json.Unmarshal(ch.Payload, &info); err != nil {
			t.Fatal(err)
		}
		ch.Error, ch.RemainingAttempts = info.Error, info.RemainingAttempts
		a, err := tc.handler.HandleChallenge(context.Background(), ch)
		r := result{Name: tc.name, In: ch.Payload}
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Body, r.Skip = a.Body, a.Skip
			if len(a.Header) > 0 {
				r.Header = map[string]any{}
				for k, v := range a.Header {
					r.Header[k] = v
				}
			}
		}
		got = append(got, r)
	}
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	golden := filepath.Join("testdata", "answers.golden.json")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(b)); diff != "" {
		t.Errorf("answers differ from %s (-want +got); run go test -update if intended:\n%s", golden, diff)
	}
	if !bytes.Contains(want, []byte(`"Authorization"`)) {
		t.Errorf("golden file lacks the Basic answer")
	}
}

// Single-round handlers refuse a multi-round status.
func TestBuiltinHandlersRefuseStatus(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]client.ChallengeHandler{
		"login":  &client.LoginHandler{},
		"notify": &client.NotifyHandler{},
		"device": &client.DeviceHandler{},
		"func":   client.HandlerFunc(answerAnything),
	} {
		_, err := h.HandleStatus(context.Background(), &client.Status{Realm: "r", Status: "provisioned"})
		if !errors.Is(err, client.ErrUnexpectedStatus) || !bytes.Contains([]byte(err.Error()), []byte(`"provisioned"`)) {
			t.Errorf("%s: HandleStatus error %v, want ErrUnexpectedStatus naming the status", name, err)
		}
	}
}

func TestCredentialsPrintRedacted(t *testing.T) {
	t.Parallel()
	c := client.Credentials{Username: "alice", Password: "s3cret"}
	h := client.LoginHandler{Credentials: c}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{c, h} {
			if got := fmt.Sprintf(format, v); strings.Contains(got, "s3cret") || !strings.Contains(got, "alice") {
				t.Errorf("Sprintf(%q) = %s", format, got)
			}
		}
	}
}

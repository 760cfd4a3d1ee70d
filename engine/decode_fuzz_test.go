package engine

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"
)

// decodeProblem is the shape of every decodeAnswer error message: it names a byte offset or a
// field, never echoes the body (which may hold a password).
var decodeProblem = regexp.MustCompile(`^the answer (body is empty; send a JSON object|is not valid JSON for this realm: (syntax error at byte \d+|(the body|field "[A-Za-z_.]+") must be (an object|an array|a string|true or false|a number)|malformed))$`)

// FuzzDecodeAnswer decodes fuzzed bodies into the answer shapes of the realms: decodeAnswer
// never panics, accepts exactly what encoding/json accepts, and fails with CodeBadRequest and a
// message that does not repeat the body.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"username":"alice","password":"p"}`,
		`{"j_username":"a","j_password":"b"}`, `{"username":7}`, `{"token":"t","device":{"id":"d","os":"o"}}`,
		`{"device":{"id":7}}`, `{"device":[]}`, `{"acknowledged":true,"messageId":"m"}`, `{"acknowledged":"yes"}`,
		`{"username":"\ud800"}`, `{"a":` + "\xff" + `}`, `{"username":"a"} trailing`, `{"username":"a",}`,
		`{"Username":"A","USERNAME":"B"}`, `{"device":{"id":"` + string(make([]byte, 10)) + `"}}`,
	} {
		f.Add([]byte(s))
	}
	type form struct {
		Username  *string `json:"username"`
		Password  *string `json:"password"`
		JUsername *string `json:"j_username"`
		JPassword *string `json:"j_password"`
	}
	type device struct {
		Token  string     `json:"token"`
		Device DeviceInfo `json:"device"`
	}
	type ack struct {
		Acknowledged bool   `json:"acknowledged"`
		MessageID    string `json:"messageId"`
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range []func() any{
			func() any { return &form{} }, func() any { return &device{} }, func() any { return &ack{} },
			func() any { return &map[string]any{} },
		} {
			got, want := target(), target()
			err := decodeAnswer(body, got)
			wantErr := json.Unmarshal(body, want)
			if len(body) == 0 {
				wantErr = errors.New("empty")
			}
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("decodeAnswer(%q, %T): %v; encoding/json: %v", body, got, err, wantErr)
			}
			if err == nil {
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeBadRequest {
				t.Fatalf("decodeAnswer(%q, %T): %#v, want an *Error with %s", body, got, err, CodeBadRequest)
			}
			if !decodeProblem.MatchString(e.Message) {
				t.Fatalf("decodeAnswer(%q, %T): message %q", body, got, e.Message)
			}
		}
	})
}

func TestDecodeAnswerMessages(t *testing.T) {
	type device struct {
		Token  string     `json:"token"`
		Device DeviceInfo `json:"device"`
	}
	for _, tc := range []struct{ body, want string }{
		{``, "the answer body is empty; send a JSON object"},
		{`{"token":`, "the answer is not valid JSON for this realm: syntax error at byte 9"},
		{`[]`, "the answer is not valid JSON for this realm: the body must be an object"},
		{`"secret-password"`, "the answer is not valid JSON for this realm: the body must be an object"},
		{`{"token":7}`, `the answer is not valid JSON for this realm: field "token" must be a string`},
		{`{"device":{"id":[1]}}`, `the answer is not valid JSON for this realm: field "device.id" must be a string`},
		{`{"device":"phone"}`, `the answer is not valid JSON for this realm: field "device" must be an object`},
	} {
		err := decodeAnswer([]byte(tc.body), &device{})
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeBadRequest || e.Message != tc.want {
			t.Errorf("decodeAnswer(%s): %v, want %q", tc.body, err, tc.want)
		}
	}
}

package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/engine"
)

func TestLoginErrorsStatusAndRetryAfter(t *testing.T) {
	s := New(Options{})
	cases := []struct {
		err        *engine.Error
		status     int
		retryAfter string
	}{
		{&engine.Error{Code: engine.CodeBackoff, Message: "wait", RetryAfter: 1500 * time.Millisecond}, http.StatusTooManyRequests, "2"},
		{&engine.Error{Code: engine.CodeTooManyAttempts, Message: "stop"}, http.StatusTooManyRequests, ""},
		{&engine.Error{Code: engine.CodeIdentityMismatch, Message: "another user"}, http.StatusForbidden, ""},
		{&engine.Error{Code: engine.CodeProcedureNotAllowed, Message: "not a submit procedure"}, http.StatusForbidden, ""},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		s.writeError(w, httptest.NewRequest("POST", "/api/v1/auth/R", nil), tc.err)
		var body map[string]any
		json.Unmarshal(w.Body.Bytes(), &body)
		got := []any{w.Code, w.Header().Get("Retry-After"), body["error"]}
		want := []any{tc.status, tc.retryAfter, string(tc.err.Code)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.err.Code, diff)
		}
	}
}

// TestStatusTable pins the status of every code the API answers with.
func TestStatusTable(t *testing.T) {
	want := map[int][]string{
		http.StatusBadRequest: {codeBadRequest, codeMissingAppContext, codeInvalidRequest, string(engine.CodeNonce),
			string(engine.CodeInvalidScope), string(engine.CodeInvalidTarget), string(adapters.CodeBadInput)},
		http.StatusUnauthorized: {codeUnauthorized, codeChallenged},
		http.StatusForbidden: {string(engine.CodeRefused), string(engine.CodeApplicationDisabled), string(engine.CodeDeviceBlocked),
			string(engine.CodePolicyDenied), string(engine.CodeXSRF), string(engine.CodeCSRRejected), string(engine.CodeDeviceProofRequired),
			string(engine.CodeIdentityMismatch), string(engine.CodeProcedureNotAllowed)},
		http.StatusNotFound:              {string(engine.CodeUnknownApplication), string(engine.CodeUnknownRealm), string(engine.CodeNotFound)},
		http.StatusMethodNotAllowed:      {codeMethodNotAllowed},
		http.StatusConflict:              {string(engine.CodeNoChallenge), codeConflict},
		http.StatusRequestEntityTooLarge: {codeTooLarge, string(engine.CodeInputTooLarge)},
		http.StatusRequestURITooLong:     {codeURITooLong},
		http.StatusTooManyRequests:       {string(engine.CodeTooManyAttempts), string(engine.CodeBackoff)},
		http.StatusInternalServerError: {codeInternal, codeInvalidConfiguration, string(engine.CodeUnknownSecurityTest),
			string(adapters.CodeFailed), string(adapters.CodeOutOfMemory), "a code nobody defined"},
		http.StatusNotImplemented:     {string(engine.CodeNotImplemented), string(adapters.CodeUnknownProcedure)},
		http.StatusBadGateway:         {string(adapters.CodeBadOutput)},
		http.StatusServiceUnavailable: {string(engine.CodeUnavailable), string(engine.CodePolicyTimeout), string(adapters.CodeUnavailable)},
		http.StatusGatewayTimeout:     {string(adapters.CodeTimeout)},
	}
	got := map[int][]string{}
	for _, codes := range want {
		for _, code := range codes {
			got[statusOf(code)] = append(got[statusOf(code)], code)
		}
	}
	for _, codes := range got {
		slices.Sort(codes)
	}
	for _, codes := range want {
		slices.Sort(codes)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestProcedureFailed: a failed adapter call answers the Worklight failure body with the status
// of the adapter's code; an error that is not an adapter's is a failure of the procedure.
func TestProcedureFailed(t *testing.T) {
	s := New(Options{})
	cases := []struct {
		err    error
		status int
		body   string
	}{
		{&adapters.Error{Code: adapters.CodeTimeout, Message: "too slow"}, http.StatusGatewayTimeout,
			`{"error":"adapter_timeout","errors":["too slow"],"isSuccessful":false,"message":"too slow"}`},
		{&adapters.Error{Code: adapters.CodeBadOutput}, http.StatusBadGateway,
			`{"error":"adapter_bad_output","errors":["adapter_bad_output"],"isSuccessful":false,"message":"adapter_bad_output"}`},
		{errors.New("boom"), http.StatusInternalServerError,
			`{"error":"adapter_failure","errors":["the procedure failed"],"isSuccessful":false,"message":"the procedure failed"}`},
	}
	for _, tc := range cases {
		w := httptest.NewRecorder()
		s.procedureFailed(w, "A", "p", tc.err)
		var body any
		json.Unmarshal(w.Body.Bytes(), &body)
		canon, _ := json.Marshal(body)
		if diff := cmp.Diff([]any{tc.status, tc.body}, []any{w.Code, string(canon)}); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tc.err, diff)
		}
	}
}
